/**
 * The webhook resource: its fields, defaults and validation. Validation errors use Kazoo's
 * shape ({"uri": {"required": {"message": …}}}) so WIRECLOUD clients read them as before.
 */
import { randomBytes } from 'node:crypto';
import { AppError, type FieldErrors } from '../errors.js';
import type { BodyFormat, HttpVerb } from '../events/encode.js';
import type { Scalar } from '../events/payload.js';
import { HEALTHY, shownState, type WebhookHealth } from './health.js';
import { toGregorianSeconds } from '../events/gregorian.js';

export const HOOK_TYPES = {
  channel_create: 'A new call leg: an endpoint called the PBX or the PBX dialed out',
  channel_answer: 'A call leg was answered',
  channel_bridge: 'Two call legs were connected to each other',
  channel_destroy: 'A call leg hung up, with cause and durations',
  all: 'Every call event',
  notifications: "The health of the account's other webhooks: webhook_failing, webhook_recovered, webhook_disabled (not part of all)",
} as const;
export type HookType = keyof typeof HOOK_TYPES;

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
 * What a webhook body may hold: the writable fields, seven.io's names for them, and the
 * read-only ones a client sends back when it saves what it read (ignored).
 */
const KNOWN_FIELDS = new Set([
  'name', 'uri', 'hook', 'http_verb', 'format', 'retries', 'enabled', 'custom_data', 'headers', 'event_filter', 'include_internal_legs',
  'include_subaccounts', 'failover_uri', 'target_url', 'request_method',
  'id', 'created', 'updated', 'disabled_reason', 'health', 'failing_since', 'last_error', 'pending', 'next_probe', 'secret',
]);
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
  'host', 'content-length', 'content-type', 'connection', 'keep-alive', 'transfer-encoding', 'te',
  'trailer', 'upgrade', 'expect', 'proxy-authorization', 'proxy-connection', 'user-agent',
  'x-hook-id', 'x-account-id', 'webhook-id', 'webhook-timestamp', 'webhook-signature',
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

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function typeError(c: Collector, field: string, type: string): undefined {
  return c.add(field, 'type', `Value did not match type(s): ${type}`, { target: type });
}

function checkUri(c: Collector, v: unknown, field = 'uri'): string | undefined {
  if (typeof v !== 'string') return typeError(c, field, 'string');
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return c.add(field, 'format', 'Value is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return c.add(field, 'format', 'Only http:// and https:// URLs are supported');
  }
  if (v.length > 2048) return c.add(field, 'maxLength', 'URL is longer than 2048 characters', { target: 2048 });
  return v;
}

function checkEnum<T extends string>(c: Collector, field: string, v: unknown, allowed: readonly T[]): T | undefined {
  const value = typeof v === 'string' ? v.toLowerCase() : v;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  c.add(field, 'enum', 'Value not found in enumerated list of values', { target: allowed });
  return undefined;
}

function checkBool(c: Collector, field: string, v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  return typeError(c, field, 'boolean');
}

function checkCustomData(c: Collector, v: unknown): Record<string, Scalar> | undefined {
  if (v === null) return {};
  if (!isObj(v)) return typeError(c, 'custom_data', 'object');
  const out: Record<string, Scalar> = {};
  const keys = Object.keys(v);
  if (keys.length > 50) return c.add('custom_data', 'maxProperties', 'At most 50 keys', { target: 50 });
  for (const key of keys) {
    const val = v[key];
    if (!key || key.length > 64) return c.add('custom_data', 'propertyNames', `Key "${key.slice(0, 64)}" must be 1-64 characters`);
    if (val !== null && !['string', 'number', 'boolean'].includes(typeof val)) {
      return c.add('custom_data', 'type', `custom_data.${key} must be a string, number, boolean or null`);
    }
    if (typeof val === 'string' && val.length > 1024) return c.add('custom_data', 'maxLength', `custom_data.${key} is longer than 1024 characters`);
    if (!wellFormed(key) || (typeof val === 'string' && !wellFormed(val))) return c.add('custom_data', 'format', `custom_data.${key.slice(0, 64)} holds a lone surrogate (not valid Unicode)`);
    if (typeof val === 'number' && !Number.isFinite(val)) return c.add('custom_data', 'type', `custom_data.${key} must be a finite number`);
    out[key] = val as Scalar;
  }
  return out;
}

/** headers: an object, or seven.io's text with one "Name: value" per line. */
function checkHeaders(c: Collector, v: unknown): Record<string, string> | undefined {
  let entries: [string, unknown][];
  if (v === null || v === '') return {};
  if (typeof v === 'string') {
    entries = [];
    for (const line of v.split(/\r?\n/)) {
      if (!line.trim()) continue;
      const colon = line.indexOf(':');
      if (colon <= 0) return c.add('headers', 'format', `Header line "${line.slice(0, 40)}" is not "Name: value"`);
      entries.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
  } else if (isObj(v)) {
    entries = Object.entries(v);
  } else {
    return typeError(c, 'headers', 'object');
  }
  if (entries.length > 30) return c.add('headers', 'maxProperties', 'At most 30 headers', { target: 30 });
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!HEADER_NAME.test(name)) return c.add('headers', 'format', `"${name.slice(0, 40)}" is not a valid header name`);
    if (RESERVED_HEADERS.has(name.toLowerCase())) return c.add('headers', 'reserved', `Header "${name}" is set by callhook and cannot be configured`);
    if (typeof value !== 'string' && typeof value !== 'number') return c.add('headers', 'type', `Header "${name}" must have a string value`);
    const text = String(value);
    // what HTTP can carry: visible ASCII/Latin-1, spaces and tabs; no control characters
    if (!/^[\t\x20-\x7e\xa0-\xff]*$/.test(text) || text.length > 4096) {
      return c.add('headers', 'format', `Header "${name}" must be at most 4096 visible ASCII/Latin-1 characters, without control characters`);
    }
    out[name] = text;
  }
  return out;
}

function checkFilter(c: Collector, v: unknown): string | null | undefined {
  if (v === null || v === '') return null;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return String(v);
  if (typeof v !== 'string') return typeError(c, 'event_filter', 'string');
  if (!/^[0-9A-Za-z+*?#._@-]{1,64}$/.test(v)) {
    return c.add('event_filter', 'pattern', 'Use a number or a pattern of digits with * (any run) and ? (one character)');
  }
  return v;
}

function checkName(c: Collector, v: unknown): string | undefined {
  if (typeof v !== 'string') return typeError(c, 'name', 'string');
  if (!v.trim() || v.length > 128) return c.add('name', 'maxLength', 'Name must be 1-128 characters', { target: 128 });
  return v;
}

/**
 * Validates a client's webhook fields. `mode`: create/replace need uri and hook and fill
 * defaults; patch validates only what is given.
 */
export function validateWebhook(data: unknown, mode: 'create' | 'replace' | 'patch'): Partial<WebhookInput> {
  if (!isObj(data)) throw new AppError('invalid', 'invalid data', { fields: { data: { type: { message: 'Request body must be {"data": {...}}', target: 'object' } } } });
  const c = new Collector();
  for (const key of Object.keys(data)) {
    if (!KNOWN_FIELDS.has(key)) c.add(key.slice(0, 64), 'unknown', 'Unknown field: see the webhook fields in docs/api.md');
  }
  const out: Partial<WebhookInput> = {};
  const has = (k: string) => Object.prototype.hasOwnProperty.call(data, k) && data[k] !== undefined;
  const set = <K extends keyof WebhookInput>(k: K, v: WebhookInput[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };

  // seven.io's request_method (GET | POST | JSON) maps onto http_verb + format
  if (has('request_method') && !has('http_verb') && !has('format')) {
    const m = checkEnum(c, 'request_method', data.request_method, ['get', 'post', 'json'] as const);
    if (m === 'get') out.http_verb = 'get';
    if (m === 'post') Object.assign(out, { http_verb: 'post', format: 'form-data' });
    if (m === 'json') Object.assign(out, { http_verb: 'post', format: 'json' });
  }
  const uriValue = has('uri') ? data.uri : data.target_url;
  if (uriValue !== undefined) set('uri', checkUri(c, uriValue));
  else if (mode !== 'patch') c.add('uri', 'required', 'Field is required but missing');
  if (has('hook')) set('hook', checkEnum(c, 'hook', data.hook, Object.keys(HOOK_TYPES) as HookType[]));
  else if (mode !== 'patch') c.add('hook', 'required', 'Field is required but missing');
  if (has('name')) set('name', checkName(c, data.name));
  if (has('http_verb')) set('http_verb', checkEnum(c, 'http_verb', data.http_verb, ['get', 'post', 'put'] as const));
  if (has('format')) set('format', checkEnum(c, 'format', data.format, ['form-data', 'json'] as const));
  if (has('retries')) {
    const r = data.retries;
    if (typeof r !== 'number' || !Number.isInteger(r)) typeError(c, 'retries', 'integer');
    else if (r < 0 || r > MAX_RETRIES) c.add('retries', r < 0 ? 'minimum' : 'maximum', `Value must be between 0 and ${MAX_RETRIES}`, { target: r < 0 ? 0 : MAX_RETRIES });
    else out.retries = r;
  }
  for (const k of ['enabled', 'include_internal_legs', 'include_subaccounts'] as const) {
    if (has(k)) set(k, checkBool(c, k, data[k]));
  }
  if (has('custom_data')) set('custom_data', checkCustomData(c, data.custom_data));
  if (has('headers')) set('headers', checkHeaders(c, data.headers));
  if (has('event_filter')) set('event_filter', checkFilter(c, data.event_filter));
  if (has('failover_uri')) {
    if (data.failover_uri === null || data.failover_uri === '') out.failover_uri = null;
    else set('failover_uri', checkUri(c, data.failover_uri, 'failover_uri'));
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

/**
 * The webhook as the API shows it, with its read-only health; `pending` is the number of its
 * waiting deliveries. The signing secret is shown only on create, rotate and GET …/secret.
 */
export function publicWebhook(h: Webhook, pending?: number): Record<string, unknown> {
  return {
    id: h.id,
    name: h.name,
    uri: h.uri,
    hook: h.hook,
    http_verb: h.http_verb,
    format: h.format,
    retries: h.retries,
    enabled: h.enabled,
    custom_data: h.custom_data,
    headers: h.headers,
    event_filter: h.event_filter,
    include_internal_legs: h.include_internal_legs,
    include_subaccounts: h.include_subaccounts,
    failover_uri: h.failover_uri,
    disabled_reason: h.disabled_reason,
    health: shownState(h.enabled, h.health),
    failing_since: h.health.failing_since === null ? null : toGregorianSeconds(h.health.failing_since),
    last_error: h.health.last_error,
    next_probe: h.enabled && h.health.next_probe !== null ? toGregorianSeconds(h.health.next_probe) : null,
    ...(pending !== undefined && { pending }),
    created: toGregorianSeconds(h.created),
    updated: toGregorianSeconds(h.updated),
  };
}
