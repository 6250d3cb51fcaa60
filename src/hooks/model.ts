/**
 * The webhook resource: its fields, defaults and validation. Validation errors use Kazoo's
 * shape ({"uri": {"required": {"message": …}}}) so WIRECLOUD clients read them as before.
 */
import { randomBytes } from 'node:crypto';
import { AppError, type FieldErrors } from '../shared/errors.js';
import type { Scalar } from '../events/payload.js';
import { HEALTHY, type WebhookHealth } from './health.js';

export const HOOK_TYPES = {
  channel_create: 'A new call leg: an endpoint called the PBX or the PBX dialed out',
  channel_answer: 'A call leg was answered',
  channel_bridge: 'Two call legs were connected to each other',
  channel_transfer: 'A call leg was transferred (blind or attended): who has the call now',
  channel_hold: 'A call leg was put on hold',
  channel_unhold: 'A call leg was taken off hold',
  dtmf: 'A DTMF digit a call leg sent (one event per digit)',
  sms: "A text message (SIP MESSAGE) the PBX received for one of the account's numbers",
  channel_destroy: 'A call leg hung up, with cause and durations',
  all: 'Every call event and message',
  notifications: "The health of the account's other webhooks: webhook_failing, webhook_recovered, webhook_disabled (not part of all)",
  voice_call: "seven.io's voice_call: a new inbound call (channel_create of an inbound leg)",
  voice_status: "seven.io's voice_status: channel_answer, channel_bridge, channel_transfer and channel_destroy",
  voice_dtmf: "seven.io's voice_dtmf: dtmf",
  sms_mo: "seven.io's sms_mo: sms",
} as const;
export type HookType = keyof typeof HOOK_TYPES;
export type HttpVerb = 'get' | 'post' | 'put';
/** the body of a post/put: form encoding or JSON */
export type BodyFormat = 'form-data' | 'json';

export interface Webhook {
  id: string;
  account_id: string;
  name: string;
  uri: string;
  hook: HookType;
  http_verb: HttpVerb;
  format: BodyFormat;
  retries: number;
  enabled: boolean;
  custom_data: Record<string, Scalar>;
  headers: Record<string, string>;
  event_filter: string | null;
  include_internal_legs: boolean;
  include_subaccounts: boolean;
  /** while the primary uri is failing, deliveries go here */
  failover_uri: string | null;
  secret: string;
  /** the secret before the last rotation, still signing beside the new one until previous_secret_until */
  previous_secret: string | null;
  previous_secret_until: number | null;
  disabled_reason: string | null;
  health: WebhookHealth;
  created: number;
  updated: number;
}

/** the secrets a request is signed with at `now`: the current one, and the previous during its grace period */
export function signingSecrets(h: Webhook, now: number): string[] {
  return h.previous_secret && (h.previous_secret_until ?? 0) > now ? [h.secret, h.previous_secret] : [h.secret];
}

/** The fields a client may set. */
export type WebhookInput = Pick<
  Webhook,
  | 'name'
  | 'uri'
  | 'hook'
  | 'http_verb'
  | 'format'
  | 'retries'
  | 'enabled'
  | 'custom_data'
  | 'headers'
  | 'event_filter'
  | 'include_internal_legs'
  | 'include_subaccounts'
  | 'failover_uri'
>;

export const MAX_RETRIES = 20;

/**
 * A client's webhook fields as the API's schema lets them through (src/api/schema/webhook.ts
 * checks types, lengths, enums and unknown fields): seven.io's names and forms are still in it.
 */
export interface ClientFields {
  name?: string;
  uri?: string;
  target_url?: string;
  hook?: HookType;
  http_verb?: string;
  request_method?: string;
  format?: BodyFormat;
  retries?: number;
  enabled?: boolean;
  custom_data?: Record<string, Scalar> | null;
  headers?: Record<string, string | number> | string | null;
  event_filter?: string | number | null;
  include_internal_legs?: boolean;
  include_subaccounts?: boolean;
  failover_uri?: string | null;
}

const DEFAULTS: Omit<WebhookInput, 'uri' | 'hook' | 'name'> = {
  http_verb: 'post',
  format: 'form-data',
  retries: 2,
  enabled: true,
  custom_data: {},
  headers: {},
  event_filter: null,
  include_internal_legs: false,
  include_subaccounts: false,
  failover_uri: null,
};

/** Headers callhook sets itself, or that would break HTTP framing: a hook may not set them. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'proxy-authorization',
  'proxy-connection',
  'user-agent',
  'x-hook-id',
  'x-account-id',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

export function newSecret(): string {
  return 'whsec_' + randomBytes(24).toString('base64');
}

export function newId(): string {
  return randomBytes(16).toString('hex');
}

class Collector {
  errors: FieldErrors = {};
  add(field: string, rule: string, message: string, extra: Record<string, unknown> = {}): undefined {
    (this.errors[field] ??= {})[rule] = { message, ...extra };
    return undefined;
  }
  get failed(): boolean {
    return Object.keys(this.errors).length > 0;
  }
}

/** no lone UTF-16 surrogate: the text can be encoded as UTF-8 and sent */
const wellFormed = (s: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

function checkUri(c: Collector, v: string, field: string): string | undefined {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return c.add(field, 'format', 'Value is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return c.add(field, 'format', 'Only http:// and https:// URLs are supported');
  return v;
}

function checkCustomData(c: Collector, v: Record<string, Scalar>): Record<string, Scalar> | undefined {
  for (const [key, val] of Object.entries(v)) {
    if (!wellFormed(key) || (typeof val === 'string' && !wellFormed(val)))
      return c.add('custom_data', 'format', `custom_data.${key.slice(0, 64)} holds a lone surrogate (not valid Unicode)`);
    if (typeof val === 'number' && !Number.isFinite(val)) return c.add('custom_data', 'type', `custom_data.${key.slice(0, 64)} must be a finite number`);
  }
  return v;
}

/** headers: an object, or seven.io's text with one "Name: value" per line. */
function checkHeaders(c: Collector, v: Record<string, string | number> | string): Record<string, string> | undefined {
  let entries: [string, string | number][];
  if (typeof v === 'string') {
    entries = [];
    for (const line of v.split(/\r?\n/)) {
      if (!line.trim()) continue;
      const colon = line.indexOf(':');
      if (colon <= 0) return c.add('headers', 'format', `Header line "${line.slice(0, 40)}" is not "Name: value"`);
      entries.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
    if (entries.length > 30) return c.add('headers', 'maxProperties', 'At most 30 headers', { target: 30 });
  } else {
    entries = Object.entries(v);
  }
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!HEADER_NAME.test(name)) return c.add('headers', 'format', `"${name.slice(0, 40)}" is not a valid header name`);
    if (RESERVED_HEADERS.has(name.toLowerCase())) return c.add('headers', 'reserved', `Header "${name}" is set by callhook and cannot be configured`);
    const text = String(value);
    // what HTTP can carry: visible ASCII/Latin-1, spaces and tabs; no control characters
    if (!/^[\t\x20-\x7e\xa0-\xff]*$/.test(text) || text.length > 4096) {
      return c.add('headers', 'format', `Header "${name}" must be at most 4096 visible ASCII/Latin-1 characters, without control characters`);
    }
    out[name] = text;
  }
  return out;
}

/**
 * Reads a client's webhook fields, after the schema: seven.io's names (target_url,
 * request_method) and forms (headers as text), what JSON Schema cannot say (URLs, header
 * names and values, Unicode), and for create/replace the required uri and hook and Kazoo's
 * defaults; patch returns only what is given.
 */
export function readWebhook(data: ClientFields, mode: 'create' | 'replace' | 'patch'): Partial<WebhookInput> {
  const c = new Collector();
  const out: Partial<WebhookInput> = {};

  // seven.io's request_method (GET | POST | JSON) maps onto http_verb + format
  const method = data.request_method?.toLowerCase();
  if (method !== undefined && data.http_verb === undefined && data.format === undefined) {
    Object.assign(out, method === 'get' ? { http_verb: 'get' } : { http_verb: 'post', format: method === 'json' ? 'json' : 'form-data' });
  }
  const uri = data.uri ?? data.target_url;
  if (uri !== undefined) {
    const ok = checkUri(c, uri, data.uri === undefined ? 'target_url' : 'uri');
    if (ok) out.uri = ok;
  } else if (mode !== 'patch') c.add('uri', 'required', 'Field is required but missing');
  if (data.hook !== undefined) out.hook = data.hook;
  else if (mode !== 'patch') c.add('hook', 'required', 'Field is required but missing');
  if (data.name !== undefined) {
    if (!data.name.trim()) c.add('name', 'minLength', 'Name must be 1-128 characters', { target: 1 });
    else out.name = data.name;
  }
  if (data.http_verb !== undefined) out.http_verb = data.http_verb.toLowerCase() as HttpVerb;
  for (const k of ['format', 'retries', 'enabled', 'include_internal_legs', 'include_subaccounts'] as const) {
    if (data[k] !== undefined) (out as Record<string, unknown>)[k] = data[k];
  }
  if (data.custom_data !== undefined) {
    const cd = data.custom_data === null ? {} : checkCustomData(c, data.custom_data);
    if (cd) out.custom_data = cd;
  }
  if (data.headers !== undefined) {
    const h = data.headers === null || data.headers === '' ? {} : checkHeaders(c, data.headers);
    if (h) out.headers = h;
  }
  if (data.event_filter !== undefined) out.event_filter = data.event_filter === null || data.event_filter === '' ? null : String(data.event_filter);
  if (data.failover_uri !== undefined) {
    if (data.failover_uri === null || data.failover_uri === '') out.failover_uri = null;
    else {
      const ok = checkUri(c, data.failover_uri, 'failover_uri');
      if (ok) out.failover_uri = ok;
    }
  }

  if (c.failed) throw new AppError('invalid', 'invalid data', { fields: c.errors });
  if (mode === 'patch') return out;
  const full = { ...DEFAULTS, ...out } as WebhookInput;
  full.name ??= `${full.hook} → ${new URL(full.uri).host}`;
  return full;
}

/** A new webhook of an account from a client's validated fields. */
export function newWebhook(accountId: string, input: WebhookInput, now: number): Webhook {
  return {
    ...input,
    id: newId(),
    account_id: accountId,
    secret: newSecret(),
    previous_secret: null,
    previous_secret_until: null,
    disabled_reason: null,
    health: { ...HEALTHY },
    created: now,
    updated: now,
  };
}
