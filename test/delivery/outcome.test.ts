/** decide(): every try's meaning, table by table, and whole outages on a fake clock. */
import { describe, expect, it } from 'vitest';
import { decide, type HealthRules, type TryContext, type TryResult } from '../../src/delivery/outcome.js';
import { claimPlan, HEALTHY, type WebhookHealth } from '../../src/hooks/health.js';
import { accountRoom } from '../../src/delivery/fair.js';

const rules: HealthRules = {
  failingAfter: 5,
  probeBaseMs: 5000,
  probeMaxMs: 30_000,
  disableAfterMs: 72 * 3_600_000,
  retry: { baseMs: 2000, maxMs: 600_000, jitter: 0.2 },
};
const half = () => 0.5; // no jitter
const ok: TryResult = { status: 200, error: undefined, retryAfter: undefined };
const down: TryResult = { status: 503, error: undefined, retryAfter: undefined };
const refused: TryResult = { status: undefined, error: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9', retryAfter: undefined };
const T0 = Date.UTC(2026, 11, 2, 12, 0, 0);
const failingSince = (since: number, extra: Partial<WebhookHealth> = {}): WebhookHealth => ({
  state: 'failing',
  failing_since: since,
  last_error: 'HTTP 503',
  next_probe: since + 5000,
  probe_delay: 5000,
  failover_down: false,
  ...extra,
});
const ctx = (c: Partial<TryContext> = {}): TryContext => ({
  now: T0,
  target: 'primary',
  tries: 0,
  retries: 2,
  health: { ...HEALTHY },
  streak: 0,
  failover: false,
  ...c,
});

describe('decide: a healthy webhook', () => {
  it.each([
    // result, tries before, streak before → delivery status, tries after, next_at - now, streak after
    ['200', ok, 0, 3, 'succeeded', 1, 0, 0],
    ['503, first try', down, 0, 0, 'pending', 1, 2000, 1],
    ['503, second try', down, 1, 0, 'pending', 2, 4000, 1],
    ['503, retries exhausted while others succeed', down, 2, 0, 'failed', 3, 0, 1],
    ['404 (not retried)', { ...down, status: 404 }, 0, 2, 'failed', 1, 0, 0],
  ] as const)('%s', (_name, r, tries, streak, status, triesAfter, delay, streakAfter) => {
    const d = decide(r, ctx({ tries, streak }), rules, half);
    expect(d.delivery).toMatchObject({ status, tries: triesAfter });
    expect(d.delivery.next_at - T0).toBe(delay);
    expect(d.streak).toBe(streakAfter);
    expect(d.transition).toBeUndefined();
  });

  it('honours Retry-After, never sooner than the base delay', () => {
    expect(decide({ ...down, retryAfter: '30' }, ctx(), rules, half).delivery.next_at - T0).toBe(30_000);
    expect(decide({ ...down, retryAfter: '0' }, ctx(), rules, half).delivery.next_at - T0).toBe(2000);
    expect(decide({ ...down, status: 429, retryAfter: new Date(T0 + 10_000).toUTCString() }, ctx(), rules, half).delivery.next_at - T0).toBe(10_000);
  });

  it('becomes failing at the fifth failure in a row: the delivery waits for the probes and keeps its retries', () => {
    const d = decide(refused, ctx({ tries: 0, streak: 4 }), rules, half);
    expect(d.transition).toBe('failing');
    expect(d.health).toMatchObject({ state: 'failing', failing_since: T0, next_probe: T0 + 5000, probe_delay: 5000 });
    expect(d.delivery).toMatchObject({ status: 'pending', tries: 0, next_at: T0 + 5000 });
    expect(d.attempt.reason).toMatch(/^ECONNREFUSED.*5 failed tries in a row: the webhook is failing, next probe in 5000 ms/);
  });

  it('becomes failing instead of failing a delivery when every try since its first one failed', () => {
    // one call leg, the receiver down: its third try would exhaust retries 2
    const d = decide(down, ctx({ tries: 2, streak: 2 }), rules, half);
    expect(d.transition).toBe('failing');
    expect(d.delivery).toMatchObject({ status: 'pending', tries: 2 });
    // with retries 0 only the streak counts: one bad payload fails alone
    expect(decide(down, ctx({ retries: 0, streak: 0 }), rules, half).delivery.status).toBe('failed');
  });

  it('410 disables the webhook at once and collects nothing more', () => {
    const d = decide({ ...down, status: 410 }, ctx(), rules, half);
    expect(d.delivery.status).toBe('failed');
    expect(d.disable).toEqual({ reason: 'receiver answered 410 Gone', collect: false });
    expect(d.transition).toBe('disabled');
  });
});

describe('decide: a failing webhook', () => {
  it('a failed probe doubles the interval up to the cap, uses no retry, and says so', () => {
    let health = failingSince(T0);
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const now = health.next_probe!;
      const d = decide(down, ctx({ now, target: 'probe', tries: 1, health, streak: 5 + i }), rules, half);
      expect(d.delivery).toMatchObject({ status: 'pending', tries: 1 });
      expect(d.attempt.reason).toContain(`probe: HTTP 503; webhook failing since ${new Date(T0).toISOString()}`);
      expect(d.attempt.reason).toContain('no retry used');
      delays.push(d.health!.next_probe! - now);
      health = d.health!;
    }
    expect(delays).toEqual([10_000, 20_000, 30_000, 30_000, 30_000]);
  });

  it('probes are jittered, and a Retry-After pushes the next probe out', () => {
    const health = failingSince(T0, { probe_delay: 30_000 });
    expect(decide(down, ctx({ now: T0, target: 'probe', health }), rules, () => 0).health!.next_probe! - T0).toBe(27_000);
    expect(decide(down, ctx({ now: T0, target: 'probe', health }), rules, () => 1).health!.next_probe! - T0).toBe(33_000);
    expect(decide({ ...down, retryAfter: '120' }, ctx({ now: T0, target: 'probe', health }), rules, half).health!.next_probe! - T0).toBe(120_000);
  });

  it('a successful probe makes it healthy again', () => {
    const d = decide(ok, ctx({ now: T0 + 60_000, target: 'probe', health: failingSince(T0), streak: 9 }), rules, half);
    expect(d.transition).toBe('recovered');
    expect(d.health).toMatchObject({ state: 'healthy', failing_since: null, next_probe: null });
    expect(d.delivery.status).toBe('succeeded');
    expect(d.streak).toBe(0);
  });

  it('a try that was in flight when the webhook started failing waits for the probes', () => {
    const d = decide(down, ctx({ tries: 0, health: failingSince(T0) }), rules, half);
    expect(d.delivery).toMatchObject({ status: 'pending', tries: 0, next_at: T0 + 5000 });
    expect(d.transition).toBeUndefined();
  });

  it('failover: success delivers, a failure pauses the failover until the next probe', () => {
    const health = failingSince(T0);
    expect(decide(ok, ctx({ target: 'failover', health }), rules, half)).toMatchObject({ delivery: { status: 'succeeded' }, streak: 0 });
    const d = decide(refused, ctx({ target: 'failover', health }), rules, half);
    expect(d.delivery).toMatchObject({ status: 'pending', tries: 0, next_at: T0 + 5000 });
    expect(d.health!.failover_down).toBe(true);
    expect(d.attempt.reason).toMatch(/^failover: ECONNREFUSED/);
    // a failed probe gives the failover another chance, and its delivery goes there now
    const probe = decide(down, ctx({ target: 'probe', health: d.health!, failover: true }), rules, half);
    expect(probe.health!.failover_down).toBe(false);
    expect(probe.delivery).toMatchObject({ status: 'pending', tries: 0, next_at: T0 });
  });
});

/** a whole outage on a fake clock: one probe at each next_probe, as the claim does */
function outage(downForMs: number): { health: WebhookHealth; probes: number; disabledAt?: number; recoveredAt?: number } {
  let health: WebhookHealth = { ...HEALTHY };
  let streak = 0;
  let probes = 0;
  // the five failed tries that open the circuit
  for (let i = 0; i < 5; i++) {
    const d = decide(down, ctx({ now: T0 + i, tries: 0, health, streak }), rules, half);
    streak = d.streak;
    health = d.health ?? health;
  }
  expect(health.state).toBe('failing');
  for (;;) {
    const now = health.next_probe!;
    const d = decide(now - T0 < downForMs ? down : ok, ctx({ now, target: 'probe', tries: 0, health, streak }), rules, half);
    probes += 1;
    streak = d.streak;
    if (d.disable) return { health, probes, disabledAt: now };
    health = d.health ?? health;
    if (d.transition === 'recovered') return { health, probes, recoveredAt: now };
  }
}

describe('decide: outages on a fake clock', () => {
  it('a 10-minute outage: probes every 30 s at most, the first after it ends recovers within 33 s', () => {
    const r = outage(10 * 60_000);
    expect(r.disabledAt).toBeUndefined();
    expect(r.recoveredAt! - (T0 + 10 * 60_000)).toBeLessThanOrEqual(33_000);
    expect(r.probes).toBeLessThan(30);
  });

  it('down for good: disabled after 72 h of failing, not before', () => {
    const r = outage(Number.POSITIVE_INFINITY);
    expect(r.disabledAt! - T0).toBeGreaterThanOrEqual(72 * 3_600_000);
    expect(r.disabledAt! - T0).toBeLessThan(72 * 3_600_000 + 33_000);
    // about one probe per 30 s for three days
    expect(r.probes).toBeGreaterThan(8000);
    expect(r.probes).toBeLessThan(8700);
  });
});

describe('claimPlan', () => {
  const hook = { id: 'h', account_id: 'a', state: 'failing' as const, next_probe: T0, has_failover: false, failover_down: false };
  it.each([
    ['healthy', { state: 'healthy' as const }, { probe: false, rest: 'primary' }],
    ['failing, probe due', {}, { probe: true, rest: 'none' }],
    ['failing, probe not due', { next_probe: T0 + 1 }, { probe: false, rest: 'none' }],
    ['failing with failover', { next_probe: T0 + 1, has_failover: true }, { probe: false, rest: 'failover' }],
    ['failing, failover down', { next_probe: T0 + 1, has_failover: true, failover_down: true }, { probe: false, rest: 'none' }],
    ['failing, failover down, probe due', { has_failover: true, failover_down: true }, { probe: true, rest: 'failover' }],
  ])('%s', (_n, h, plan) => {
    expect(claimPlan({ ...hook, ...h }, T0)).toEqual(plan);
  });
});

describe('accountRoom', () => {
  const s = { concurrency: 64, reserve: 8 };
  it.each([
    ['alone: all but the reserve', {}, 'a', 56],
    ['alone, 56 in flight', { a: 56 }, 'a', 0],
    ['a newcomer while one account holds 56', { a: 56 }, 'b', 8],
    ['two accounts: half each', { a: 10, b: 3 }, 'b', 29],
    ['over its share while another is active', { a: 40, b: 1 }, 'a', 0],
    ['three accounts', { a: 5, b: 5 }, 'c', 22],
  ])('%s', (_n, inflight, account, room) => {
    expect(accountRoom(new Map(Object.entries(inflight)), account, s)).toBe(room);
  });
});
