/** Pure retry rules: which outcomes are retried and how long to wait. */

export interface RetryPolicy {
  /** delay before the first retry */
  baseMs: number;
  /** no delay is longer than this */
  maxMs: number;
  /** spread of the random jitter, 0..1 (0.2 = ±10 %) */
  jitter: number;
}

/**
 * Delay before retry number `retry` (1 = the first retry): base·2^(retry-1), capped, with
 * jitter so that many failed deliveries do not come back at the same instant.
 */
export function retryDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(retry));
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n - 1, 40));
  const spread = exp * policy.jitter;
  return Math.max(0, Math.min(policy.maxMs, Math.round(exp - spread / 2 + random() * spread)));
}

/** Retry-After as milliseconds from `now` (delta-seconds or an HTTP date), clamped to [0, maxMs]. */
export function retryAfterMs(header: string | undefined, now: number, maxMs: number): number | undefined {
  if (!header) return undefined;
  const text = header.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.max(0, Math.min(maxMs, ms));
}

export type Outcome = 'success' | 'retry' | 'fail' | 'gone';

/** 2xx succeeds; transport errors, 408, 429 and 5xx are retried; 410 disables the hook; other codes fail. */
export function classify(status: number | undefined): Outcome {
  if (status === undefined) return 'retry';
  if (status >= 200 && status < 300) return 'success';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  if (status === 410) return 'gone';
  return 'fail';
}
