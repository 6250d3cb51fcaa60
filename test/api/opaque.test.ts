import { describe, expect, it } from 'vitest';
import { OpaqueIds } from '../../src/api/opaque.js';

describe('OpaqueIds', () => {
  const ids = new OpaqueIds('admin-token-for-tests-0123456789');
  it('round-trips within an account, reads as random, is refused by another account', () => {
    const a = ids.encode('acme', 41);
    const b = ids.encode('acme', 42);
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(ids.decode('acme', a)).toBe(41);
    expect(ids.decode('acme', b)).toBe(42);
    expect(ids.encode('acme', 41)).toBe(a);
    // neighbouring numbers share no visible prefix, and another account cannot use the key
    expect(a.slice(0, 4)).not.toBe(b.slice(0, 4));
    expect(ids.decode('globex', a)).toBeUndefined();
    expect(ids.encode('globex', 41)).not.toBe(a);
  });
  it('refuses what it did not make', () => {
    for (const bad of ['', '42', 'x'.repeat(22), '!'.repeat(22), ids.encode('acme', 1).slice(0, 21)]) expect(ids.decode('acme', bad)).toBeUndefined();
    expect(new OpaqueIds('another-secret-0123456789abcdef').decode('acme', ids.encode('acme', 7))).toBeUndefined();
  });
});
