import { describe, expect, it } from 'vitest';
import { classify, retryAfterMs, retryDelay } from '../../src/delivery/retry.js';

const policy = { baseMs: 1000, maxMs: 60000, jitter: 0.2 };

describe('retryDelay', () => {
  it('doubles from the base without jitter at the midpoint', () => {
    expect([1, 2, 3, 4].map((n) => retryDelay(n, policy, () => 0.5))).toEqual([1000, 2000, 4000, 8000]);
  });
  it('spreads by the jitter fraction around the value', () => {
    expect(retryDelay(2, policy, () => 0)).toBe(1800);
    expect(retryDelay(2, policy, () => 0.999999)).toBe(2200);
  });
  it('never exceeds the cap, even for huge retry numbers', () => {
    expect(retryDelay(10, policy, () => 1)).toBe(60000);
    expect(retryDelay(10_000, policy, () => 0.5)).toBe(60000);
  });
  it('treats nonsense retry numbers as the first retry', () => {
    expect(retryDelay(0, policy, () => 0.5)).toBe(1000);
    expect(retryDelay(-3, policy, () => 0.5)).toBe(1000);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-11-24T12:00:00Z');
  it('reads delta seconds and HTTP dates', () => {
    expect(retryAfterMs('3', now, 60000)).toBe(3000);
    expect(retryAfterMs('Tue, 24 Nov 2026 12:00:10 GMT', now, 60000)).toBe(10000);
  });
  it('clamps to [0, max] and ignores garbage', () => {
    expect(retryAfterMs('86400', now, 60000)).toBe(60000);
    expect(retryAfterMs('Tue, 24 Nov 2026 11:00:00 GMT', now, 60000)).toBe(0);
    expect(retryAfterMs('soon', now, 60000)).toBeUndefined();
    expect(retryAfterMs(undefined, now, 60000)).toBeUndefined();
  });
});

describe('classify', () => {
  it.each([
    [200, 'success'],
    [204, 'success'],
    [undefined, 'retry'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
    [301, 'fail'],
    [400, 'fail'],
    [404, 'fail'],
    [410, 'gone'],
  ] as const)('%s → %s', (status, outcome) => {
    expect(classify(status)).toBe(outcome);
  });
});
