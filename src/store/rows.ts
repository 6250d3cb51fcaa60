/**
 * Rows of accounts and webhooks as both backends store them: lists and objects as JSON text
 * (kept as written, key order included), flags as 0/1 (PostgreSQL reads them into booleans);
 * and the API's pages of rows.
 */
import type { Webhook } from '../hooks/model.js';
import type { WebhookHealth } from '../hooks/health.js';
import type { Account, PageResult } from './store.js';

/** the columns an edit through the API writes (not the health, which the dispatcher keeps) */
export const EDITABLE_COLUMNS = [
  'name',
  'uri',
  'hook',
  'http_verb',
  'format',
  'retries',
  'enabled',
  'custom_data',
  'headers',
  'event_filter',
  'include_internal_legs',
  'include_subaccounts',
  'failover_uri',
  'secret',
  'previous_secret',
  'previous_secret_until',
  'disabled_reason',
  'updated',
];
/** the circuit breaker's columns (src/hooks/health.ts) */
export const HEALTH_COLUMNS = ['health', 'failing_since', 'last_error', 'next_probe', 'probe_delay', 'failover_down'];
/** the health columns' values when a webhook starts healthy again (HEALTHY in src/hooks/health.ts; the last error is kept) */
export const HEALTH_RESET = "health = 'healthy', failing_since = NULL, next_probe = NULL, probe_delay = 0, failover_down = FALSE";
export const WEBHOOK_COLUMNS = ['id', 'account_id', ...EDITABLE_COLUMNS, ...HEALTH_COLUMNS, 'created'].join(', ');

export type Row = Record<string, unknown>;

/**
 * What is left of a deleted account once its tokens, webhooks and their deliveries went with
 * it (foreign keys): its attempts (with its receivers' URLs), its events no delivery needs, and
 * its sub-accounts' link to it (they stand alone). Both stores run these with the id as `?`.
 */
export const ACCOUNT_LEFTOVERS = [
  'DELETE FROM attempts WHERE account_id = ?',
  'DELETE FROM events WHERE account_id = ? AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)',
  'UPDATE accounts SET parent_id = NULL WHERE parent_id = ?',
];

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
    failover_uri: (r.failover_uri as string | null) ?? null,
    secret: r.secret as string,
    previous_secret: (r.previous_secret as string | null) ?? null,
    previous_secret_until: (r.previous_secret_until as number | null) ?? null,
    disabled_reason: (r.disabled_reason as string | null) ?? null,
    health: {
      state: r.health as WebhookHealth['state'],
      failing_since: (r.failing_since as number | null) ?? null,
      last_error: (r.last_error as string | null) ?? null,
      next_probe: (r.next_probe as number | null) ?? null,
      probe_delay: Number(r.probe_delay),
      failover_down: Boolean(r.failover_down),
    },
    created: r.created as number,
    updated: r.updated as number,
  };
}

export function healthParams(h: WebhookHealth): Row {
  const { state, ...rest } = h;
  return { ...rest, health: state, failover_down: h.failover_down ? 1 : 0 };
}

export function webhookParams(h: Webhook): Row {
  const { health, ...rest } = h;
  return {
    ...rest,
    ...healthParams(health),
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
