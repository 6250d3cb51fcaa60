/**
 * The dispatcher: takes due deliveries from the store, sends them, records every try as an
 * attempt and schedules retries. It never writes SQL: it only sees the narrow store surface
 * below. Deliveries of one leg to one hook go out one at a time, in event order (the store's
 * due query holds back later ones while an earlier one is pending).
 */
import type { Logger } from 'pino';
import type { AttemptInput, DeliveryUpdate, DueDelivery, Store } from '../store/store.js';
import { encodeRequest, jsonRequest, type EncodedRequest } from '../events/encode.js';
import { withCustomData, type Payload } from '../events/payload.js';
import type { Webhook } from '../hooks/model.js';
import { classify, retryAfterMs, retryDelay, type RetryPolicy } from './retry.js';
import type { HttpResult, Sender } from './http.js';

export type DispatcherStore = Pick<
  Store,
  'claimDeliveries' | 'releaseDeliveries' | 'recordAttempts' | 'webhookById' | 'disableWebhook' | 'nextDueAt' | 'failuresSince'
>;

export interface DispatcherOptions {
  store: DispatcherStore;
  sender: Sender;
  logger: Logger;
  policy: RetryPolicy;
  concurrency: number;
  perHookConcurrency: number;
  pollIntervalMs: number;
  /** how long a claimed delivery stays reserved for this process */
  leaseMs: number;
  /** auto-disable a webhook after this many failed tries within disableWindowMs (0 = never) */
  disableAfter: number;
  disableWindowMs: number;
  userAgent: string;
}

/** a webhook's request for a payload, its custom_data merged */
function requestFor(hook: Webhook, payload: Payload): EncodedRequest {
  return encodeRequest(hook.uri, withCustomData(payload, hook.custom_data), hook.http_verb, hook.format);
}

/** the request of a stored payload: a JSON body without custom_data goes out as it was stored */
function storedRequest(hook: Webhook, stored: string): EncodedRequest {
  if (hook.http_verb !== 'get' && hook.format === 'json' && Object.keys(hook.custom_data).length === 0) {
    return jsonRequest(hook.uri, hook.http_verb, stored);
  }
  return requestFor(hook, JSON.parse(stored) as Payload);
}

/** while requests are in flight, the least time between two claims for a few free slots */
const CLAIM_PAUSE_MS = 5;

interface Settled {
  attempt: AttemptInput;
  update?: DeliveryUpdate;
  done: (err?: unknown) => void;
}

export class Dispatcher {
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly perHook = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private pumping = false;
  private again = false;
  private stopped = true;
  private abandoned = false;
  private claimedAt = 0;
  /** tries finished in this tick, written in one transaction (group commit) */
  private settled: Settled[] = [];

  constructor(private readonly o: DispatcherOptions) {}

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
    await Promise.race([
      Promise.allSettled([...this.inflight.values()]),
      new Promise<void>((r) => (timeout = setTimeout(r, graceMs))),
    ]);
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
    const slots = (hook: string) => this.o.perHookConcurrency - (this.perHook.get(hook) ?? 0);
    const due = await this.o.store.claimDeliveries(now, free, this.o.leaseMs, slots);
    // each webhook of the batch is read once
    const hooks = new Map<string, Promise<Webhook | undefined>>();
    for (const d of due) {
      this.perHook.set(d.webhook_id, (this.perHook.get(d.webhook_id) ?? 0) + 1);
      let hook = hooks.get(d.webhook_id);
      if (!hook) hooks.set(d.webhook_id, (hook = this.o.store.webhookById(d.webhook_id)));
      const p = this.deliver(d, hook)
        .catch((err: unknown) => this.o.logger.error({ err, delivery_id: d.id }, 'delivery failed unexpectedly'))
        .finally(() => {
          this.inflight.delete(d.id);
          this.perHook.set(d.webhook_id, (this.perHook.get(d.webhook_id) ?? 1) - 1);
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

  private async deliver(d: DueDelivery, webhook: Promise<Webhook | undefined>): Promise<void> {
    const hook = await webhook;
    if (!hook) return; // deleted meanwhile, and its deliveries with it
    if (!hook.enabled) return this.o.store.releaseDeliveries([d.id]); // disabled meanwhile: kept for later
    const { method, res } = await this.send(hook, d.id, d.account_id, storedRequest(hook, d.payload));
    // past the shutdown grace period the store may be closed: the delivery stays pending
    if (this.abandoned) return;
    await this.settle(d, hook, method, res);
  }

  /** one signed request to a webhook */
  private async send(hook: Webhook, deliveryId: string, accountId: string, req: EncodedRequest): Promise<{ method: string; res: HttpResult }> {
    const headers: Record<string, string> = {
      ...hook.headers,
      'user-agent': this.o.userAgent,
      'x-hook-id': hook.id,
      'x-account-id': accountId,
    };
    return { method: req.method, res: await this.o.sender.send(req, headers, { secret: hook.secret, id: deliveryId }) };
  }

  /**
   * Sends a sample event to a webhook right away, outside the outbox (POST …/test), and
   * records the try as an attempt.
   */
  async sendTest(hook: Webhook, payload: Payload): Promise<AttemptInput> {
    const deliveryId = `test-${String(payload.event_id)}`;
    const { method, res } = await this.send(hook, deliveryId, hook.account_id, requestFor(hook, payload));
    const attempt: AttemptInput = {
      delivery_id: deliveryId,
      webhook_id: hook.id,
      account_id: hook.account_id,
      event_id: String(payload.event_id),
      hook_event: String(payload.hook_event),
      call_id: String(payload.call_id),
      uri: hook.uri,
      method,
      status_code: res.status ?? null,
      response_body: res.body,
      duration_ms: res.durationMs,
      try_number: 1,
      retries_left: 0,
      result: classify(res.status) === 'success' ? 'success' : 'failure',
      reason: `test: ${res.status !== undefined ? `HTTP ${res.status}` : (res.error ?? 'request failed')}`,
      created: Date.now(),
    };
    await this.record(attempt);
    return attempt;
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

  /**
   * disables a webhook; its pending deliveries stay stored and go out once it is re-enabled.
   * With `collect` (too many failures, not 410) new events keep queueing for it meanwhile.
   * `hook` is the webhook as it was when the try was claimed: if its owner has edited or
   * re-enabled it since, the try's failure does not disable it.
   */
  private async disable(hook: Webhook, reason: string, now: number, collect: boolean): Promise<void> {
    if (await this.o.store.disableWebhook(hook.id, reason, now, collect, hook.updated)) {
      this.o.logger.warn({ webhook_id: hook.id, account_id: hook.account_id, reason }, 'webhook disabled');
    }
  }

  private async settle(d: DueDelivery, hook: Webhook, method: string, res: HttpResult): Promise<void> {
    const now = Date.now();
    const tryNumber = d.tries + 1;
    const maxTries = 1 + hook.retries;
    const outcome = classify(res.status);
    const what = res.status !== undefined ? `HTTP ${res.status}` : (res.error ?? 'request failed');
    let status: 'pending' | 'succeeded' | 'failed' = 'failed';
    let nextAt = now;
    let reason = what;
    if (outcome === 'success') status = 'succeeded';
    else if (outcome === 'retry' && tryNumber < maxTries) {
      status = 'pending';
      const hinted = retryAfterMs(res.retryAfter, now, this.o.policy.maxMs);
      nextAt = now + (hinted ?? retryDelay(tryNumber, this.o.policy));
      reason = `${what}; retry ${tryNumber} of ${hook.retries} in ${nextAt - now} ms`;
    } else if (outcome === 'retry') reason = hook.retries === 0 ? `${what}; retries are off` : `${what}; retries exhausted`;
    else if (outcome === 'gone') reason = `${what}; the receiver is gone, webhook disabled`;
    else reason = `${what}; not retried`;

    await this.record(
      {
        delivery_id: d.id,
        webhook_id: hook.id,
        account_id: hook.account_id,
        event_id: d.event_id,
        hook_event: d.hook_event,
        call_id: d.call_id,
        uri: hook.uri,
        method,
        status_code: res.status ?? null,
        response_body: res.body,
        duration_ms: res.durationMs,
        try_number: tryNumber,
        retries_left: status === 'pending' ? maxTries - tryNumber : 0,
        result: outcome === 'success' ? 'success' : 'failure',
        reason,
        created: now,
      },
      { id: d.id, status, tries: tryNumber, next_at: nextAt, last_error: outcome === 'success' ? null : reason },
    );
    if (outcome === 'gone') {
      await this.disable(hook, 'receiver answered 410 Gone', now, false);
    } else if (outcome !== 'success' && this.o.disableAfter > 0) {
      // failures are counted within the window and since the webhook's last edit or re-enable
      const failures = await this.o.store.failuresSince(hook.id, Math.max(now - this.o.disableWindowMs, hook.updated));
      if (failures >= this.o.disableAfter) {
        await this.disable(hook, `${failures} failed tries within ${Math.round(this.o.disableWindowMs / 1000)} s`, now, true);
      }
    }
    if (status === 'failed') {
      this.o.logger.warn({ webhook_id: hook.id, delivery_id: d.id, reason }, 'delivery failed');
    } else {
      this.o.logger.debug({ webhook_id: hook.id, delivery_id: d.id, reason }, 'delivery try');
    }
  }
}
