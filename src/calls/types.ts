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
  hangup?: HangupView;
}

export interface CallEvent {
  hookEvent: HookEvent;
  /** stable: the same ARI fact always gives the same id */
  eventId: string;
  timestampMs: number;
  accountId: string;
  leg: LegView;
}

export interface LegChanges {
  upserts: { id: string; state: string }[];
  deletes: string[];
}
