/** The WIRECLOUD/Kazoo webhook payload of one call event (DESIGN.md §3). */
import type { CallEvent } from '../calls/tracker.js';
import { toGregorianSeconds } from './gregorian.js';

export type Scalar = string | number | boolean | null;
export type Payload = Record<string, Scalar | Record<string, Scalar>>;

const address = (user: string, realm: string): string => (user ? `${user}@${realm}` : '');

export function buildPayload(ev: CallEvent, realm: string): Payload {
  const leg = ev.leg;
  const p: Payload = {
    hook_event: ev.hookEvent,
    call_id: leg.callId,
    channel_id: leg.channelId,
    call_direction: leg.direction,
    timestamp: toGregorianSeconds(ev.timestampMs),
    account_id: ev.accountId,
    from: address(leg.fromNumber, realm),
    to: address(leg.toNumber, realm),
    request: address(leg.toNumber, realm),
    caller_id_name: leg.callerIdName,
    caller_id_number: leg.callerIdNumber,
    callee_id_name: leg.calleeIdName,
    callee_id_number: leg.calleeIdNumber,
    is_internal_leg: leg.isInternal,
    custom_channel_vars: leg.channelVars,
    event_id: ev.eventId,
  };
  if (leg.otherLegCallId) p.other_leg_call_id = leg.otherLegCallId;
  if (leg.hangup) {
    p.hangup_cause = leg.hangup.cause;
    if (leg.hangup.code) p.hangup_code = leg.hangup.code;
    p.duration_seconds = String(leg.hangup.durationSeconds);
    p.ringing_seconds = String(leg.hangup.ringingSeconds);
    p.billing_seconds = String(leg.hangup.billingSeconds);
    if (leg.hangup.reconciled) p.reconciled = true;
  }
  return p;
}

/** custom_data is merged last: its keys overwrite the event's (e.g. account_id). */
export function withCustomData(payload: Payload, customData: Record<string, Scalar>): Payload {
  return { ...payload, ...customData };
}
