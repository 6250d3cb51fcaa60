/**
 * Ingest: ARI event → call events → payloads → matching webhooks → stored event + deliveries.
 * ARI events are processed strictly one after another so a leg's events are stored in order.
 */
import type { Logger } from 'pino';
import type { AriEvent } from '../ari/events.js';
import type { AccountDirectory } from '../calls/account.js';
import type { CallEvent, CallTracker, LegChanges } from '../calls/tracker.js';
import { hookWants } from '../hooks/match.js';
import type { Store } from '../store/store.js';
import { buildPayload } from './payload.js';

export interface IngestOptions {
  tracker: CallTracker;
  accounts: AccountDirectory;
  store: Pick<Store, 'activeWebhooks' | 'insertEvents'>;
  logger: Logger;
  defaultRealm: string;
  /** called after deliveries were stored */
  onStored: () => void;
}

export class Ingest {
  private queue: Promise<void> = Promise.resolve();
  stored = 0;
  duplicates = 0;

  constructor(private readonly o: IngestOptions) {}

  /** Accepts one ARI event; never throws. */
  push(ev: AriEvent): void {
    let events: CallEvent[];
    try {
      events = this.o.tracker.handle(ev);
    } catch (err) {
      this.o.logger.error({ err, type: ev.type }, 'could not follow an ARI event; skipped');
      return;
    }
    this.pushCallEvents(events);
  }

  /** Stores call events (from the tracker or a reconcile) with the legs' new state, in order. */
  pushCallEvents(events: CallEvent[]): void {
    const legs = this.o.tracker.takeChanges();
    if (events.length === 0 && legs.upserts.length === 0 && legs.deletes.length === 0) return;
    this.queue = this.queue.then(() => this.store(events, legs));
  }

  /** resolves when everything pushed so far is stored */
  drain(): Promise<void> {
    return this.queue;
  }

  private async store(events: CallEvent[], legs: LegChanges): Promise<void> {
    try {
      const items = [];
      let deliveries = 0;
      for (const ev of events) {
        const lineage = this.o.accounts.lineage(ev.accountId);
        const hooks = (await this.o.store.activeWebhooks(lineage)).filter((h) => hookWants(h, ev));
        const realm = this.o.accounts.get(ev.accountId)?.realm || this.o.defaultRealm;
        deliveries += hooks.length;
        items.push({
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
        });
      }
      const fresh = await this.o.store.insertEvents(items, legs);
      this.stored += fresh;
      this.duplicates += items.length - fresh;
      if (fresh > 0 && deliveries > 0) this.o.onStored();
    } catch (err) {
      this.o.logger.error({ err, event_ids: events.map((e) => e.eventId) }, 'could not store call events');
    }
  }
}
