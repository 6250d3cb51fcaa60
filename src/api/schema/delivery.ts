/** Attempts and deliveries as the API shows them, and the bodies of recover and test sends. */
import { Type, type Static } from '@sinclair/typebox';
import type { Attempt, Delivery } from '../../store/store.js';
import { toGregorianSeconds } from '../../shared/gregorian.js';
import type { OpaqueIds } from '../opaque.js';
import { Body, Gregorian, Nullable, StringEnum, TimeParam } from './common.js';

const ATTEMPT = {
  hook_id: Type.String({ description: 'The webhook' }),
  delivery_id: Type.String(),
  event_id: Type.String(),
  hook_event: Type.String({ examples: ['channel_create'] }),
  call_id: Type.String(),
  uri: Type.String({ description: 'Where it went: the uri, or the failover_uri' }),
  http_verb: StringEnum(['get', 'post', 'put'] as const),
  response_code: Nullable(Type.String({ description: "The receiver's HTTP status; null when there was none (timeout, refused)", examples: ['200'] })),
  response_body: Type.String({ description: "The start of the receiver's answer (empty for test sends)" }),
  result: StringEnum(['success', 'failure'] as const),
  reason: Type.String({ examples: ['HTTP 200'] }),
  try: Type.Integer({ minimum: 1, description: 'Which try of the delivery this was' }),
  retries_left: Type.Integer({ minimum: 0 }),
  duration_ms: Type.Integer({ minimum: 0 }),
  timestamp: Gregorian('When it was sent'),
};

export const Attempt_ = Type.Object(
  { id: Type.String({ description: 'Opaque; good only with this account' }), ...ATTEMPT },
  { $id: 'Attempt', title: 'Attempt' },
);
export type AttemptShown = Static<typeof Attempt_>;
/** a test send's attempt: stored with the others, shown without its id */
export const TestAttempt = Type.Object(ATTEMPT, { title: 'TestAttempt' });

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export const Delivery_ = Type.Object(
  {
    id: Type.String(),
    event_id: Type.String(),
    hook_event: Type.String({ examples: ['channel_destroy'] }),
    call_id: Type.String(),
    status: StringEnum(DELIVERY_STATUSES),
    tries: Type.Integer({ minimum: 0 }),
    next_try: Nullable(Gregorian('When a pending delivery goes out next')),
    last_error: Nullable(Type.String({ examples: ['HTTP 503'] })),
    created: Gregorian('Created'),
    updated: Gregorian('Last changed'),
  },
  { $id: 'Delivery', title: 'Delivery' },
);

export const RecoverBody = Body(
  Type.Object(
    { since: Type.Union([TimeParam('Failed deliveries created since then go out again'), Type.String({ pattern: '^[0-9]{1,16}$' })]) },
    { additionalProperties: false },
  ),
  { since: 63_930_000_000 },
);
export const Recovered = Type.Object({ recovered: Type.Integer({ minimum: 0 }), since: Gregorian('Since') });
export const Retried = Type.Object({ id: Type.String(), status: Type.Literal('pending') });

/** an attempt as the API shows it: its id opaque (the store's is one counter for every account) */
export function presentAttempt(a: Attempt, ids: Pick<OpaqueIds, 'encode'>): AttemptShown {
  return {
    id: ids.encode(a.account_id, a.id),
    hook_id: a.webhook_id,
    delivery_id: a.delivery_id,
    event_id: a.event_id,
    hook_event: a.hook_event,
    call_id: a.call_id,
    uri: a.uri,
    http_verb: a.method.toLowerCase() as AttemptShown['http_verb'],
    response_code: a.status_code === null ? null : String(a.status_code),
    response_body: a.response_body,
    result: a.result,
    reason: a.reason,
    try: a.try_number,
    retries_left: a.retries_left,
    duration_ms: a.duration_ms,
    timestamp: toGregorianSeconds(a.created),
  };
}

export function presentDelivery(d: Delivery): Static<typeof Delivery_> {
  return {
    id: d.id,
    event_id: d.event_id,
    hook_event: d.hook_event,
    call_id: d.call_id,
    status: d.status,
    tries: d.tries,
    next_try: d.status === 'pending' ? toGregorianSeconds(d.next_at) : null,
    last_error: d.last_error,
    created: toGregorianSeconds(d.created),
    updated: toGregorianSeconds(d.updated),
  };
}

// the documented examples are what the presenters make of an attempt and a delivery
const T = 1_764_000_000_000;
const CALL = { event_id: '0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c', hook_event: 'channel_create', call_id: '1-11659@127.0.0.1' };
Attempt_.examples = [
  {
    ...presentAttempt(
      {
        id: 1,
        delivery_id: '3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f',
        webhook_id: '5a2f0c1e9d8b4a7c6e3f2a1b0c9d8e7f',
        account_id: 'acme',
        ...CALL,
        uri: 'http://my.server.com/calls/new.php',
        method: 'POST',
        status_code: 200,
        response_body: 'ok',
        duration_ms: 12,
        try_number: 1,
        retries_left: 3,
        result: 'success',
        reason: 'HTTP 200',
        created: T,
      },
      { encode: () => 'a1B2c3D4e5F6g7H8' },
    ),
  },
];
Delivery_.examples = [
  presentDelivery({
    id: '3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f',
    webhook_id: '5a2f0c1e9d8b4a7c6e3f2a1b0c9d8e7f',
    ...CALL,
    status: 'succeeded',
    tries: 1,
    next_at: T,
    last_error: null,
    created: T,
    updated: T,
  }),
];
