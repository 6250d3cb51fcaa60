/** The call events the tracker emits, and what it hands the store of its legs. */
import type { Direction } from './direction.js';

/** the call events there are (each is also a webhook's hook type) */
export const HOOK_EVENTS = [
  'channel_create',
  'channel_answer',
  'channel_bridge',
  'channel_transfer',
  'channel_hold',
  'channel_unhold',
  'dtmf',
  'sms',
  'channel_destroy',
] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

export interface HangupView {
  /** the leg vanished while callhook was not listening; found out by reconciling with Asterisk */
  reconciled?: boolean;
  cause: string;
  code: string | undefined;
  durationSeconds: number;
  ringingSeconds: number;
  billingSeconds: number;
}

/** What the payload builder needs to know of a leg at the moment of one event. */
export interface LegView {
  channelId: string;
  callId: string;
  otherLegCallId: string | undefined;
  direction: Direction;
  isInternal: boolean;
  callerIdName: string;
  callerIdNumber: string;
  calleeIdName: string;
  calleeIdNumber: string;
  fromNumber: string;
  toNumber: string;
  channelVars: Record<string, string>;
  /** the same on every leg of one call: Asterisk's linkedid (the first leg's channel id) */
  linkedId: string;
  hangup?: HangupView;
}

/** what an event tells besides the leg: a transfer, a DTMF digit, a text message (payload fields as they are named there) */
export type EventDetail = Record<string, string | number | boolean>;

export interface CallEvent {
  hookEvent: HookEvent;
  /** stable: the same ARI fact always gives the same id */
  eventId: string;
  timestampMs: number;
  accountId: string;
  leg: LegView;
  detail?: EventDetail;
}

export interface LegChanges {
  upserts: { id: string; state: string }[];
  deletes: string[];
}
