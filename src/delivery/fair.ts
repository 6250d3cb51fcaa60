/**
 * Fair shares of the delivery slots between accounts (pure). An account may hold at most an
 * equal share of the slots among the accounts that have requests in flight (itself included),
 * and never so many that no slot is left for an account that has none in flight yet: one
 * account's slow or numerous receivers cannot take the slots another account's deliveries need.
 */
export interface Shares {
  /** requests in flight, all accounts together */
  concurrency: number;
  /** slots kept free for accounts with nothing in flight */
  reserve: number;
}

/** how many more requests `account` may start, given what each account has in flight */
export function accountRoom(inflight: ReadonlyMap<string, number>, account: string, s: Shares): number {
  let active = 0;
  let total = 0;
  for (const [id, n] of inflight) {
    if (n <= 0) continue;
    total += n;
    if (id !== account) active += 1;
  }
  const mine = inflight.get(account) ?? 0;
  const share = active === 0 ? s.concurrency - s.reserve : Math.ceil(s.concurrency / (active + 1));
  return Math.max(0, Math.min(share - mine, s.concurrency - total));
}

/** the slots kept free for a newcomer: one webhook's worth, at most a quarter of all */
export function reserveFor(concurrency: number, perHook: number): number {
  return Math.min(perHook, Math.floor(concurrency / 4));
}
