/**
 * Ingest: ARI event → call events → payloads → matching webhooks → stored event + deliveries.
 * ARI events are followed one after another, in order. Writes are group-committed: what
 * arrives while a transaction is being written (and the ARI frames of one socket read) goes
 * into the next single transaction, together with the call legs' state.
 */
import type { Logger } from 'pino';
import type { AriEvent } from '../ari/events.js';
import type { AccountDirectory } from '../calls/account.js';
import type { CallEvent, CallTracker, LegChanges } from '../calls/tracker.js';
import { hookWants } from '../hooks/match.js';
import type { Webhook } from '../hooks/model.js';
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
  private pending: CallEvent[] = [];
  private pendingAri = 0;
  private flushing: Promise<void> | undefined;
  /** ARI events followed, and of those the ones whose writes are committed */
  received = 0;
  committed = 0;
  stored = 0;
  duplicates = 0;

  constructor(private readonly o: IngestOptions) {}

  /** Accepts one ARI event; never throws. */
  push(ev: AriEvent): void {
    this.received += 1;
    let events: CallEvent[] = [];
    try {
      events = this.o.tracker.handle(ev);
    } catch (err) {
      this.o.logger.error({ err, type: ev.type }, 'could not follow an ARI event; skipped');
    }
    this.enqueue(events, 1);
  }

  /** Stores call events that did not come from one ARI event (reconcile). */
  pushCallEvents(events: CallEvent[]): void {
    this.enqueue(events, 0);
  }

  /** resolves when everything pushed so far is stored */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private enqueue(events: CallEvent[], ari: number): void {
    for (const e of events) this.pending.push(e);
    this.pendingAri += ari;
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  private async flush(): Promise<void> {
    try {
      for (;;) {
        const events = this.pending;
        const ari = this.pendingAri;
        const legs = this.o.tracker.takeChanges();
        if (events.length === 0 && ari === 0 && legs.upserts.length === 0 && legs.deletes.length === 0) break;
        this.pending = [];
        this.pendingAri = 0;
        await this.store(events, legs);
        this.committed += ari;
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async store(events: CallEvent[], legs: LegChanges): Promise<void> {
    try {
      const items = [];
      const hooksOf = new Map<string, Webhook[]>();
      let deliveries = 0;
      for (const ev of events) {
        let candidates = hooksOf.get(ev.accountId);
        if (!candidates) {
          candidates = await this.o.store.activeWebhooks(this.o.accounts.lineage(ev.accountId));
          hooksOf.set(ev.accountId, candidates);
        }
        const hooks = candidates.filter((h) => hookWants(h, ev));
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
