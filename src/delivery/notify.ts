/**
 * Stores a health notice as an event with one delivery per `notifications` webhook that hears
 * of it: those of the webhook's account, and of its ancestors with include_subaccounts. They go
 * out through the outbox like any delivery (durable, signed, retried, in order per webhook).
 */
import type { Store } from '../store/store.js';
import type { AccountDirectory } from '../calls/account.js';
import { noticeId, noticePayload } from '../events/notice.js';
import type { HealthNotice } from './dispatcher.js';

export function healthNotifier(
  store: Pick<Store, 'activeWebhooks' | 'insertEvents'>,
  accounts: Pick<AccountDirectory, 'lineage'>,
  stored: () => void,
): (n: HealthNotice) => Promise<void> {
  return async (n) => {
    const owner = n.hook.account_id;
    const lineage = accounts.lineage(owner);
    const listeners = (await store.activeWebhooks(lineage.length > 0 ? lineage : [owner])).filter(
      (h) => h.hook === 'notifications' && h.id !== n.hook.id && (h.account_id === owner || h.include_subaccounts),
    );
    if (listeners.length === 0) return;
    const at = Date.now();
    const id = noticeId(at);
    const payload = noticePayload(
      { kind: n.kind, webhookId: n.hook.id, accountId: owner, name: n.hook.name, uri: n.hook.uri, reason: n.reason, since: n.since, pending: n.pending, at },
      id,
    );
    await store.insertEvents([
      {
        event: {
          id,
          account_id: owner,
          hook_event: String(payload.hook_event),
          leg: `webhook:${n.hook.id}`,
          call_id: '',
          payload: JSON.stringify(payload),
          created: at,
        },
        webhookIds: listeners.map((h) => h.id),
      },
    ]);
    stored();
  };
}
