import { describe, expect, it } from 'vitest';
import { TargetGuard } from '../../src/delivery/guard.js';

describe('TargetGuard', () => {
  const guard = new TargetGuard([]);
  it.each(['127.0.0.1', '127.9.9.9', '0.0.0.0', '169.254.169.254', '::1', '::', 'fe80::1', '::ffff:127.0.0.1'])('refuses %s', (ip) => {
    expect(guard.check(ip)).toMatch(/not allowed/);
  });
  it.each(['10.0.0.5', '192.168.1.20', '203.0.113.7', '2001:db8::1'])('allows %s', (ip) => {
    expect(guard.check(ip)).toBeUndefined();
  });
  it('lets the allow list through', () => {
    const g = new TargetGuard(['127.0.0.0/8', '::1']);
    expect(g.check('127.0.0.1')).toBeUndefined();
    expect(g.check('::1')).toBeUndefined();
    expect(g.check('169.254.169.254')).toMatch(/not allowed/);
  });
  it('refuses a name that resolves to loopback', async () => {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => guard.lookup('localhost', {}, (e) => resolve(e)));
    expect(err?.code).toBe('ETARGETBLOCKED');
  });
});
