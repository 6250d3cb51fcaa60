/**
 * Ingest: ARI event → call events → payloads → matching webhooks → stored event + deliveries.
 * ARI events are followed one after another, in order. Writes are group-committed: what
 * arrives while a transaction is being written (and the ARI frames of one socket read) goes
 * into the next single transaction, together with the call legs' state. A write that fails (a
 * PostgreSQL server restarting, a full disk) is tried again, with what arrived meanwhile
 * queued behind it in order, until it succeeds or callhook is stopped.
 */
import type { Logger } from 'pino';
import type { AriEvent } from '../ari/events.js';
import type { AccountDirectory } from '../calls/account.js';
import type { CallTracker } from '../calls/tracker.js';
import type { CallEvent, LegChanges } from '../calls/types.js';
import type { Webhook } from '../hooks/model.js';
import type { Store } from '../store/store.js';
import { outboxItem } from './outbox.js';

/** the wait before writing again after a failed write: doubling from `first` up to `max` */
const RETRY_MS = { first: 100, max: 5000 };
/** call events kept in memory while the store fails (about 600 bytes each) */
const MAX_QUEUED = 100_000;

export interface IngestOptions {
  tracker: CallTracker;
  accounts: AccountDirectory;
  store: Pick<Store, 'activeWebhooks' | 'insertEvents'>;
  logger: Logger;
  defaultRealm: string;
  /** called after deliveries were stored */
  onStored: () => void;
  /** call events kept while the store fails; beyond it the oldest are dropped (default 100 000) */
  maxQueued?: number;
  /** counts the call events the tracker made (src/metrics/) */
  metrics?: IngestMetrics;
}

export interface IngestMetrics {
  callEvent(hookEvent: CallEvent['hookEvent']): void;
}

export class Ingest {
  private pending: CallEvent[] = [];
  private pendingAri = 0;
  private flushing: Promise<void> | undefined;
  private closing = false;
  /** ARI events followed, and of those the ones whose writes are committed */
  received = 0;
  committed = 0;
  stored = 0;
  duplicates = 0;
  /** call events dropped because the store failed for longer than the queue holds */
  lost = 0;

  constructor(private readonly o: IngestOptions) {}

  /** call events waiting to be stored */
  get queued(): number {
    return this.pending.length;
  }

  /** Accepts one ARI event (of any shape: the tracker ignores what is none); never throws. */
  push(ev: AriEvent): void {
    this.received += 1;
    let events: CallEvent[] = [];
    try {
      events = this.o.tracker.handle(ev);
    } catch (err) {
      const type = typeof ev === 'object' && ev !== null && typeof ev.type === 'string' ? ev.type.slice(0, 100) : undefined;
      this.o.logger.error({ err, type }, 'could not follow an ARI event; skipped');
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

  /** stores what was pushed, trying a failing store once more only, then gives up on it (logged) */
  async close(): Promise<void> {
    this.closing = true;
    await this.drain();
  }

  private enqueue(events: CallEvent[], ari: number): void {
    for (const e of events) {
      this.pending.push(e);
      this.o.metrics?.callEvent(e.hookEvent);
    }
    this.pendingAri += ari;
    this.trim();
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  private async flush(): Promise<void> {
    try {
      for (let wait = 0; ;) {
        const events = this.pending;
        const ari = this.pendingAri;
        const legs = this.o.tracker.takeChanges();
        if (events.length === 0 && ari === 0 && legs.upserts.length === 0 && legs.deletes.length === 0) break;
        this.pending = [];
        this.pendingAri = 0;
        const err = await this.store(events, legs);
        if (!err) {
          this.committed += ari;
          wait = 0;
          continue;
        }
        const ids = events.map((e) => e.eventId);
        if (this.closing && wait > 0) {
          this.o.logger.error({ err, event_ids: ids }, 'could not store call events before stopping; they are lost');
          continue;
        }
        // the same events go first in the next write, the ones after them wait
        wait = Math.min(RETRY_MS.max, wait * 2 || RETRY_MS.first);
        this.o.logger.error({ err, events: ids.length, retry_in_ms: wait, events_lost: this.lost }, 'could not store call events; trying again');
        this.pending = events.concat(this.pending);
        this.trim();
        this.pendingAri += ari;
        this.o.tracker.giveBack(legs);
        await new Promise((r) => setTimeout(r, wait));
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** an outage longer than the queue holds: the oldest call events go (counted in `lost`) */
  private trim(): void {
    const over = this.pending.length - (this.o.maxQueued ?? MAX_QUEUED);
    if (over > 0) {
      this.pending.splice(0, over);
      this.lost += over;
    }
  }

  /** one write; the store's error if it failed */
  private async store(events: CallEvent[], legs: LegChanges): Promise<unknown> {
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
        // an event that cannot be turned into a payload is skipped (trying again would not help)
        let item;
        try {
          item = outboxItem(ev, candidates, this.o.accounts, this.o.defaultRealm);
        } catch (err) {
          this.o.logger.error({ err, event_id: ev.eventId, hook_event: ev.hookEvent }, 'could not build a call event; skipped');
          continue;
        }
        deliveries += item.webhookIds.length;
        items.push(item);
      }
      const fresh = await this.o.store.insertEvents(items, legs);
      this.stored += fresh;
      this.duplicates += items.length - fresh;
      if (fresh > 0 && deliveries > 0) this.o.onStored();
      return undefined;
    } catch (err) {
      return err ?? new Error('store failed');
    }
  }
}
