/**
 * Counts events per key in fixed windows (pure but for the clock it is given): failed
 * authentications per client address, test sends per webhook.
 */
export class WindowLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    /** keys kept at most (the oldest windows are dropped first) */
    private readonly maxKeys = 100_000,
  ) {}

  /** ms until `key` may go on, or 0 when it is under its limit */
  blockedFor(key: string, now: number): number {
    const w = this.windows.get(key);
    if (!w || w.resetAt <= now) return 0;
    return w.count >= this.limit ? w.resetAt - now : 0;
  }

  /** counts one event of `key`; true when that used up its limit */
  hit(key: string, now: number): boolean {
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      this.windows.delete(key);
      if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
      w = { count: 0, resetAt: now + this.windowMs };
      this.windows.set(key, w);
    }
    w.count += 1;
    return w.count === this.limit;
  }
}
