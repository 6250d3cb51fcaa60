/**
 * A webhook's health: the state of its circuit breaker, kept with the webhook so that every
 * process sharing a store sees it. `healthy`: its deliveries go out as usual. `failing`: its
 * receiver failed several tries in a row; only one probe (its oldest due delivery) goes to
 * the primary URI at a time, at `next_probe`, and with a `failover_uri` the other deliveries go
 * there meanwhile. `disabled` is not stored here: it is a webhook with `enabled: false`.
 */
export type HealthState = 'healthy' | 'failing';

export interface WebhookHealth {
  state: HealthState;
  /** unix ms of the try that made it failing (null while healthy) */
  failing_since: number | null;
  /** the reason of its last failed try */
  last_error: string | null;
  /** unix ms of the next probe while failing */
  next_probe: number | null;
  /** the probe interval in force (ms; grows while the probes fail) */
  probe_delay: number;
  /** the failover URI failed too: it waits for the next probe round */
  failover_down: boolean;
}

export const HEALTHY: WebhookHealth = Object.freeze({
  state: 'healthy',
  failing_since: null,
  last_error: null,
  next_probe: null,
  probe_delay: 0,
  failover_down: false,
}) as WebhookHealth;

/** What a claim reads of each enabled webhook to know how many of its deliveries may go out. */
export interface ClaimableHook {
  id: string;
  account_id: string;
  state: HealthState;
  next_probe: number | null;
  has_failover: boolean;
  failover_down: boolean;
}

/** Where the deliveries of one claim go: the primary URI, a probe of it, or the failover URI. */
export type Target = 'primary' | 'probe' | 'failover';

export interface ClaimPlan {
  /** one probe is due: the first delivery claimed goes to the primary as a probe */
  probe: boolean;
  /** how the other deliveries go: to the primary, to the failover, or not at all */
  rest: 'primary' | 'failover' | 'none';
}

/**
 * How a claim treats a webhook at `now`. Healthy: everything to the primary. Failing: a probe
 * when it is due (and then the failover gets another chance too), the failover while it works.
 */
export function claimPlan(h: ClaimableHook, now: number): ClaimPlan {
  if (h.state === 'healthy') return { probe: false, rest: 'primary' };
  const probe = h.next_probe === null || h.next_probe <= now;
  const failover = h.has_failover && (!h.failover_down || probe);
  return { probe, rest: failover ? 'failover' : 'none' };
}

/** The health as the API shows it: `disabled` when the webhook is not enabled. */
export function shownState(enabled: boolean, h: WebhookHealth): HealthState | 'disabled' {
  return enabled ? h.state : 'disabled';
}
