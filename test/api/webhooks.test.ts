import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testApi, type TestApi } from '../helpers/api.js';

let api: TestApi;
let acme: string;
let globex: string;
const hooks = '/api/v1/accounts/acme/webhooks';
const sample = { name: 'New Calls', uri: 'http://my.server.com/calls/new.php', http_verb: 'post', hook: 'channel_create', retries: 3 };

beforeEach(async () => {
  api = await testApi();
  acme = await api.account('acme');
  globex = await api.account('globex');
});
afterEach(async () => api.close());

describe('webhook CRUD', () => {
  it('creates, lists, reads, replaces, patches and deletes', async () => {
    const created = await api.call('PUT', hooks, acme, { data: { ...sample, custom_data: { account_id: 'my_crm_account_id', screen_pop: true } } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ status: 'success', data: { ...sample, enabled: true, format: 'form-data' } });
    expect(created.json.request_id).toMatch(/^[0-9a-f]{32}$/);
    expect(created.json.data.secret).toMatch(/^whsec_/);
    const id = created.json.data.id as string;

    const list = await api.call('GET', hooks, acme);
    expect(list.status).toBe(200);
    expect(list.json.data.map((h: { id: string }) => h.id)).toEqual([id]);

    expect((await api.call('GET', `${hooks}/${id}`, acme)).json.data.custom_data).toEqual({ account_id: 'my_crm_account_id', screen_pop: true });

    const replaced = await api.call('POST', `${hooks}/${id}`, acme, { data: { ...sample, uri: 'http://my.server.com/calls/new_call.php' } });
    expect(replaced.status).toBe(200);
    expect(replaced.json.data).toMatchObject({ id, uri: 'http://my.server.com/calls/new_call.php', custom_data: {}, health: 'healthy', pending: 0 });
    // the signing secret is shown on create and by its own GET, not by every read
    expect(replaced.json.data.secret).toBeUndefined();
    expect((await api.call('GET', `${hooks}/${id}/secret`, acme)).json.data).toEqual({ id, secret: created.json.data.secret });

    const patched = await api.call('PATCH', `${hooks}/${id}`, acme, { data: { enabled: false } });
    expect(patched.json.data).toMatchObject({ enabled: false, uri: 'http://my.server.com/calls/new_call.php' });

    const deleted = await api.call('DELETE', `${hooks}/${id}`, acme);
    expect(deleted.status).toBe(200);
    expect((await api.call('GET', `${hooks}/${id}`, acme)).status).toBe(404);
  });

  it('pages the list with page_size and start_key', async () => {
    for (let i = 0; i < 5; i++) await api.call('PUT', hooks, acme, { data: sample });
    const first = await api.call('GET', `${hooks}?page_size=2`, acme);
    expect(first.json.data).toHaveLength(2);
    expect(first.json.next_start_key).toBeDefined();
    const ids = first.json.data.map((h: { id: string }) => h.id);
    let key = first.json.next_start_key as string | undefined;
    while (key) {
      const page = await api.call('GET', `${hooks}?page_size=2&start_key=${key}`, acme);
      ids.push(...page.json.data.map((h: { id: string }) => h.id));
      key = page.json.next_start_key;
    }
    expect(new Set(ids).size).toBe(5);
  });

  it('re-enables every disabled webhook of the account in bulk', async () => {
    const a = (await api.call('PUT', hooks, acme, { data: sample })).json.data.id;
    await api.store.disableWebhook(a, '6 failed tries within 60 s', Date.now());
    expect((await api.call('GET', `${hooks}/${a}`, acme)).json.data).toMatchObject({ enabled: false, disabled_reason: '6 failed tries within 60 s' });
    const r = await api.call('PATCH', hooks, acme, { data: { 're-enable': true } });
    expect(r.json.data).toEqual({ 're-enable': true, enabled: 1 });
    expect((await api.call('GET', `${hooks}/${a}`, acme)).json.data).toMatchObject({ enabled: true, disabled_reason: null });
    expect((await api.call('PATCH', hooks, acme, { data: {} })).status).toBe(400);
  });

  it('lists the available hook types', async () => {
    const r = await api.call('GET', '/api/v1/webhooks', acme);
    expect(r.json.data.map((h: { id: string }) => h.id)).toEqual([
      'channel_create',
      'channel_answer',
      'channel_bridge',
      'channel_transfer',
      'channel_hold',
      'channel_unhold',
      'dtmf',
      'sms',
      'channel_destroy',
      'all',
      'notifications',
      'voice_call',
      'voice_status',
      'voice_dtmf',
      'sms_mo',
    ]);
  });
});

describe('bad input never gives a 500', () => {
  it('invalid JSON → 400 in Kazoo shape', async () => {
    const r = await api.call('PUT', hooks, acme, '{"data": {"uri": ');
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: '400', message: 'invalid json', status: 'error' });
  });

  it('missing uri and hook → 400 naming both', async () => {
    const r = await api.call('PUT', hooks, acme, { data: { name: 'x' } });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({
      data: { uri: { required: { message: 'Field is required but missing' } }, hook: { required: { message: 'Field is required but missing' } } },
      error: '400',
      message: 'invalid data',
      status: 'error',
      request_id: expect.any(String),
    });
  });

  it.each([
    ['unknown hook', { ...sample, hook: 'channel_explode' }, 'hook', 'enum'],
    ['non-http uri', { ...sample, uri: 'file:///etc/passwd' }, 'uri', 'format'],
    ['garbage uri', { ...sample, uri: 'not a url' }, 'uri', 'format'],
    ['uri of wrong type', { ...sample, uri: 42 }, 'uri', 'type'],
    ['retries as text', { ...sample, retries: 'three' }, 'retries', 'type'],
    ['enabled as text', { ...sample, enabled: 'yes' }, 'enabled', 'type'],
    ['custom_data as list', { ...sample, custom_data: ['a'] }, 'custom_data', 'type'],
  ])('%s → 400 naming the field', async (_name, data, field, rule) => {
    const r = await api.call('PUT', hooks, acme, { data });
    expect(r.status).toBe(400);
    expect(r.json.data[field]).toHaveProperty(rule);
  });

  it.each([['null'], ['[]'], ['"text"'], ['{}'], ['{"data": null}'], ['{"data": []}'], ['{"data": "x"}'], ['{"data": {"headers": 5, "uri": {}}}']])(
    'body %s → 400',
    async (body) => {
      for (const [method, url] of [
        ['PUT', hooks],
        ['POST', `${hooks}/nope`],
        ['PATCH', hooks],
      ] as const) {
        const r = await api.call(method, url, acme, body);
        expect([400, 404], `${method} ${url} ${body}`).toContain(r.status);
        expect(r.json.status).toBe('error');
      }
    },
  );

  it('a body over the limit → 413', async () => {
    const r = await api.call('PUT', hooks, acme, { data: { ...sample, name: 'x'.repeat(70000) } });
    expect(r.status).toBe(413);
  });

  it('bad paging parameters → 400', async () => {
    expect((await api.call('GET', `${hooks}?page_size=lots`, acme)).status).toBe(400);
    expect((await api.call('GET', `${hooks}/attempts?created_from=yesterday`, acme)).status).toBe(400);
    expect((await api.call('GET', `${hooks}/attempts?start_key=abc`, acme)).status).toBe(400);
  });

  it('unknown webhook id → 404, unknown route → 404', async () => {
    expect((await api.call('GET', `${hooks}/0123456789abcdef`, acme)).status).toBe(404);
    expect((await api.call('DELETE', `${hooks}/0123456789abcdef`, acme)).status).toBe(404);
    expect((await api.call('GET', '/api/v1/nothing', acme)).json).toMatchObject({ error: '404', status: 'error' });
  });
});

describe('authentication and isolation', () => {
  it('no token or a wrong token → 401', async () => {
    expect((await api.call('GET', hooks)).status).toBe(401);
    expect((await api.call('GET', hooks, 'wrong-token')).status).toBe(401);
    expect((await api.call('GET', '/api/v1/webhooks')).status).toBe(401);
  });

  it('accepts Authorization: Bearer', async () => {
    const res = await api.app.inject({ method: 'GET', url: hooks, headers: { authorization: `Bearer ${acme}` } });
    expect(res.statusCode).toBe(200);
  });

  it("another account's token → 403 and nothing leaks", async () => {
    const id = (await api.call('PUT', hooks, acme, { data: sample })).json.data.id;
    for (const [method, url] of [
      ['GET', hooks],
      ['GET', `${hooks}/${id}`],
      ['DELETE', `${hooks}/${id}`],
      ['GET', `${hooks}/attempts`],
      ['GET', `${hooks}/${id}/attempts`],
      ['GET', '/api/v1/accounts/acme'],
    ] as const) {
      const r = await api.call(method, url, globex);
      expect(r.status, `${method} ${url}`).toBe(403);
      expect(JSON.stringify(r.json)).not.toContain(id);
    }
    // globex cannot reach acme's hook through its own path either
    expect((await api.call('GET', `/api/v1/accounts/globex/webhooks/${id}`, globex)).status).toBe(404);
    expect((await api.call('GET', `${hooks}/${id}`, acme)).status).toBe(200);
  });

  it('the admin token acts on every account; an unknown account is 404 for it', async () => {
    expect((await api.call('GET', hooks, (await import('../helpers/api.js')).ADMIN)).status).toBe(200);
    expect((await api.call('GET', '/api/v1/accounts/nobody/webhooks', (await import('../helpers/api.js')).ADMIN)).status).toBe(404);
  });
});
