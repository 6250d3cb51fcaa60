/**
 * The order in which a claim serves the webhooks, and what it takes of each: each claim starts
 * at the next webhook, so one busy webhook does not starve the rest.
 */
import { claimPlan, type ClaimableHook } from '../hooks/health.js';

export interface HookClaim {
  hook: ClaimableHook;
  /** take one delivery first as a probe of the failing primary */
  probe: boolean;
  /** how many more to take, and where they go */
  rest: number;
  target: 'primary' | 'failover';
}

/**
 * Yields each webhook with what the claim may take of it: its free slots (at most what the claim
 * still has room for), split as claimPlan says between a probe and the rest.
 */
export function* claimsInTurn(
  hooks: ClaimableHook[],
  round: number,
  now: number,
  room: () => number,
  slots?: (hook: ClaimableHook) => number,
): Generator<HookClaim> {
  // the store takes each webhook's share before the next is asked
  for (let i = 0; i < hooks.length && room() > 0; i++) {
    const hook = hooks[(round + i) % hooks.length]!;
    const plan = claimPlan(hook, now);
    if (!plan.probe && plan.rest === 'none') continue;
    const n = Math.min(room(), slots ? slots(hook) : room());
    if (n <= 0) continue;
    const probe = plan.probe;
    yield { hook, probe, rest: plan.rest === 'none' ? 0 : n - (probe ? 1 : 0), target: plan.rest === 'failover' ? 'failover' : 'primary' };
  }
}

/** the columns of a claimable webhook, as both stores select them */
export const CLAIMABLE_COLUMNS = 'id, account_id, health AS state, next_probe, failover_uri IS NOT NULL AS has_failover, failover_down';

export function toClaimable(r: Record<string, unknown>): ClaimableHook {
  return {
    id: r.id as string,
    account_id: r.account_id as string,
    state: r.state as ClaimableHook['state'],
    next_probe: (r.next_probe as number | null) ?? null,
    has_failover: Boolean(r.has_failover),
    failover_down: Boolean(r.failover_down),
  };
}
