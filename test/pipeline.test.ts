/**
 * End to end inside one process: fake ARI replays Asterisk event streams → callhook → a local
 * receiver. Checks the requests a receiver really gets, in each encoding.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { FakeAri, loadFixture } from './helpers/fake-ari.js';
import { Receiver, type Received } from './helpers/receiver.js';
import { ADMIN, runDaemon, type Running } from './helpers/daemon.js';
import { manyCalls } from './helpers/calls.js';
import { VERSION } from '../src/daemon/main.js';

let ari: FakeAri;
let receiver: Receiver;
let run: Running;
let token: string;

beforeEach(async () => {
  ari = await FakeAri.start();
  receiver = await Receiver.start();
  run = await runDaemon(ari);
  const acct = await run.api('POST', '/api/v1/accounts', ADMIN, {
    data: { id: 'acme', name: 'Acme', realm: 'acme.example', accountcodes: ['acme'], numbers: ['15550001', '15550002', '15550003', '15550004', '15550005'] },
  });
  token = acct.json.data.auth_token;
  await ari.waitForClient();
});
afterEach(async () => {
  await run.daemon.close();
  await ari.close();
  await receiver.close();
});

async function hook(data: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const r = await run.api('PUT', '/api/v1/accounts/acme/webhooks', token, { data: { name: 'h', hook: 'all', ...data } });
  expect(r.status).toBe(201);
  return r.json.data;
}

const fields = (r: Received) => Receiver.fields(r);
const byPath = (path: string) => receiver.requests.filter((r) => r.path === path);

const SCENARIOS = [
  {
    name: 'inbound call answered by the PBX',
    events: () => loadFixture('ivr_answered.jsonl'),
    legs: { '1-11627@127.0.0.1': ['channel_create', 'channel_answer', 'channel_destroy'] },
  },
  {
    name: 'call dialed to a phone that answers',
    events: () => loadFixture('dial_answered.jsonl'),
    legs: {
      '1-11659@127.0.0.1': ['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy'],
      '005fcac4-dca8-4723-824a-742d9727d1b6': ['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy'],
    },
  },
  {
    name: 'caller hangs up while the phone rings',
    events: () => loadFixture('cancel.jsonl'),
    legs: { '1-26524@127.0.0.2': ['channel_create', 'channel_destroy'], '7fad3392-d014-4aba-b643-20ec5b5d2f50': ['channel_create', 'channel_destroy'] },
  },
  {
    name: 'busy callee',
    events: () => loadFixture('busy.jsonl'),
    legs: { '1-26284@127.0.0.2': ['channel_create', 'channel_destroy'], '19ceaa14-54f2-4e22-8404-9c5ffa86c598': ['channel_create', 'channel_destroy'] },
  },
];

describe.each(SCENARIOS)('$name', ({ events, legs }) => {
  it('reaches the receiver in all three encodings, per leg in order, with custom_data on top', async () => {
    const custom = { custom_data: { account_id: 'my_crm_account_id', screen_pop: true } };
    const hooks = {
      '/get': await hook({ uri: receiver.url('/get'), http_verb: 'get', ...custom }),
      '/form': await hook({ uri: receiver.url('/form'), http_verb: 'post', format: 'form-data', ...custom }),
      '/json': await hook({ uri: receiver.url('/json'), http_verb: 'put', format: 'json', headers: { 'X-Crm-Key': 'k1' }, ...custom }),
    };
    const expected = Object.values(legs).flat().length;
    ari.send(...events());
    await receiver.waitFor(expected * 3);
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.requests).toHaveLength(expected * 3);

    for (const [path, h] of Object.entries(hooks)) {
      const got = byPath(path);
      expect(got.map((r) => r.method)).toEqual(Array(expected).fill(path === '/get' ? 'GET' : path === '/form' ? 'POST' : 'PUT'));
      const perLeg: Record<string, string[]> = {};
      for (const r of got) {
        const f = fields(r);
        (perLeg[f.call_id as string] ??= []).push(f.hook_event as string);
        expect(f.account_id).toBe('my_crm_account_id');
        expect(String(f.screen_pop)).toBe('true');
        expect(r.headers['x-hook-id']).toBe(h.id);
        expect(r.headers['x-account-id']).toBe('acme');
        expect(r.headers['user-agent']).toBe(`callhook/${VERSION}`);
        expect(r.headers['webhook-id']).toMatch(/^[0-9a-f]{32}$/);
        if (path === '/json') {
          expect(r.headers['x-crm-key']).toBe('k1');
          expect(r.headers['content-type']).toBe('application/json');
          expect(new StandardWebhook(h.secret).verify(r.body, r.headers as Record<string, string>)).toEqual(f);
        }
        if (path === '/form') expect(r.headers['content-type']).toBe('application/x-www-form-urlencoded');
      }
      expect(perLeg).toEqual(legs);
    }
  });
});

describe('payload fields', () => {
  it('carries every payload field of docs/api.md with the right values and types (JSON)', async () => {
    await hook({ uri: receiver.url('/json'), format: 'json' });
    ari.send(...loadFixture('dial_answered.jsonl'));
    await receiver.waitFor(8);
    const all = receiver.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    const outCreate = all.find((p) => p.hook_event === 'channel_create' && p.call_direction === 'outbound')!;
    expect(outCreate).toEqual({
      hook_event: 'channel_create',
      call_id: '005fcac4-dca8-4723-824a-742d9727d1b6',
      channel_id: '1795531556.2',
      other_leg_call_id: '1-11659@127.0.0.1',
      call_direction: 'outbound',
      timestamp: Math.floor(Date.parse('2026-11-24T14:45:56.488Z') / 1000) + 62167219200,
      account_id: 'acme',
      from: '4930123456@acme.example',
      to: '201@acme.example',
      request: '201@acme.example',
      caller_id_name: 'Carol',
      caller_id_number: '4930123456',
      callee_id_name: 'Alice',
      callee_id_number: '201',
      is_internal_leg: false,
      custom_channel_vars: { CALLHOOK_ACCOUNT: '' },
      // the dialed leg belongs to the call of the leg that dialed it
      linked_id: '1795531556.1',
      event_id: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    const inDestroy = all.find((p) => p.hook_event === 'channel_destroy' && p.call_direction === 'inbound')!;
    expect(inDestroy).toMatchObject({
      hangup_cause: 'NORMAL_CLEARING',
      duration_seconds: '2',
      ringing_seconds: '0',
      billing_seconds: '2',
      other_leg_call_id: '005fcac4-dca8-4723-824a-742d9727d1b6',
    });
  });

  it('skips malformed ARI frames in the stream and delivers the rest', async () => {
    await hook({ uri: receiver.url('/json'), format: 'json', hook: 'channel_create' });
    const evs = loadFixture('ivr_answered.jsonl');
    ari.send('{broken', ...evs.slice(0, 3), '{"type": 5}', ...evs.slice(3));
    await receiver.waitFor(1);
    expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({ hook_event: 'channel_create', call_id: '1-11627@127.0.0.1' });
    const health = await fetch(run.daemon.url + '/health').then((r) => r.json());
    expect(health).toMatchObject({ status: 'ok', ari: 'connected', open_legs: 0 });
  });

  it('only the hook of the matching type and account gets the event', async () => {
    await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'globex', name: 'Globex', numbers: ['15550003'] } });
    await hook({ uri: receiver.url('/answer'), hook: 'channel_answer' });
    const other = await run.api('POST', '/api/v1/accounts/globex/tokens', ADMIN);
    await run.api('PUT', '/api/v1/accounts/globex/webhooks', other.json.data.auth_token, { data: { uri: receiver.url('/globex'), hook: 'all' } });
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await receiver.waitFor(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.requests.map((r) => r.path)).toEqual(['/answer']);
  });
});

describe('the call events a CRM sees, from real Asterisk recordings', () => {
  it("each hook type gets its events, seven.io's groups theirs, with their fields", async () => {
    const hooks = {
      '/transfer': await hook({ uri: receiver.url('/transfer'), hook: 'channel_transfer', format: 'json' }),
      '/hold': await hook({ uri: receiver.url('/hold'), hook: 'channel_hold', format: 'json' }),
      '/dtmf': await hook({ uri: receiver.url('/dtmf'), hook: 'voice_dtmf', http_verb: 'get' }),
      '/sms': await hook({ uri: receiver.url('/sms'), hook: 'sms_mo', format: 'json' }),
      '/status': await hook({ uri: receiver.url('/status'), hook: 'voice_status', format: 'json' }),
    };
    expect(Object.keys(hooks)).toHaveLength(5);
    ari.send(...loadFixture('recorded/blind_transfer.jsonl'), ...loadFixture('recorded/hold_unhold.jsonl'));
    ari.send(...loadFixture('recorded/dtmf_info.jsonl'), ...loadFixture('recorded/sip_message.jsonl'));
    // 2 transfers, 1 hold, 3 digits, 1 message; voice_status: answer, bridge, transfer and destroy of the legs (12 + 6 + 2)
    const want: Record<string, number> = { '/transfer': 2, '/hold': 1, '/dtmf': 3, '/sms': 1, '/status': 20 };
    const end = Date.now() + 10_000;
    while (Object.entries(want).some(([path, n]) => byPath(path).length < n) && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
    for (const [path, n] of Object.entries(want)) expect(byPath(path), path).toHaveLength(n);
    const json = (path: string) => byPath(path).map((r) => JSON.parse(r.body) as Record<string, unknown>);
    expect(json('/transfer').map((p) => [p.hook_event, p.transfer_type, p.transfer_to, p.transfer_result])).toEqual([
      ['channel_transfer', 'blind', '202', 'Success'],
      ['channel_transfer', 'blind', '202', 'Success'],
    ]);
    expect(json('/hold')).toEqual([
      expect.objectContaining({ hook_event: 'channel_hold', music_class: 'default', call_id: '052a2fbb-db75-4c58-a048-00d6b4c3a9c7' }),
    ]);
    expect(byPath('/dtmf').map((r) => [r.query.get('hook_event'), r.query.get('dtmf_digit'), r.query.get('dtmf_duration_ms')])).toEqual([
      ['dtmf', '1', '160'],
      ['dtmf', '2', '160'],
      ['dtmf', '#', '160'],
    ]);
    expect(json('/sms')).toEqual([
      expect.objectContaining({
        hook_event: 'sms',
        account_id: 'acme',
        from: '4930123456@acme.example',
        to: '15550001@acme.example',
        body: 'hello',
        address: '4930123456',
        date: '2026-12-01 22:06:27',
        call_id: '1-16172@127.0.0.1',
      }),
    ]);
    const status = json('/status').map((p) => p.hook_event);
    expect(new Set(status)).toEqual(new Set(['channel_answer', 'channel_bridge', 'channel_transfer', 'channel_destroy']));
  });
});

describe('retries and attempts', () => {
  const until = async (cond: () => boolean, ms = 5000) => {
    for (const end = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 20))) if (Date.now() > end) throw new Error('not in time');
  };
  const attempts = async (hookId: string) =>
    (await run.api('GET', `/api/v1/accounts/acme/webhooks/${hookId}/attempts`, token)).json.data as Record<string, unknown>[];

  it('a 500 then a 200: the event arrives twice with the same webhook-id, both tries in attempts', async () => {
    receiver.respond = (_r, n) => (n === 0 ? { status: 500, body: 'database down' } : { status: 200, body: 'ok' });
    const h = await hook({ uri: receiver.url('/crm'), hook: 'channel_create', retries: 3 });
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await receiver.waitFor(2);
    await new Promise((r) => setTimeout(r, 150));
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[0]!.headers['webhook-id']).toBe(receiver.requests[1]!.headers['webhook-id']);
    expect(receiver.requests[0]!.body).toBe(receiver.requests[1]!.body);
    const list = await attempts(h.id);
    expect(list.map((a) => [a.response_code, a.result, a.try])).toEqual([
      ['200', 'success', 2],
      ['500', 'failure', 1],
    ]);
    expect(list[1]).toMatchObject({
      response_body: 'database down',
      retries_left: 3,
      hook_id: h.id,
      hook_event: 'channel_create',
      call_id: '1-11627@127.0.0.1',
    });
    const accountWide = (await run.api('GET', '/api/v1/accounts/acme/webhooks/attempts', token)).json.data;
    expect(accountWide).toHaveLength(2);
  });

  it('retries: 0 means one try only', async () => {
    receiver.respond = () => ({ status: 503 });
    const h = await hook({ uri: receiver.url('/crm'), hook: 'channel_create', retries: 0 });
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await receiver.waitFor(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests).toHaveLength(1);
    expect((await attempts(h.id)).map((a) => [a.response_code, a.retries_left, a.reason])).toEqual([['503', 0, 'HTTP 503; retries are off']]);
  });

  it('a 404 is not retried', async () => {
    receiver.respond = () => ({ status: 404 });
    const h = await hook({ uri: receiver.url('/gone'), hook: 'channel_create', retries: 3 });
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await receiver.waitFor(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests).toHaveLength(1);
    expect((await attempts(h.id))[0]).toMatchObject({ response_code: '404', result: 'failure', reason: 'HTTP 404; not retried' });
  });

  it("retries one payload the receiver refuses while others succeed, then fails it (Kazoo's retries)", async () => {
    const bad = (r: Received) => r.method === 'GET' && r.query.get('call_id') === '1-11627@127.0.0.1';
    receiver.respond = (r) => ({ status: bad(r) ? 500 : 200 });
    const h = await hook({ uri: receiver.url('/crm'), hook: 'channel_create', http_verb: 'get', retries: 2 });
    ari.send(...loadFixture('ivr_answered.jsonl'));
    // other calls keep succeeding between its tries: the receiver is up, the payload is at fault
    const others = manyCalls(25);
    for (let i = 0; i < 25; i++) {
      ari.send(...others.slice((i * others.length) / 25, ((i + 1) * others.length) / 25));
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => receiver.requests.filter(bad).length === 3);
    await new Promise((r) => setTimeout(r, 400));
    expect(receiver.requests.filter(bad)).toHaveLength(3);
    const mine = (await run.api('GET', `/api/v1/accounts/acme/webhooks/${h.id}/attempts?page_size=1000`, token)).json.data.filter(
      (a: Record<string, unknown>) => a.call_id === '1-11627@127.0.0.1',
    ) as Record<string, unknown>[];
    expect(mine.map((a) => a.retries_left)).toEqual([0, 1, 2]);
    expect(mine[0]!.reason).toBe('HTTP 500; retries exhausted');
    expect((await run.api('GET', `/api/v1/accounts/acme/webhooks/${h.id}`, token)).json.data.health).toBe('healthy');
  });

  it('a connection refused is retried and recorded with its reason', async () => {
    const h = await hook({ uri: 'http://127.0.0.1:1/nobody', hook: 'channel_create', retries: 1 });
    ari.send(...loadFixture('ivr_answered.jsonl'));
    let list: Record<string, unknown>[] = [];
    for (let i = 0; i < 100 && list.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      list = await attempts(h.id);
    }
    expect(list).toHaveLength(2);
    expect(list[1]).toMatchObject({ response_code: null, result: 'failure' });
    expect(String(list[1]!.reason)).toMatch(/ECONNREFUSED/);
  });

  it('keeps a leg in order: a failed create holds back its answer and destroy until it succeeds', async () => {
    receiver.respond = (r, n) => (n === 0 ? { status: 503 } : { status: 200 });
    await hook({ uri: receiver.url('/crm'), format: 'json', retries: 3 });
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await receiver.waitFor(4);
    await new Promise((r) => setTimeout(r, 150));
    expect(receiver.requests.map((r) => JSON.parse(r.body).hook_event)).toEqual(['channel_create', 'channel_create', 'channel_answer', 'channel_destroy']);
  });

  it('clamps Retry-After to CALLHOOK_RETRY_MAX_MS (200 ms here)', async () => {
    receiver.respond = (_r, n) => (n === 0 ? { status: 429, headers: { 'retry-after': '3600' } } : { status: 200 });
    await hook({ uri: receiver.url('/crm'), hook: 'channel_create', retries: 3 });
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await receiver.waitFor(2, 5000);
    expect(receiver.requests[1]!.at - receiver.requests[0]!.at).toBeLessThan(1000);
  });

  it('honours Retry-After', async () => {
    await run.daemon.close();
    run = await runDaemon(ari, { CALLHOOK_RETRY_MAX_MS: '5000' });
    const acct = await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'ra', name: 'RA', accountcodes: ['acme'] } });
    await run.api('PUT', '/api/v1/accounts/ra/webhooks', acct.json.data.auth_token, { data: { uri: receiver.url('/ra'), hook: 'channel_create', retries: 3 } });
    receiver.respond = (_r, n) => (n === 0 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 });
    await ari.waitForConnections(2);
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await receiver.waitFor(2, 5000);
    const gap = receiver.requests[1]!.at - receiver.requests[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(950);
    expect(gap).toBeLessThan(3000);
  });

  it('retries a receiver that does not answer in time', async () => {
    await run.daemon.close();
    run = await runDaemon(ari, { CALLHOOK_TIMEOUT_MS: '300' });
    const acct = await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'slow', name: 'Slow', accountcodes: ['acme'] } });
    const t = acct.json.data.auth_token;
    const h = (await run.api('PUT', '/api/v1/accounts/slow/webhooks', t, { data: { uri: receiver.url('/slow'), hook: 'channel_create', retries: 1 } })).json
      .data;
    receiver.respond = (_r, n) => (n === 0 ? { status: 200, delayMs: 1000 } : { status: 200 });
    await ari.waitForConnections(2);
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await receiver.waitFor(2, 5000);
    // the receiver has the request before callhook has recorded the try
    let list: Record<string, unknown>[] = [];
    for (let i = 0; i < 100 && list.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      list = (await run.api('GET', `/api/v1/accounts/slow/webhooks/${h.id}/attempts`, t)).json.data;
    }
    expect(list.map((a: Record<string, unknown>) => a.result)).toEqual(['success', 'failure']);
    expect(list[1]!.reason).toMatch(/^timeout after 300 ms/);
  });

  it('a 410 disables the hook with a reason', async () => {
    receiver.respond = () => ({ status: 410 });
    const h = await hook({ uri: receiver.url('/old'), hook: 'all', retries: 3 });
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await receiver.waitFor(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests).toHaveLength(1);
    const got = (await run.api('GET', `/api/v1/accounts/acme/webhooks/${h.id}`, token)).json.data;
    expect(got).toMatchObject({ enabled: false, disabled_reason: 'receiver answered 410 Gone' });
  });

  it('refuses loopback targets unless allow-listed, at create time with a 400 naming uri', async () => {
    await run.daemon.close();
    run = await runDaemon(ari, { CALLHOOK_ALLOW_TARGETS: '' });
    const acct = await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme2', name: 'Acme', accountcodes: ['acme'] } });
    const t = acct.json.data.auth_token;
    const r = await run.api('PUT', '/api/v1/accounts/acme2/webhooks', t, { data: { uri: receiver.url('/x'), hook: 'channel_create', retries: 0 } });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: '400', message: 'invalid data', data: { uri: { forbidden: { message: expect.any(String) } } } });
    expect((await run.api('GET', '/api/v1/accounts/acme2/webhooks', t)).json.data).toEqual([]);
    expect(receiver.requests).toHaveLength(0);
  });
});
