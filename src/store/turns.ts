/**
 * The order in which a claim serves the webhooks: each claim starts at the next one, so one
 * busy webhook does not starve the rest. Yields each webhook with how many deliveries it may
 * still get (its free slots, at most what the claim still has room for).
 */
export function* webhooksInTurn(
  hooks: string[],
  round: number,
  room: () => number,
  slots?: (webhookId: string) => number,
): Generator<[string, number]> {
  for (let i = 0; i < hooks.length && room() > 0; i++) {
    const hook = hooks[(round + i) % hooks.length]!;
    const n = Math.min(room(), slots ? slots(hook) : room());
    if (n > 0) yield [hook, n];
  }
}
