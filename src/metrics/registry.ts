/**
 * The Prometheus metrics of one daemon (GET /metrics), in a registry of its own (not
 * prom-client's global one: tests start several daemons in one process). The dispatcher,
 * ingest and ARI client never see prom-client: they are handed this object through the narrow
 * interfaces they declare (DeliveryMetrics, IngestMetrics, AriMetrics). What they count already
 * (ingest.received …) and what the store knows (pending deliveries, webhooks by health) is
 * read at scrape time. Labels are bounded: no call, account or webhook ids.
 * docs/operations.md lists every metric.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import type { AriMetrics, AriState } from '../ari/client.js';
import { HOOK_EVENTS, type HookEvent } from '../calls/types.js';
import type { IngestMetrics } from '../pipeline/ingest.js';
import type { DeliveryMetrics, StatusClass } from '../delivery/dispatcher.js';
import type { Store } from '../store/store.js';

export const PREFIX = 'callhook_';

/** seconds from the PBX's event to the receiver's 2xx: a webhook sent at once takes ms, a retry seconds, a backlog after an outage minutes */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600];

const STATUS_CLASSES: StatusClass[] = ['2xx', '3xx', '4xx', '5xx', 'error', 'timeout'];
export const DELIVERY_RESULTS = ['delivered', 'failed', 'expired'] as const;
export type DeliveryResult = (typeof DELIVERY_RESULTS)[number];
const HEALTHS = ['healthy', 'failing', 'disabled'] as const;

export interface MetricOptions {
  store: Pick<Store, 'oldestPending' | 'countWebhooksByHealth'>;
  /** how many deliveries are pending (main.ts's count, cached for a second) */
  pendingCount: () => Promise<number>;
  /** the process's roles decide what it reports: ARI and ingest with ingest, the dispatcher's in-flight requests with deliver */
  ingest: boolean;
  deliver: boolean;
  logger: Logger;
  /** a scan of the store is read again after this long at the earliest (default 1000 ms) */
  cacheMs?: number;
  now?: () => number;
}

/** what is read at scrape time (given once they exist: they are built with this object) */
export interface Watched {
  ari: { readonly status: AriState };
  ingest: { readonly received: number; readonly committed: number; readonly stored: number; readonly lost: number; readonly queued: number };
  tracker: { readonly dropped: number; readonly openLegs: number };
  dispatcher: { readonly inFlight: number };
}

/** the last answer of `read`, asked again once it is `ms` old; one read at a time */
function cached<T>(read: () => Promise<T>, ms: number, now: () => number): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!last || now() - last.at >= ms) {
      const value = read();
      last = { at: now(), value };
      // a failed read is not kept: the next scrape asks again
      value.catch(() => {
        if (last?.value === value) last = undefined;
      });
    }
    return last.value;
  };
}

export class Metrics implements DeliveryMetrics, IngestMetrics, AriMetrics {
  readonly registry = new Registry();
  private readonly callEvents: Counter<'hook_event'>;
  private readonly attempts: Counter<'status_class'>;
  private readonly deliveries: Counter<'result'>;
  private readonly latency: Histogram;
  private readonly reconnects: Counter | undefined;
  private w: Watched | undefined;

  constructor(s: MetricOptions) {
    const register = [this.registry];
    const now = s.now ?? Date.now;
    const cacheMs = s.cacheMs ?? 1000;
    const log = s.logger;
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });

    /** a counter whose value something else keeps, read at scrape time */
    const counted = (name: string, help: string, value: () => number) =>
      new Counter({
        name: PREFIX + name,
        help,
        registers: register,
        collect() {
          this.reset();
          this.inc(value());
        },
      });
    /** a gauge read at scrape time; when the read fails it is logged and the gauge is NaN (labelled: left out) in this scrape */
    const gauge = <L extends string>(name: string, help: string, labelNames: L[], read: (g: Gauge<L>) => void | Promise<void>) =>
      new Gauge<L>({
        name: PREFIX + name,
        help,
        labelNames,
        registers: register,
        async collect() {
          try {
            await read(this);
          } catch (err) {
            this.reset();
            if (labelNames.length === 0) this.set(NaN);
            log.warn({ metric: PREFIX + name, reason: (err as Error).message }, 'could not read a metric');
          }
        },
      });

    if (s.ingest) {
      gauge('ari_connected', '1 while the ARI event websocket is connected, else 0', [], (g) => g.set(this.w?.ari.status === 'connected' ? 1 : 0));
      this.reconnects = new Counter({
        name: PREFIX + 'ari_reconnects_total',
        help: 'ARI connections lost or tries to connect that failed, each followed by another try',
        registers: register,
      });
      counted('ari_events_received_total', 'ARI events received and followed', () => this.w?.ingest.received ?? 0);
      counted('ari_events_committed_total', 'ARI events whose call events (if any) are committed to the store', () => this.w?.ingest.committed ?? 0);
      counted('events_stored_total', 'call events stored (new ones: an event stored before is not counted again)', () => this.w?.ingest.stored ?? 0);
      counted('events_lost_total', 'call events dropped because the store failed for longer than the ingest queue holds', () => this.w?.ingest.lost ?? 0);
      counted('events_without_account_total', 'call events dropped because their call resolved to no account', () => this.w?.tracker.dropped ?? 0);
      gauge('ingest_queue_length', 'call events waiting to be stored', [], (g) => g.set(this.w?.ingest.queued ?? 0));
      gauge('call_legs_open', 'call legs being followed', [], (g) => g.set(this.w?.tracker.openLegs ?? 0));
    }
    this.callEvents = new Counter({
      name: PREFIX + 'call_events_total',
      help: 'call events made from ARI events (and by reconciliation after a reconnect), by hook_event',
      labelNames: ['hook_event'],
      registers: register,
    });
    if (s.ingest) for (const e of HOOK_EVENTS) this.callEvents.inc({ hook_event: e }, 0);

    this.attempts = new Counter({
      name: PREFIX + 'delivery_attempts_total',
      help: 'tries of deliveries (probes and failover tries included, test sends not), by what the receiver answered',
      labelNames: ['status_class'],
      registers: register,
    });
    this.deliveries = new Counter({
      name: PREFIX + 'deliveries_total',
      help: 'deliveries done, by result: delivered (2xx), failed (given up), expired (its webhook stayed disabled past the retention)',
      labelNames: ['result'],
      registers: register,
    });
    this.latency = new Histogram({
      name: PREFIX + 'delivery_latency_seconds',
      help: "seconds from the call event (the PBX's clock) to the receiver's 2xx",
      buckets: LATENCY_BUCKETS,
      registers: register,
    });
    for (const c of STATUS_CLASSES) this.attempts.inc({ status_class: c }, 0);
    for (const r of DELIVERY_RESULTS) this.deliveries.inc({ result: r }, 0);
    if (s.deliver) gauge('deliveries_in_flight', 'requests of this process waiting for their receiver', [], (g) => g.set(this.w?.dispatcher.inFlight ?? 0));

    // the store's: the same in every process sharing it
    const oldest = cached(() => s.store.oldestPending(), cacheMs, now);
    const byHealth = cached(() => s.store.countWebhooksByHealth(), cacheMs, now);
    gauge('deliveries_pending', 'deliveries waiting to be sent or retried (the whole store)', [], async (g) => g.set(await s.pendingCount()));
    gauge('oldest_pending_delivery_age_seconds', 'seconds since the oldest pending delivery was stored (0: none is pending)', [], async (g) => {
      const at = await oldest();
      g.set(at === undefined ? 0 : Math.max(0, now() - at) / 1000);
    });
    gauge('webhooks', 'webhooks by health: healthy, failing (only probes go to it), disabled (not enabled)', ['health'], async (g) => {
      const n = await byHealth();
      for (const h of HEALTHS) g.set({ health: h }, n[h]);
    });
  }

  watch(w: Watched): void {
    this.w = w;
  }

  attempt(statusClass: StatusClass): void {
    this.attempts.inc({ status_class: statusClass });
  }

  delivered(latencySec: number): void {
    this.deliveries.inc({ result: 'delivered' });
    this.latency.observe(latencySec);
  }

  failed(): void {
    this.deliveries.inc({ result: 'failed' });
  }

  /** pending deliveries the prune failed because their webhook stayed disabled past the retention */
  expired(n: number): void {
    if (n > 0) this.deliveries.inc({ result: 'expired' }, n);
  }

  callEvent(hookEvent: HookEvent): void {
    this.callEvents.inc({ hook_event: hookEvent });
  }

  reconnect(): void {
    this.reconnects?.inc();
  }

  /** the text exposition */
  async scrape(): Promise<{ contentType: string; body: string }> {
    // prom-client writes NaN (a summary or gauge without samples yet) as "Nan"; the format says NaN
    const body = (await this.registry.metrics()).replace(/ Nan$/gm, ' NaN');
    return { contentType: this.registry.contentType, body };
  }
}
