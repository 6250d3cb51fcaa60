/**
 * Rows of accounts and webhooks as both backends store them: lists and objects as JSON text
 * (kept as written, key order included), flags as 0/1 (PostgreSQL reads them into booleans);
 * and the API's pages of rows.
 */
import type { Webhook } from '../hooks/model.js';
import type { Account, PageResult } from './store.js';

export const WEBHOOK_COLUMNS =
  'id, account_id, name, uri, hook, http_verb, format, retries, enabled, custom_data, headers, event_filter, include_internal_legs, include_subaccounts, secret, disabled_reason, created, updated';

export type Row = Record<string, unknown>;

export function toAccount(r: Row): Account {
  return {
    id: r.id as string,
    name: r.name as string,
    realm: (r.realm as string | null) ?? null,
    parent_id: (r.parent_id as string | null) ?? null,
    accountcodes: JSON.parse(r.accountcodes as string) as string[],
    numbers: JSON.parse(r.numbers as string) as string[],
    created: r.created as number,
    updated: r.updated as number,
  };
}

export function toWebhook(r: Row): Webhook {
  return {
    id: r.id as string,
    account_id: r.account_id as string,
    name: r.name as string,
    uri: r.uri as string,
    hook: r.hook as Webhook['hook'],
    http_verb: r.http_verb as Webhook['http_verb'],
    format: r.format as Webhook['format'],
    retries: r.retries as number,
    enabled: Boolean(r.enabled),
    custom_data: JSON.parse(r.custom_data as string) as Webhook['custom_data'],
    headers: JSON.parse(r.headers as string) as Webhook['headers'],
    event_filter: (r.event_filter as string | null) ?? null,
    include_internal_legs: Boolean(r.include_internal_legs),
    include_subaccounts: Boolean(r.include_subaccounts),
    secret: r.secret as string,
    disabled_reason: (r.disabled_reason as string | null) ?? null,
    created: r.created as number,
    updated: r.updated as number,
  };
}

export function webhookParams(h: Webhook): Row {
  return {
    ...h,
    enabled: h.enabled ? 1 : 0,
    include_internal_legs: h.include_internal_legs ? 1 : 0,
    include_subaccounts: h.include_subaccounts ? 1 : 0,
    custom_data: JSON.stringify(h.custom_data),
    headers: JSON.stringify(h.headers),
  };
}

export function accountParams(a: Account): Row {
  return { ...a, accountcodes: JSON.stringify(a.accountcodes), numbers: JSON.stringify(a.numbers) };
}

/** a page of `limit` rows from a query that read one more: that one's key starts the next page */
export function pageOf<R, T = R>(rows: R[], limit: number, key: (r: R) => string | number, item?: (r: R) => T): PageResult<T> {
  const next = rows[limit];
  const items = rows.slice(0, limit);
  return { items: item ? items.map(item) : (items as unknown as T[]), next_start_key: next === undefined ? undefined : String(key(next)) };
}
