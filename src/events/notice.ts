/**
 * The payload of a health notification (hook type `notifications`): a webhook of the account
 * started failing, recovered or was disabled. Kazoo's notifications hook, with callhook's fields.
 */
import { randomBytes } from 'node:crypto';
import { toGregorianSeconds } from '../shared/gregorian.js';
import type { Payload } from './payload.js';

export type NoticeKind = 'failing' | 'recovered' | 'disabled';

export interface NoticeFacts {
  kind: NoticeKind;
  /** the webhook the notice is about, and its account */
  webhookId: string;
  accountId: string;
  name: string;
  uri: string;
  reason: string;
  /** unix ms since when it is (or was) failing */
  since: number | null;
  /** its deliveries waiting */
  pending: number;
  at: number;
}

/** a notice's event id: its time first (ids sort by time, as call events' do), then random */
export function noticeId(at: number): string {
  return Math.floor(at).toString(16).padStart(12, '0').slice(-12) + randomBytes(10).toString('hex');
}

export function noticePayload(n: NoticeFacts, eventId: string): Payload {
  return {
    hook_event: `webhook_${n.kind}`,
    event_id: eventId,
    timestamp: toGregorianSeconds(n.at),
    account_id: n.accountId,
    webhook_id: n.webhookId,
    webhook_name: n.name,
    uri: n.uri,
    health: n.kind === 'recovered' ? 'healthy' : n.kind,
    reason: n.reason,
    failing_since: n.since === null ? null : toGregorianSeconds(n.since),
    pending: n.pending,
  };
}
