/**
 * The dispatcher: takes due deliveries from the store, sends them, records every try as an
 * attempt, and keeps each webhook's health (its circuit breaker). What a try means is decided
 * by the pure decide() of outcome.ts; this class does the I/O around it. It never writes SQL:
 * it only sees the narrow store surface below. Deliveries of one leg to one hook go out one at
 * a time, in event order (the store's due query holds back later ones while an earlier one is
 * pending). The slots are shared fairly between accounts (fair.ts).
 */
import type { Logger } from 'pino';
import type { AttemptInput, DeliveryUpdate, DueDelivery, Slots, Store } from '../store/store.js';
import { encodeRequest, jsonRequest, type EncodedRequest } from './encode.js';
import { withCustomData, type Payload } from '../events/payload.js';
import { signingSecrets, type Webhook } from '../hooks/model.js';
import type { ClaimableHook, HealthState, WebhookHealth } from '../hooks/health.js';
import { classify } from './retry.js';
import type { HttpResult, Sender } from './http.js';
import { decide, describeResult, type Decision, type HealthRules, type Transition } from './outcome.js';
import { accountRoom, reserveFor } from './fair.js';
import { AppError } from '../shared/errors.js';

export type DispatcherStore = Pick<
  Store,
  | 'claimDeliveries'
  | 'releaseDeliveries'
  | 'recordAttempts'
  | 'webhookById'
  | 'disableWebhook'
  | 'nextDueAt'
  | 'failuresSince'
  | 'setWebhookHealth'
  | 'pendingByWebhook'
>;

/** what a notifications webhook hears of another webhook's health */
export interface HealthNotice {
  kind: Transition;
  hook: Webhook;
  reason: string;
  /** unix ms: failing since (failing, disabled), or when it was failing since (recovered) */
  since: number | null;
  pending: number;
}

export interface DispatcherOptions {
  store: DispatcherStore;
  sender: Sender;
  logger: Logger;
  rules: HealthRules;
  concurrency: number;
  perHookConcurrency: number;
  pollIntervalMs: number;
  /** how long a claimed delivery stays reserved for this process */
  leaseMs: number;
  /** Kazoo's rule, opt-in: disable a webhook after this many failed tries within disableWindowMs (0 = off) */
  disableAfter: number;
  disableWindowMs: number;
  userAgent: string;
  /** tells the notifications webhooks of a health transition (stored as their deliveries) */
  notify?: (notice: HealthNotice) => Promise<void>;
  /** counts tries and finished deliveries (src/metrics/); test sends are not counted */
  metrics?: DeliveryMetrics;
  random?: () => number;
}

/** what a try's answer was, in few enough kinds to count */
export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'error' | 'timeout';

/** what the dispatcher tells its metrics, once each try and its delivery's outcome are recorded */
export interface DeliveryMetrics {
  attempt(statusClass: StatusClass): void;
  /** a delivery answered 2xx, `latencySec` after its event happened (the PBX's clock) */
  delivered(latencySec: number): void;
  /** a delivery given up: not retried (4xx, 410) or its retries exhausted */
  failed(): void;
}

export function statusClass(res: Pick<HttpResult, 'status' | 'error'>): StatusClass {
  const s = res.status;
  if (s === undefined) return /timeout|timedout/i.test(res.error ?? '') ? 'timeout' : 'error';
  if (s >= 200 && s < 600) return `${Math.floor(s / 100)}xx` as StatusClass;
  return 'error';
}

/** a webhook's request for a payload, its custom_data merged */
function requestFor(hook: Webhook, uri: string, payload: Payload): EncodedRequest {
  return encodeRequest(uri, withCustomData(payload, hook.custom_data), hook.http_verb, hook.format);
}

/** the request of a stored payload: a JSON body without custom_data goes out as it was stored */
function storedRequest(hook: Webhook, uri: string, stored: string): EncodedRequest {
  if (hook.http_verb !== 'get' && hook.format === 'json' && Object.keys(hook.custom_data).length === 0) {
    return jsonRequest(uri, hook.http_verb, stored);
  }
  return requestFor(hook, uri, JSON.parse(stored) as Payload);
}

/** the attempt record of a try: built here only */
function attemptOf(
  d: Pick<DueDelivery, 'id' | 'event_id' | 'hook_event' | 'call_id'>,
  hook: Webhook,
  sent: { uri: string; method: string; res: HttpResult },
  a: Decision['attempt'],
  created: number,
): AttemptInput {
  return {
    delivery_id: d.id,
    webhook_id: hook.id,
    account_id: hook.account_id,
    event_id: d.event_id,
    hook_event: d.hook_event,
    call_id: d.call_id,
    uri: sent.uri,
    method: sent.method,
    status_code: sent.res.status ?? null,
    response_body: sent.res.body,
    duration_ms: sent.res.durationMs,
    ...a,
    created,
  };
}

/** test sends (POST …/test): per webhook 1 a second with a burst of 3 */
export const TEST_RATE: Rate = { perSecond: 1, burst: 3 };
/** test sends of all of an account's webhooks together */
export const TEST_ACCOUNT_RATE: Rate = { perSecond: 5, burst: 10 };

export interface Rate {
  perSecond: number;
  burst: number;
}

/** token buckets by key; full buckets are forgotten now and then */
class Buckets {
  private readonly buckets = new Map<string, { tokens: number; at: number; rate: Rate }>();

  private refill(key: string, rate: Rate, now: number): { tokens: number; at: number; rate: Rate } {
    const b = this.buckets.get(key) ?? { tokens: rate.burst, at: now, rate };
    b.tokens = Math.min(rate.burst, b.tokens + ((now - b.at) / 1000) * rate.perSecond);
    b.at = now;
    return b;
  }

  /** ms until the bucket has a token (0: now) */
  wait(key: string, rate: Rate, now: number): number {
    const b = this.refill(key, rate, now);
    return b.tokens >= 1 ? 0 : Math.ceil(((1 - b.tokens) / rate.perSecond) * 1000);
  }

  take(key: string, rate: Rate, now: number): void {
    const b = this.refill(key, rate, now);
    b.tokens -= 1;
    this.buckets.set(key, b);
    if (this.buckets.size > 10_000) {
      for (const [k, v] of this.buckets) if (v.tokens + ((now - v.at) / 1000) * v.rate.perSecond >= v.rate.burst) this.buckets.delete(k);
    }
  }
}

/** while requests are in flight, the least time between two claims for a few free slots */
const CLAIM_PAUSE_MS = 5;

/** which state a health change must find to be saved: a transition is made once, by one try */
const FROM: Record<Exclude<Transition, 'disabled'>, HealthState> = { failing: 'healthy', recovered: 'failing' };

interface Settled {
  attempt: AttemptInput;
  update?: DeliveryUpdate;
  done: (err?: unknown) => void;
}

export class Dispatcher {
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly perHook = new Map<string, number>();
  private readonly perAccount = new Map<string, number>();
  /** failed tries in a row of each webhook's primary, as this process saw them */
  private readonly streaks = new Map<string, number>();
  /** health this process saved, newer than what a claim read before `at` */
  private readonly healthSeen = new Map<string, { health: WebhookHealth; at: number }>();
  private timer: NodeJS.Timeout | undefined;
  private pumping = false;
  private again = false;
  private stopped = true;
  private abandoned = false;
  private claimedAt = 0;
  /** tries finished in this tick, written in one transaction (group commit) */
  private settled: Settled[] = [];
  private readonly reserve: number;
  /** test sends (POST …/test) in flight per webhook, and their rate */
  private readonly testsInFlight = new Map<string, number>();
  private readonly testRate = new Buckets();

  constructor(private readonly o: DispatcherOptions) {
    this.reserve = reserveFor(o.concurrency, o.perHookConcurrency);
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** called after new deliveries were stored */
  wake(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    void this.pump();
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  /** Stops taking work and waits up to graceMs for requests in flight; the rest stays stored. */
  async close(graceMs = 5000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.inflight.size === 0) return;
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inflight.values()]), new Promise<void>((r) => (timeout = setTimeout(r, graceMs)))]);
    clearTimeout(timeout);
    this.abandoned = true;
  }

  /** claims and sends until nothing more is claimable, then sleeps until the next due time; a wake meanwhile goes round again */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      do {
        this.again = false;
        const claimed = await this.claim();
        if (this.again) continue;
        if (claimed) await this.schedule();
        else this.arm(CLAIM_PAUSE_MS);
      } while (this.again && !this.stopped);
    } catch (err) {
      this.o.logger.error({ err }, 'dispatcher could not read the outbox; retrying');
      this.arm(this.o.pollIntervalMs);
    } finally {
      this.pumping = false;
    }
  }

  /** claims what the free slots allow and sends it; false when it held back to claim more at once */
  private async claim(): Promise<boolean> {
    const free = this.o.concurrency - this.inflight.size;
    if (free <= 0) return true;
    // a claim scans the outbox: while requests are in flight and few slots are free, claim at
    // most every CLAIM_PAUSE_MS rather than for each request that finishes
    const now = Date.now();
    if (this.inflight.size > 0 && free < this.o.concurrency / 4 && now - this.claimedAt < CLAIM_PAUSE_MS) return false;
    this.claimedAt = now;
    // a webhook's free slots, within its account's fair share (what this claim gives counts too)
    const given = new Map(this.perAccount);
    const shares = { concurrency: this.o.concurrency, reserve: this.reserve };
    const owners = new Map<string, string>();
    const slots: Slots = {
      room: (h: ClaimableHook) => Math.min(this.o.perHookConcurrency - (this.perHook.get(h.id) ?? 0), accountRoom(given, h.account_id, shares)),
      took: (h: ClaimableHook, n: number) => {
        owners.set(h.id, h.account_id);
        given.set(h.account_id, (given.get(h.account_id) ?? 0) + n);
      },
    };
    const due = await this.o.store.claimDeliveries(now, free, this.o.leaseMs, slots);
    // each webhook of the batch is read once
    const hooks = new Map<string, Promise<Webhook | undefined>>();
    const count = (map: Map<string, number>, key: string, by: number) => map.set(key, (map.get(key) ?? 0) + by);
    for (const d of due) {
      const hookId = d.webhook_id;
      const account = owners.get(hookId) ?? '';
      count(this.perHook, hookId, 1);
      count(this.perAccount, account, 1);
      let hook = hooks.get(hookId);
      if (!hook) hooks.set(hookId, (hook = this.o.store.webhookById(hookId)));
      const p = this.deliver(d, hook, now)
        .catch((err: unknown) => this.o.logger.error({ err, delivery_id: d.id }, 'delivery failed unexpectedly'))
        .finally(() => {
          this.inflight.delete(d.id);
          count(this.perHook, hookId, -1);
          count(this.perAccount, account, -1);
          this.wake();
        });
      this.inflight.set(d.id, p);
    }
    return true;
  }

  /**
   * Sleeps until the next delivery falls due (at most one poll interval). Work that is due but
   * waits for a concurrency slot is picked up when a request in flight finishes.
   */
  private async schedule(): Promise<void> {
    if (this.stopped) return;
    const now = Date.now();
    const next = await this.o.store.nextDueAt(now);
    this.arm(next === undefined ? this.o.pollIntervalMs : Math.min(this.o.pollIntervalMs, Math.max(5, next - now)));
  }

  private arm(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => this.wake(), ms);
    this.timer.unref();
  }

  private async deliver(d: DueDelivery, webhook: Promise<Webhook | undefined>, claimedAt: number): Promise<void> {
    const hook = await webhook;
    if (!hook) return; // deleted meanwhile, and its deliveries with it
    if (!hook.enabled) return this.o.store.releaseDeliveries([d.id]); // disabled meanwhile: kept for later
    const uri = d.target === 'failover' && hook.failover_uri ? hook.failover_uri : hook.uri;
    const sent = await this.send(hook, uri, d.id, d.account_id, storedRequest(hook, uri, d.payload));
    // past the shutdown grace period the store may be closed: the delivery stays pending
    if (this.abandoned) return;
    await this.settle(d, hook, sent, claimedAt);
  }

  /** one signed request to a webhook's uri (or its failover) */
  private async send(hook: Webhook, uri: string, deliveryId: string, accountId: string, req: EncodedRequest) {
    const headers: Record<string, string> = {
      ...hook.headers,
      'user-agent': this.o.userAgent,
      'x-hook-id': hook.id,
      'x-account-id': accountId,
    };
    const res = await this.o.sender.send(req, headers, { secrets: signingSecrets(hook, Date.now()), id: deliveryId });
    return { uri, method: req.method, res };
  }

  /**
   * Sends a sample event to a webhook right away, outside the outbox (POST …/test), and
   * records the try as an attempt. Within limits: per webhook at most perHookConcurrency test
   * sends in flight and TEST_RATE, per account TEST_ACCOUNT_RATE; over them it throws an
   * AppError rate_limited (429 with Retry-After). The receiver's answer body is neither
   * returned nor stored (a tenant must not read pages of the network callhook runs in):
   * status code, timing and result only.
   */
  async sendTest(hook: Webhook, payload: Payload): Promise<AttemptInput> {
    const now = Date.now();
    if ((this.testsInFlight.get(hook.id) ?? 0) >= this.o.perHookConcurrency) {
      throw new AppError('rate_limited', `${this.o.perHookConcurrency} test sends of this webhook are in flight already`, { retryAfterSec: 1 });
    }
    const waitMs = Math.max(this.testRate.wait(`h:${hook.id}`, TEST_RATE, now), this.testRate.wait(`a:${hook.account_id}`, TEST_ACCOUNT_RATE, now));
    if (waitMs > 0) throw new AppError('rate_limited', 'too many test sends; try again later', { retryAfterSec: Math.ceil(waitMs / 1000) });
    this.testRate.take(`h:${hook.id}`, TEST_RATE, now);
    this.testRate.take(`a:${hook.account_id}`, TEST_ACCOUNT_RATE, now);
    this.testsInFlight.set(hook.id, (this.testsInFlight.get(hook.id) ?? 0) + 1);
    try {
      const d = {
        id: `test-${String(payload.event_id)}`,
        event_id: String(payload.event_id),
        hook_event: String(payload.hook_event),
        call_id: String(payload.call_id),
      };
      const sent = await this.send(hook, hook.uri, d.id, hook.account_id, requestFor(hook, hook.uri, payload));
      const res = { ...sent.res, body: '' };
      const result = classify(res.status) === 'success' ? 'success' : 'failure';
      const attempt = attemptOf(d, hook, { ...sent, res }, { result, reason: `test: ${describeResult(res)}`, try_number: 1, retries_left: 0 }, Date.now());
      await this.record(attempt);
      return attempt;
    } finally {
      const n = (this.testsInFlight.get(hook.id) ?? 1) - 1;
      if (n > 0) this.testsInFlight.set(hook.id, n);
      else this.testsInFlight.delete(hook.id);
    }
  }

  /**
   * Records a try (and its delivery's outcome). The tries that finish within one tick of the
   * event loop are written in one transaction: one commit for many requests.
   */
  private record(attempt: AttemptInput, update?: DeliveryUpdate): Promise<void> {
    return new Promise((resolve, reject) => {
      this.settled.push({ attempt, update, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (this.settled.length === 1) setImmediate(() => void this.writeSettled());
    });
  }

  private async writeSettled(): Promise<void> {
    const batch = this.settled;
    this.settled = [];
    try {
      await this.o.store.recordAttempts(batch);
      for (const s of batch) s.done();
    } catch (err) {
      for (const s of batch) s.done(err);
    }
  }

  /** the webhook's health: what this process saved since the claim, else what the claim read */
  private healthOf(hook: Webhook, claimedAt: number): WebhookHealth {
    const seen = this.healthSeen.get(hook.id);
    return seen && seen.at >= claimedAt ? seen.health : hook.health;
  }

  private async settle(d: DueDelivery, hook: Webhook, sent: { uri: string; method: string; res: HttpResult }, claimedAt: number): Promise<void> {
    const now = Date.now();
    const health = this.healthOf(hook, claimedAt);
    const decision = decide(
      sent.res,
      { now, target: d.target, tries: d.tries, retries: hook.retries, health, streak: this.streaks.get(hook.id) ?? 0, failover: hook.failover_uri !== null },
      this.o.rules,
      this.o.random,
    );
    if (decision.streak === 0) this.streaks.delete(hook.id);
    else this.streaks.set(hook.id, decision.streak);
    // the tries settled next see this health at once, before it is saved
    if (decision.health) this.healthSeen.set(hook.id, { health: decision.health, at: now });
    await this.record(attemptOf(d, hook, sent, decision.attempt, now), { id: d.id, ...decision.delivery });
    this.o.metrics?.attempt(statusClass(sent.res));
    if (decision.delivery.status === 'succeeded') this.o.metrics?.delivered(Math.max(0, now - d.event_created) / 1000);
    else if (decision.delivery.status === 'failed') this.o.metrics?.failed();
    if (decision.health) await this.saveHealth(hook, health, decision, now);
    if (decision.disable) {
      const { reason, collect } = decision.disable;
      if (await this.o.store.disableWebhook(hook.id, reason, now, collect, hook.updated)) {
        this.o.logger.warn({ webhook_id: hook.id, account_id: hook.account_id, reason }, 'webhook disabled');
        await this.tell({ kind: 'disabled', hook, reason, since: health.failing_since ?? now });
      }
    } else if (decision.attempt.result === 'failure' && d.target !== 'failover' && this.o.disableAfter > 0) {
      // Kazoo's rule (opt-in): failures within the window, since the webhook's last edit or re-enable
      const failures = await this.o.store.failuresSince(hook.id, Math.max(now - this.o.disableWindowMs, hook.updated));
      if (failures >= this.o.disableAfter) {
        const reason = `${failures} failed tries within ${Math.round(this.o.disableWindowMs / 1000)} s`;
        if (await this.o.store.disableWebhook(hook.id, reason, now, true, hook.updated)) {
          this.o.logger.warn({ webhook_id: hook.id, account_id: hook.account_id, reason }, 'webhook disabled');
          await this.tell({ kind: 'disabled', hook, reason, since: health.failing_since ?? now });
        }
      }
    }
    const log = { webhook_id: hook.id, delivery_id: d.id, uri: sent.uri, reason: decision.attempt.reason };
    if (decision.delivery.status === 'failed') this.o.logger.warn(log, 'delivery failed');
    else this.o.logger.debug(log, 'delivery try');
  }

  /** saves a health change; a transition only if this try is the one that makes it, and then it is logged and told once */
  private async saveHealth(hook: Webhook, before: WebhookHealth, decision: Decision, now: number): Promise<void> {
    const health = decision.health!;
    const t = decision.transition === 'disabled' ? undefined : decision.transition;
    const saved = await this.o.store.setWebhookHealth(hook.id, health, now, t ? FROM[t] : before.state);
    if (!saved) return;
    if (t === 'failing') {
      this.o.logger.warn(
        { webhook_id: hook.id, account_id: hook.account_id, reason: health.last_error, next_probe: health.next_probe },
        'webhook failing: only probes go to it',
      );
      await this.tell({ kind: 'failing', hook, reason: health.last_error ?? 'failed', since: health.failing_since });
    } else if (t === 'recovered') {
      this.o.logger.info({ webhook_id: hook.id, account_id: hook.account_id, failing_since: before.failing_since }, 'webhook recovered: its backlog goes out');
      await this.tell({ kind: 'recovered', hook, reason: decision.attempt.reason, since: before.failing_since });
    }
  }

  private async tell(n: Omit<HealthNotice, 'pending'>): Promise<void> {
    if (!this.o.notify) return;
    try {
      const pending = (await this.o.store.pendingByWebhook([n.hook.id])).get(n.hook.id) ?? 0;
      await this.o.notify({ ...n, pending });
    } catch (err) {
      this.o.logger.error({ err, webhook_id: n.hook.id, kind: n.kind }, 'could not store the health notification');
    }
  }
}
