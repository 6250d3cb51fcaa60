import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, testApi, type TestApi } from '../helpers/api.js';

let api: TestApi;
beforeEach(async () => {
  api = await testApi();
});
afterEach(async () => api.close());

describe('accounts', () => {
  it('admin creates an account; its token is shown once and works', async () => {
    const r = await api.call('POST', '/api/v1/accounts', ADMIN, {
      data: { id: 'acme', name: 'Acme', realm: 'acme.example', numbers: ['+1 555 0001'], accountcodes: ['acme'] },
    });
    expect(r.status).toBe(201);
    expect(r.json.data).toMatchObject({ id: 'acme', realm: 'acme.example', numbers: ['+1 555 0001'] });
    const token = r.json.data.auth_token as string;
    const read = await api.call('GET', '/api/v1/accounts/acme', token);
    expect(read.status).toBe(200);
    expect(read.json.data).not.toHaveProperty('auth_token');
    expect(JSON.stringify(await api.store.listTokens('acme'))).not.toContain(token);
  });

  it('only the admin creates, lists, edits and deletes accounts', async () => {
    const acme = await api.account('acme');
    expect((await api.call('POST', '/api/v1/accounts', acme, { data: { name: 'x' } })).status).toBe(403);
    expect((await api.call('GET', '/api/v1/accounts', acme)).status).toBe(403);
    expect((await api.call('POST', '/api/v1/accounts/acme', acme, { data: { name: 'y' } })).status).toBe(403);
    expect((await api.call('DELETE', '/api/v1/accounts/acme', acme)).status).toBe(403);
    const edited = await api.call('PATCH', '/api/v1/accounts/acme', ADMIN, { data: { numbers: ['15550009'] } });
    expect(edited.json.data).toMatchObject({ name: 'acme', numbers: ['15550009'] });
    expect((await api.call('DELETE', '/api/v1/accounts/acme', ADMIN)).status).toBe(200);
    expect((await api.call('GET', '/api/v1/accounts/acme', acme)).status).toBe(401);
  });

  it('refuses a duplicate id, a DID or accountcode of another account, and bad fields', async () => {
    await api.account('acme', { numbers: ['15550001'], accountcodes: ['ac'] });
    expect((await api.call('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'again' } })).status).toBe(409);
    const did = await api.call('POST', '/api/v1/accounts', ADMIN, { data: { name: 'b', numbers: ['+1-555-0001'] } });
    expect(did.status).toBe(400);
    expect(did.json.data.numbers).toHaveProperty('unique');
    expect((await api.call('POST', '/api/v1/accounts', ADMIN, { data: { name: 'b', accountcodes: ['ac'] } })).json.data.accountcodes).toHaveProperty('unique');
    const bad = await api.call('POST', '/api/v1/accounts', ADMIN, { data: { id: 'has space', realm: 'a b', numbers: 'x', parent_id: 'ghost' } });
    expect(bad.status).toBe(400);
    // the schema's errors come first, each field named; what needs the stored accounts is checked after
    expect(Object.keys(bad.json.data).sort()).toEqual(['id', 'name', 'numbers', 'realm']);
    const ghost = await api.call('POST', '/api/v1/accounts', ADMIN, { data: { name: 'b', parent_id: 'ghost' } });
    expect(ghost.json.data).toEqual({ parent_id: { exists: { message: 'Value must be the id of another existing account' } } });
  });

  it('a parent account token manages its sub-accounts, not the other way round', async () => {
    const parent = await api.account('reseller');
    const child = await api.account('shop', { parent_id: 'reseller' });
    expect((await api.call('GET', '/api/v1/accounts/shop/webhooks', parent)).status).toBe(200);
    expect((await api.call('GET', '/api/v1/accounts/reseller/webhooks', child)).status).toBe(403);
  });

  it('issues, lists and revokes tokens', async () => {
    const first = await api.account('acme');
    const made = await api.call('POST', '/api/v1/accounts/acme/tokens', first);
    expect(made.status).toBe(201);
    const second = made.json.data.auth_token as string;
    expect((await api.call('GET', '/api/v1/accounts/acme/tokens', second)).json.data).toHaveLength(2);
    expect((await api.call('DELETE', `/api/v1/accounts/acme/tokens/${made.json.data.id}`, first)).status).toBe(200);
    expect((await api.call('GET', '/api/v1/accounts/acme', second)).status).toBe(401);
    expect((await api.call('DELETE', '/api/v1/accounts/acme/tokens/none', first)).status).toBe(404);
  });
});

describe('failed authentication', () => {
  it('is rate-limited per client address: 429 with Retry-After, logged without the token', async () => {
    const lines: string[] = [];
    const { buildApp } = await import('../../src/api/app.js');
    const { SqliteStore } = await import('../../src/store/sqlite/store.js');
    const { AccountDirectory } = await import('../../src/calls/account.js');
    const { pino } = await import('pino');
    const store = new SqliteStore(':memory:');
    const app = await buildApp({
      store,
      accounts: new AccountDirectory(),
      adminToken: 'admin-token-for-tests-0123456789',
      logger: pino({ level: 'info' }, { write: (l: string) => lines.push(l) }),
      limits: { maxConnections: 100, headersTimeoutMs: 1000, requestTimeoutMs: 1000, keepAliveTimeoutMs: 1000, authFailuresPerMinute: 20 },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) {
      const r = await app.inject({ method: 'GET', url: '/api/v1/accounts', headers: { 'x-auth-token': `wrong-token-${i}` }, remoteAddress: '203.0.113.7' });
      statuses.push(r.statusCode);
      if (i === 199) {
        expect(r.headers['retry-after']).toMatch(/^\d+$/);
        expect(r.json()).toMatchObject({ error: '429', status: 'error' });
      }
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    // another address is not held up, and the right token still works from it
    const other = await app.inject({
      method: 'GET',
      url: '/api/v1/accounts',
      headers: { 'x-auth-token': 'admin-token-for-tests-0123456789' },
      remoteAddress: '198.51.100.1',
    });
    expect(other.statusCode).toBe(200);
    const logged = lines.join('');
    expect(logged).toContain('failed authentication');
    expect(logged).toContain('this address is blocked for a minute');
    expect(logged).not.toContain('wrong-token');
    await app.close();
    await store.close();
  });
});
