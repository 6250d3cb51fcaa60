/** The webhook resource of the API: what a client sends, what it reads back, and the one presenter. */
import { Type, type Static } from '@sinclair/typebox';
import { HOOK_TYPES, MAX_RETRIES, type Webhook } from '../../hooks/model.js';
import { HEALTHY, shownState } from '../../hooks/health.js';
import { toGregorianSeconds } from '../../shared/gregorian.js';
import { Body, Gregorian, Nullable, StringEnum } from './common.js';

const HOOKS = Object.keys(HOOK_TYPES) as (keyof typeof HOOK_TYPES)[];
const URI = (description: string) =>
  Type.String({ maxLength: 2048, description: `${description}: an http:// or https:// URL`, examples: ['https://crm.example.com/calls'] });
const SCALAR = Type.Unsafe<string | number | boolean | null>({ type: ['string', 'number', 'boolean', 'null'], maxLength: 1024 });

/** the fields a client may set; every one optional here, create/replace require uri and hook */
const WRITABLE = {
  name: Type.String({ minLength: 1, maxLength: 128, description: 'A name for people; default "<hook> → <host>"', examples: ['New Calls'] }),
  uri: URI('Where the events go'),
  target_url: URI("seven.io's name for uri"),
  hook: StringEnum(HOOKS, { description: 'The call event it receives (GET /api/v1/webhooks lists them)', examples: ['channel_create'] }),
  http_verb: StringEnum(['get', 'post', 'put', 'GET', 'POST', 'PUT'] as const, { description: 'get sends the fields as a query string', default: 'post' }),
  request_method: StringEnum(['GET', 'POST', 'JSON', 'get', 'post', 'json'] as const, {
    description: "seven.io's method: GET, POST (form-data) or JSON (a POST with a JSON body); ignored when http_verb or format is given",
  }),
  format: StringEnum(['form-data', 'json'] as const, { description: 'The body of a post/put', default: 'form-data' }),
  retries: Type.Integer({ minimum: 0, maximum: MAX_RETRIES, default: 2, description: 'Further tries after a failed one before the event is given up (Kazoo)' }),
  enabled: Type.Boolean({ default: true }),
  custom_data: Nullable(
    Type.Record(Type.String({ minLength: 1, maxLength: 64 }), SCALAR, {
      maxProperties: 50,
      description: 'Merged into every payload (at most 50 keys, scalar values)',
      examples: [{ account_id: 'my_crm_account_id', screen_pop: true }],
    }),
  ),
  headers: Type.Union(
    [
      Type.Record(Type.String(), Type.Union([Type.String({ maxLength: 4096 }), Type.Number()]), { maxProperties: 30 }),
      Type.String({ maxLength: 131072, description: 'seven.io\'s form: one "Name: value" per line' }),
      Type.Null(),
    ],
    { description: 'Extra request headers (at most 30); the signing and framing headers are reserved', examples: [{ Authorization: 'Bearer crm-token' }] },
  ),
  event_filter: Type.Union(
    [
      Type.String({
        maxLength: 64,
        pattern: '^[0-9A-Za-z+*?#._@-]*$',
        'x-error': 'Use a number or a pattern of digits with * (any run) and ? (one character)',
      }),
      Type.Integer({ minimum: 0 }),
      Type.Null(),
    ],
    {
      description: 'Only calls from or to numbers matching it: a number, or digits with * (any run) and ? (one character)',
      examples: ['+4930*'],
    },
  ),
  include_internal_legs: Type.Boolean({ default: false, description: 'Also the legs between two extensions' }),
  include_subaccounts: Type.Boolean({ default: false, description: "Also the calls of the account's sub-accounts" }),
  failover_uri: Nullable(URI('While the uri is failing, deliveries go here')),
};

/** read-only fields a client may send back unchanged when it saves what it read: ignored */
const ECHOED = Object.fromEntries(
  ['id', 'created', 'updated', 'disabled_reason', 'health', 'failing_since', 'last_error', 'pending', 'next_probe', 'secret'].map((k) => [
    k,
    Type.Optional(Type.Unknown({ description: 'Read-only: ignored when sent' })),
  ]),
);

const fields = Type.Partial(Type.Object(WRITABLE));
/** create and replace: uri (or target_url) and hook are required — checked after the aliases are read (hooks/model.ts) */
export const WebhookFields = Type.Object({ ...fields.properties, ...ECHOED }, { additionalProperties: false, title: 'WebhookFields' });
export type WebhookFields = Static<typeof WebhookFields>;

export const WebhookBody = Body(WebhookFields, {
  name: 'New Calls',
  uri: 'http://my.server.com/calls/new.php',
  http_verb: 'post',
  hook: 'channel_create',
  retries: 3,
  custom_data: { account_id: 'my_crm_account_id', screen_pop: true },
});

export const Webhook_ = Type.Object(
  {
    id: Type.String({ examples: ['5a2f0c1e9d8b4a7c6e3f2a1b0c9d8e7f'] }),
    name: WRITABLE.name,
    uri: WRITABLE.uri,
    hook: WRITABLE.hook,
    http_verb: StringEnum(['get', 'post', 'put'] as const),
    format: WRITABLE.format,
    retries: WRITABLE.retries,
    enabled: WRITABLE.enabled,
    custom_data: Type.Record(Type.String(), SCALAR),
    headers: Type.Record(Type.String(), Type.String()),
    event_filter: Nullable(Type.String()),
    include_internal_legs: Type.Boolean(),
    include_subaccounts: Type.Boolean(),
    failover_uri: Nullable(Type.String()),
    disabled_reason: Nullable(Type.String({ description: 'Why callhook disabled it (410 Gone, failing too long), or null' })),
    health: StringEnum(['healthy', 'failing', 'disabled'] as const, {
      description: 'failing: deliveries wait and probes test the uri; disabled: enabled is false',
    }),
    failing_since: Nullable(Gregorian('Since when it has been failing')),
    last_error: Nullable(Type.String({ description: 'The last failure, e.g. "HTTP 503" or "timeout"', examples: ['HTTP 503'] })),
    next_probe: Nullable(Gregorian('When the next probe of a failing uri goes out')),
    pending: Type.Optional(Type.Integer({ minimum: 0, description: 'Deliveries waiting to go out' })),
    created: Gregorian('Created'),
    updated: Gregorian('Last changed'),
  },
  { $id: 'Webhook', title: 'Webhook' },
);
export type WebhookShown = Static<typeof Webhook_>;

/** on create only, the signing secret beside the webhook */
export const CreatedWebhook = Type.Composite(
  [Webhook_, Type.Object({ secret: Type.String({ description: 'The signing secret (shown here, by GET …/secret and on rotate)' }) })],
  {
    title: 'CreatedWebhook',
  },
);

export const WebhookSecret = Type.Object(
  {
    id: Type.String(),
    secret: Type.String({ examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] }),
    previous_secret_expires: Type.Optional(Gregorian('Until when the secret before the last rotation still signs beside it')),
  },
  { title: 'WebhookSecret' },
);

export const HookType = Type.Object(
  { id: StringEnum(HOOKS), name: Type.String(), description: Type.String() },
  { title: 'HookType', examples: [{ id: 'channel_create', name: 'channel_create', description: HOOK_TYPES.channel_create }] },
);

export const ReenableBody = Body(
  Type.Object(
    { 're-enable': Type.Literal(true, { description: 'Re-enable every webhook of the account that callhook disabled' }) },
    { additionalProperties: false },
  ),
  { 're-enable': true },
);
export const Reenabled = Type.Object({ 're-enable': Type.Literal(true), enabled: Type.Integer({ minimum: 0, description: 'How many were re-enabled' }) });

/**
 * The webhook as the API shows it, with its read-only health; `pending` is the number of its
 * waiting deliveries. The signing secret is shown only on create, rotate and GET …/secret.
 */
export function presentWebhook(h: Webhook, pending?: number): WebhookShown {
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

/** GET/rotate …/secret: the secret, and until when the previous one still signs */
export function presentSecret(h: Webhook, now: number): Static<typeof WebhookSecret> {
  return {
    id: h.id,
    secret: h.secret,
    ...(h.previous_secret && (h.previous_secret_until ?? 0) > now ? { previous_secret_expires: toGregorianSeconds(h.previous_secret_until!) } : {}),
  };
}

// the documented example is what the presenter makes of a webhook
const T = 1_764_000_000_000;
Webhook_.examples = [
  presentWebhook(
    {
      id: '5a2f0c1e9d8b4a7c6e3f2a1b0c9d8e7f',
      account_id: 'acme',
      name: 'New Calls',
      uri: 'http://my.server.com/calls/new.php',
      hook: 'channel_create',
      http_verb: 'post',
      format: 'form-data',
      retries: 3,
      enabled: true,
      custom_data: { account_id: 'my_crm_account_id', screen_pop: true },
      headers: {},
      event_filter: null,
      include_internal_legs: false,
      include_subaccounts: false,
      failover_uri: null,
      secret: '',
      previous_secret: null,
      previous_secret_until: null,
      disabled_reason: null,
      health: HEALTHY,
      created: T,
      updated: T,
    },
    0,
  ),
];
