/**
 * One call event as the outbox stores it: the event with its payload (built for its account's
 * realm, without custom_data: that is merged per webhook when sent) and the webhooks that want
 * it. Pure: Ingest stores what it returns, `callhook replay` prints it.
 */
import type { AccountDirectory } from '../calls/account.js';
import type { CallEvent } from '../calls/types.js';
import { hookWants } from '../hooks/match.js';
import type { Webhook } from '../hooks/model.js';
import type { StoredEvent } from '../store/store.js';
import { buildPayload } from '../events/payload.js';

export interface OutboxItem {
  event: StoredEvent;
  webhookIds: string[];
}

/** throws when the event cannot be turned into a payload */
export function outboxItem(ev: CallEvent, candidates: Webhook[], accounts: Pick<AccountDirectory, 'get'>, defaultRealm: string): OutboxItem {
  const hooks = candidates.filter((h) => hookWants(h, ev));
  const realm = accounts.get(ev.accountId)?.realm || defaultRealm;
  return {
    event: {
      id: ev.eventId,
      account_id: ev.accountId,
      hook_event: ev.hookEvent,
      leg: ev.leg.channelId,
      call_id: ev.leg.callId,
      payload: JSON.stringify(buildPayload(ev, realm)),
      created: ev.timestampMs,
    },
    webhookIds: hooks.map((h) => h.id),
  };
}
