/**
 * Ingest: ARI event → call events → payloads → matching webhooks → stored event + deliveries.
 * ARI events are processed strictly one after another so a leg's events are stored in order.
 */
import type { Logger } from 'pino';
import type { AriEvent } from '../ari/events.js';
import type { AccountDirectory } from '../calls/account.js';
import type { CallEvent, CallTracker } from '../calls/tracker.js';
import { hookWants } from '../hooks/match.js';
import type { Store } from '../store/store.js';
import { buildPayload } from './payload.js';

export interface IngestOptions {
  tracker: CallTracker;
  accounts: AccountDirectory;
  store: Pick<Store, 'activeWebhooks' | 'insertEvent'>;
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
    if (events.length === 0) return;
    this.queue = this.queue.then(() => this.storeAll(events));
  }

  /** resolves when everything pushed so far is stored */
  drain(): Promise<void> {
    return this.queue;
  }

  private async storeAll(events: CallEvent[]): Promise<void> {
    let any = false;
    for (const ev of events) {
      try {
        any = (await this.storeOne(ev)) || any;
      } catch (err) {
        this.o.logger.error({ err, event_id: ev.eventId, hook_event: ev.hookEvent }, 'could not store a call event');
      }
    }
    if (any) this.o.onStored();
  }

  private async storeOne(ev: CallEvent): Promise<boolean> {
    const lineage = this.o.accounts.lineage(ev.accountId);
    const hooks = (await this.o.store.activeWebhooks(lineage)).filter((h) => hookWants(h, ev));
    const realm = this.o.accounts.get(ev.accountId)?.realm || this.o.defaultRealm;
    const payload = buildPayload(ev, realm);
    const fresh = await this.o.store.insertEvent(
      {
        id: ev.eventId,
        account_id: ev.accountId,
        hook_event: ev.hookEvent,
        leg: ev.leg.channelId,
        call_id: ev.leg.callId,
        payload: JSON.stringify(payload),
        created: ev.timestampMs,
      },
      hooks.map((h) => h.id),
    );
    if (fresh) this.stored += 1;
    else this.duplicates += 1;
    return fresh && hooks.length > 0;
  }
}
