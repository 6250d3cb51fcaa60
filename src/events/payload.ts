/**
 * The WIRECLOUD/Kazoo webhook payload of one call event (docs/api.md, what a receiver gets). Every field has its
 * documented type whatever the leg holds: strings are strings ('' when the value was of
 * another type), is_internal_leg a boolean, custom_channel_vars an object of strings; no
 * __proto__/constructor/prototype key ever reaches a receiver.
 */
import type { CallEvent } from '../calls/types.js';
import { isSafeKey } from '../ari/events.js';
import { toGregorianSeconds } from '../shared/gregorian.js';

export type Scalar = string | number | boolean | null;
export type Payload = Record<string, Scalar | Record<string, Scalar>>;

const address = (user: string, realm: string): string => (user ? `${user}@${realm}` : '');

/** a string field: the string, a finite number's text, else '' */
function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return '';
}

/** an object of strings with safe keys only */
function vars(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return out;
  for (const [k, value] of Object.entries(v)) {
    if (!isSafeKey(k)) continue;
    const s = typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)) ? String(value) : undefined;
    if (s !== undefined) out[k] = s;
  }
  return out;
}

const int = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? String(Math.max(0, Math.round(v))) : '0');

export function buildPayload(ev: CallEvent, realm: string): Payload {
  const leg = ev.leg;
  const to = str(leg.toNumber);
  const p: Payload = {
    hook_event: str(ev.hookEvent),
    call_id: str(leg.callId),
    channel_id: str(leg.channelId),
    call_direction: leg.direction === 'outbound' ? 'outbound' : 'inbound',
    timestamp: toGregorianSeconds(Number.isFinite(ev.timestampMs) ? ev.timestampMs : Date.now()),
    account_id: str(ev.accountId),
    from: address(str(leg.fromNumber), realm),
    to: address(to, realm),
    request: address(to, realm),
    caller_id_name: str(leg.callerIdName),
    caller_id_number: str(leg.callerIdNumber),
    callee_id_name: str(leg.calleeIdName),
    callee_id_number: str(leg.calleeIdNumber),
    is_internal_leg: leg.isInternal === true,
    custom_channel_vars: vars(leg.channelVars),
    linked_id: str(leg.linkedId),
    event_id: str(ev.eventId),
  };
  if (typeof leg.otherLegCallId === 'string' && leg.otherLegCallId) p.other_leg_call_id = leg.otherLegCallId;
  if (leg.hangup) {
    p.hangup_cause = str(leg.hangup.cause);
    const code = str(leg.hangup.code);
    if (code) p.hangup_code = code;
    p.duration_seconds = int(leg.hangup.durationSeconds);
    p.ringing_seconds = int(leg.hangup.ringingSeconds);
    p.billing_seconds = int(leg.hangup.billingSeconds);
    if (leg.hangup.reconciled === true) p.reconciled = true;
  }
  // a transfer, a DTMF digit, a message: its own fields, never over the leg's
  for (const [k, v] of Object.entries(ev.detail ?? {})) {
    if (isSafeKey(k) && !(k in p) && (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)))) p[k] = v;
  }
  return p;
}

/** custom_data is merged last: its keys overwrite the event's (e.g. account_id); unsafe keys are left out. */
export function withCustomData(payload: Payload, customData: Record<string, Scalar>): Payload {
  const out: Payload = { ...payload };
  for (const [k, v] of Object.entries(customData ?? {})) if (isSafeKey(k)) out[k] = v;
  return out;
}
