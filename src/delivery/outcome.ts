/**
 * The dispatcher's decisions, as one pure function: a try's result, the webhook's health and
 * the delivery's state in; the delivery's next state, the attempt's reason and the health
 * transition out. The dispatcher only does the I/O around it.
 */
import type { Target, WebhookHealth } from '../hooks/health.js';
import { HEALTHY } from '../hooks/health.js';
import { classify, retryAfterMs, retryDelay, type RetryPolicy } from './retry.js';

export interface HealthRules {
  /** failed tries in a row that make a webhook failing */
  failingAfter: number;
  /** first probe interval; doubles while probes fail */
  probeBaseMs: number;
  /** longest probe interval */
  probeMaxMs: number;
  /** a webhook failing this long without one success is disabled */
  disableAfterMs: number;
  retry: RetryPolicy;
}

export interface TryResult {
  status: number | undefined;
  error: string | undefined;
  retryAfter: string | undefined;
}

export interface TryContext {
  now: number;
  target: Target;
  /** tries of the delivery counted before this one (a try while the webhook fails is not counted) */
  tries: number;
  /** the webhook's `retries` */
  retries: number;
  health: WebhookHealth;
  /** failed tries in a row of the webhook's primary URI, before this one */
  streak: number;
  /** the webhook has a failover_uri */
  failover: boolean;
}

export type Transition = 'failing' | 'recovered' | 'disabled';

export interface Decision {
  delivery: { status: 'pending' | 'succeeded' | 'failed'; tries: number; next_at: number; last_error: string | null };
  attempt: { result: 'success' | 'failure'; reason: string; try_number: number; retries_left: number };
  streak: number;
  /** the webhook's new health, when it changed */
  health?: WebhookHealth;
  transition?: Transition;
  /** disable the webhook: `collect` keeps its events queueing (a long failure, not 410) */
  disable?: { reason: string; collect: boolean };
}

const iso = (ms: number | null) => (ms === null ? 'unknown' : new Date(ms).toISOString());

/** ±10 % around `ms` */
function jittered(ms: number, random: () => number): number {
  return Math.round(ms * (0.9 + random() * 0.2));
}

export function describeResult(r: TryResult): string {
  return r.status !== undefined ? `HTTP ${r.status}` : (r.error ?? 'request failed');
}

/**
 * Decides what one try means.
 * - Any answer but a retried one (2xx, 4xx) from the primary or a probe shows the receiver is up:
 *   the streak ends and a failing webhook recovers. 410 disables the webhook.
 * - A retried failure (transport error, timeout, 408, 429, 5xx) of a healthy webhook adds to the
 *   streak. The webhook becomes failing at `failingAfter` in a row, or sooner when the delivery
 *   would exhaust its retries and every try of the webhook since its first one failed (the
 *   receiver, not the payload, is at fault). Otherwise the delivery is retried (`retries`,
 *   exponential backoff, Retry-After honoured, never sooner than the base delay) or failed.
 * - While failing, no try uses up a retry: a failed probe moves the next probe further out (and
 *   disables the webhook after `disableAfterMs` of failing), its delivery waiting for the next
 *   probe or, with a failover, going there; a failed failover try pauses the
 *   failover until the next probe; a try that was in flight when the webhook started failing
 *   waits for the next probe.
 */
export function decide(r: TryResult, c: TryContext, rules: HealthRules, random: () => number = Math.random): Decision {
  const outcome = classify(r.status);
  const what = describeResult(r);
  const tryNumber = c.tries + 1;
  const maxTries = 1 + c.retries;
  const since = iso(c.health.failing_since);
  const hold = (reason: string, nextAt: number, health?: WebhookHealth, extra: Partial<Decision> = {}): Decision => ({
    delivery: { status: 'pending', tries: c.tries, next_at: nextAt, last_error: reason },
    attempt: { result: 'failure', reason, try_number: tryNumber, retries_left: Math.max(0, c.retries - c.tries) },
    streak: c.streak,
    ...(health && { health }),
    ...extra,
  });
  const finished = (status: 'succeeded' | 'failed', reason: string, streak: number, extra: Partial<Decision> = {}): Decision => ({
    delivery: { status, tries: tryNumber, next_at: c.now, last_error: status === 'succeeded' ? null : reason },
    attempt: { result: status === 'succeeded' ? 'success' : 'failure', reason, try_number: tryNumber, retries_left: 0 },
    streak,
    ...extra,
  });

  if (c.target === 'failover') {
    if (outcome === 'success') {
      const health = c.health.failover_down ? { ...c.health, failover_down: false } : undefined;
      return finished('succeeded', `failover: ${what}; the webhook is failing since ${since}`, c.streak, health && { health });
    }
    if (outcome === 'retry') {
      const next = c.health.next_probe ?? c.now + rules.probeBaseMs;
      const reason = `failover: ${what}; the webhook is failing since ${since}; the failover waits for the next probe (no retry used)`;
      return hold(reason, Math.max(next, c.now), c.health.failover_down ? undefined : { ...c.health, failover_down: true });
    }
    return finished('failed', `failover: ${what}; not retried`, c.streak);
  }

  const probe = c.target === 'probe';
  const tag = probe ? `probe: ${what}` : what;
  if (outcome !== 'retry') {
    // the receiver answered: it is up
    const recovered = c.health.state === 'failing' ? { health: { ...HEALTHY, last_error: c.health.last_error }, transition: 'recovered' as const } : {};
    if (outcome === 'success') {
      return finished('succeeded', probe ? `${tag}; the webhook is healthy again (failing since ${since})` : what, 0, recovered);
    }
    if (outcome === 'gone') {
      return finished('failed', `${tag}; the receiver is gone, webhook disabled`, 0, {
        health: { ...HEALTHY, last_error: what },
        transition: 'disabled',
        disable: { reason: 'receiver answered 410 Gone', collect: false },
      });
    }
    const health = { ...(recovered.health ?? c.health), last_error: what };
    return finished('failed', `${tag}; not retried`, 0, { health, ...(recovered.transition && { transition: recovered.transition }) });
  }

  const streak = c.streak + 1;
  const hinted = retryAfterMs(r.retryAfter, c.now, rules.retry.maxMs);
  if (c.health.state === 'failing') {
    if (!probe) {
      // sent before the webhook started failing: it waits for the probes like the rest
      const next = Math.max(c.health.next_probe ?? c.now, c.now);
      return hold(
        `${what}; the webhook is failing since ${since}; waits for it to recover (no retry used)`,
        next,
        { ...c.health, last_error: what },
        { streak },
      );
    }
    const delay = Math.min(rules.probeMaxMs, Math.max(rules.probeBaseMs, c.health.probe_delay * 2));
    const nextProbe = c.now + Math.max(jittered(delay, random), hinted ?? 0);
    const failingFor = c.now - (c.health.failing_since ?? c.now);
    const health: WebhookHealth = { ...c.health, last_error: what, next_probe: nextProbe, probe_delay: delay, failover_down: false };
    if (failingFor >= rules.disableAfterMs) {
      const hours = Math.round(failingFor / 360_000) / 10;
      const reason = `failing without a success for ${hours} h (since ${since})`;
      return hold(`${tag}; webhook failing since ${since}; disabled after ${hours} h without a success`, nextProbe, health, {
        streak,
        transition: 'disabled',
        disable: { reason, collect: true },
      });
    }
    // with a failover the probed delivery goes there now rather than hold up its leg until the next probe
    const nextAt = c.failover ? c.now : nextProbe;
    const via = c.failover ? '; sent to the failover meanwhile' : '';
    return hold(`${tag}; webhook failing since ${since}; next probe in ${nextProbe - c.now} ms${via} (no retry used)`, nextAt, health, { streak });
  }

  const receiverDown = streak >= rules.failingAfter || (tryNumber >= maxTries && tryNumber >= 2 && streak >= tryNumber);
  if (receiverDown) {
    const nextProbe = c.now + Math.max(jittered(rules.probeBaseMs, random), hinted ?? 0);
    const health: WebhookHealth = {
      state: 'failing',
      failing_since: c.now,
      last_error: what,
      next_probe: nextProbe,
      probe_delay: rules.probeBaseMs,
      failover_down: false,
    };
    const reason = `${what}; ${streak} failed tries in a row: the webhook is failing, next probe in ${nextProbe - c.now} ms (no retry used)`;
    return hold(reason, nextProbe, health, { streak, transition: 'failing' });
  }
  const health = { ...c.health, last_error: what };
  if (tryNumber < maxTries) {
    const delay = Math.max(rules.retry.baseMs, hinted ?? retryDelay(tryNumber, rules.retry, random));
    const reason = `${what}; retry ${tryNumber} of ${c.retries} in ${delay} ms`;
    return {
      delivery: { status: 'pending', tries: tryNumber, next_at: c.now + delay, last_error: reason },
      attempt: { result: 'failure', reason, try_number: tryNumber, retries_left: maxTries - tryNumber },
      streak,
      health,
    };
  }
  return finished('failed', c.retries === 0 ? `${what}; retries are off` : `${what}; retries exhausted`, streak, { health });
}
