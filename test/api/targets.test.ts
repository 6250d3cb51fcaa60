/**
 * Webhook targets are checked when a webhook is created or edited (PUT/POST/PATCH, uri and
 * failover_uri): a refused address, or a name that resolves only to refused addresses, is a
 * 400 in Kazoo's shape naming the field. Through buildApp with the checkTarget dep, and through
 * a whole callhook (main.ts wires the sending thread's guard and its settings).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { buildApp } from '../../src/api/app.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { AccountDirectory } from '../../src/calls/account.js';
import { TargetGuard } from '../../src/delivery/guard.js';
import { FakeAri, loadFixture } from '../helpers/fake-ari.js';
import { Receiver } from '../helpers/receiver.js';
import { ADMIN, runDaemon, type Running } from '../helpers/daemon.js';

const hooks = '/api/v1/accounts/acme/webhooks';
const sample = { name: 'CRM', hook: 'channel_create', http_verb: 'post' };

/** an app whose targets are checked by `guard` */
async function appWith(guard: TargetGuard) {
  const store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'callhook-targets-')), 'callhook.db'));
  const app = await buildApp({
    store,
    accounts: new AccountDirectory(),
    adminToken: ADMIN,
    logger: pino({ level: 'silent' }),
    checkTarget: (uri) => guard.checkUrl(uri),
  });
  const call = async (method: 'PUT' | 'POST' | 'PATCH' | 'GET', url: string, token: string, body?: unknown) => {
    const res = await app.inject({ method, url, headers: { 'x-auth-token': token }, ...(body === undefined ? {} : { payload: body as object }) });
    return { status: res.statusCode, json: JSON.parse(res.body) };
  };
  const token = (await call('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'Acme' } })).json.data.auth_token as string;
  return { app, store, call, token };
}

/** Kazoo's 400 naming the field, as AppError.invalidField gives it */
const refused = (field: string) => ({
  data: { [field]: { forbidden: { message: expect.stringContaining('not allowed') } } },
  error: '400',
  message: 'invalid data',
  status: 'error',
  request_id: expect.any(String),
});

const FORBIDDEN_URIS = [
  'http://127.0.0.1:8080/hook',
  'http://169.254.169.254/latest/meta-data/',
  'http://100.100.100.200/latest/meta-data/',
  'http://[fd00:ec2::254]/',
  'http://[::1]/',
  'http://0.0.0.0:9090/',
  'http://2130706433/',
  'http://[::127.0.0.1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://[::ffff:7f00:1]/',
  'http://[0:0:0:0:0:ffff:7f00:1]/',
  'http://[::ffff:0:0]/',
  'http://[64:ff9b::a9fe:a9fe]/',
  'http://[2002:7f00:1::]/',
  'http://224.0.0.1/',
  'http://[ff02::1]/',
  'http://255.255.255.255/',
  'http://localhost:8080/hook',
];

describe('create/edit target check (buildApp with checkTarget)', () => {
  let t: Awaited<ReturnType<typeof appWith>>;
  beforeEach(async () => {
    t = await appWith(new TargetGuard([]));
  });
  afterEach(async () => {
    await t.app.close();
    await t.store.close();
  });

  it.each(FORBIDDEN_URIS)('PUT with uri %s → 400 naming uri, nothing stored', async (uri) => {
    const r = await t.call('PUT', hooks, t.token, { data: { ...sample, uri } });
    expect(r.status).toBe(400);
    expect(r.json).toEqual(refused('uri'));
    expect((await t.call('GET', hooks, t.token)).json.data).toEqual([]);
  });

  it.each(['http://203.0.113.7/hook', 'https://crm.example.invalid/hook', 'http://10.0.0.5:8080/hook', 'http://[fd12::1]/', 'http://[::ffff:8.8.8.8]/'])(
    'PUT with uri %s → 201 (public, private by default, or a name that does not resolve)',
    async (uri) => {
      expect((await t.call('PUT', hooks, t.token, { data: { ...sample, uri } })).status).toBe(201);
    },
  );

  it('failover_uri is checked too, and both fields are named when both are refused', async () => {
    const one = await t.call('PUT', hooks, t.token, { data: { ...sample, uri: 'http://203.0.113.7/', failover_uri: 'http://169.254.169.254/' } });
    expect(one).toMatchObject({ status: 400, json: refused('failover_uri') });
    const both = await t.call('PUT', hooks, t.token, { data: { ...sample, uri: 'http://[::ffff:7f00:1]/', failover_uri: 'http://[::1]/' } });
    expect(both.status).toBe(400);
    expect(Object.keys(both.json.data).sort()).toEqual(['failover_uri', 'uri']);
  });

  it('POST (replace) and PATCH refuse a forbidden uri or failover_uri and keep the webhook as it was', async () => {
    const id = (await t.call('PUT', hooks, t.token, { data: { ...sample, uri: 'http://203.0.113.7/hook' } })).json.data.id as string;
    const replaced = await t.call('POST', `${hooks}/${id}`, t.token, { data: { ...sample, uri: 'http://169.254.169.254/' } });
    expect(replaced).toMatchObject({ status: 400, json: refused('uri') });
    // the WIRECLOUD edit path without the slash goes through the same check
    expect((await t.call('POST', `${hooks}${id}`, t.token, { data: { ...sample, uri: 'http://127.0.0.1/' } })).json).toEqual(refused('uri'));
    expect((await t.call('PATCH', `${hooks}/${id}`, t.token, { data: { uri: 'http://[64:ff9b::7f00:1]/' } })).json).toEqual(refused('uri'));
    expect((await t.call('PATCH', `${hooks}/${id}`, t.token, { data: { failover_uri: 'http://100.100.100.200/' } })).json).toEqual(refused('failover_uri'));
    expect((await t.call('GET', `${hooks}/${id}`, t.token)).json.data).toMatchObject({ uri: 'http://203.0.113.7/hook', failover_uri: null });
    // a patch that does not set a target is not held up
    expect((await t.call('PATCH', `${hooks}/${id}`, t.token, { data: { enabled: false } })).status).toBe(200);
    expect((await t.call('PATCH', `${hooks}/${id}`, t.token, { data: { failover_uri: 'http://203.0.113.8/' } })).status).toBe(200);
  });

  it('CALLHOOK_ALLOW_TARGETS lets an address through; refusePrivate refuses private ones', async () => {
    const allow = await appWith(new TargetGuard(['127.0.0.0/8'], { refusePrivate: true }));
    try {
      expect((await allow.call('PUT', hooks, allow.token, { data: { ...sample, uri: 'http://127.0.0.1:9000/' } })).status).toBe(201);
      expect((await allow.call('PUT', hooks, allow.token, { data: { ...sample, uri: 'http://[::ffff:127.0.0.1]:9000/' } })).status).toBe(201);
      for (const uri of ['http://10.0.0.5/', 'http://192.168.1.20/', 'http://[fd12::1]/', 'http://100.64.0.1/']) {
        const r = await allow.call('PUT', hooks, allow.token, { data: { ...sample, uri } });
        expect(r.json, uri).toEqual(refused('uri'));
        expect(r.json.data.uri.forbidden.message).toMatch(/CALLHOOK_REFUSE_PRIVATE_TARGETS/);
      }
    } finally {
      await allow.app.close();
      await allow.store.close();
    }
  });
});

describe('create/edit target check through a whole callhook', () => {
  let ari: FakeAri;
  let run: Running | undefined;
  beforeEach(async () => {
    ari = await FakeAri.start();
  });
  afterEach(async () => {
    await run?.daemon.close();
    run = undefined;
    await ari.close();
  });
  const token = async (r: Running) => (await r.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'Acme' } })).json.data.auth_token as string;

  it('refuses a metadata or loopback webhook at create (it used to be created and fail on every event)', async () => {
    run = await runDaemon(ari, { CALLHOOK_ALLOW_TARGETS: '' });
    const t = await token(run);
    for (const uri of ['http://169.254.169.254/latest/meta-data/', 'http://127.0.0.1:8080/', 'http://[::ffff:7f00:1]/', 'http://localhost/']) {
      const r = await run.api('PUT', hooks, t, { data: { ...sample, uri } });
      expect(r, uri).toMatchObject({
        status: 400,
        json: { data: { uri: { forbidden: { message: expect.stringContaining('not allowed') } } }, error: '400', message: 'invalid data', status: 'error' },
      });
    }
    expect((await run.api('PUT', hooks, t, { data: { ...sample, uri: 'http://10.0.0.5/' } })).status).toBe(201);
  });

  it('CALLHOOK_REFUSE_PRIVATE_TARGETS=true refuses private targets at create; the allow list still lets through', async () => {
    run = await runDaemon(ari, { CALLHOOK_REFUSE_PRIVATE_TARGETS: 'true', CALLHOOK_ALLOW_TARGETS: '127.0.0.0/8,10.9.0.0/16' });
    const t = await token(run);
    expect((await run.api('PUT', hooks, t, { data: { ...sample, uri: 'http://10.0.0.5/' } })).json.data.uri.forbidden.message).toMatch(
      /CALLHOOK_REFUSE_PRIVATE_TARGETS/,
    );
    expect((await run.api('PUT', hooks, t, { data: { ...sample, uri: 'http://10.9.1.1/' } })).status).toBe(201);
    expect((await run.api('PUT', hooks, t, { data: { ...sample, uri: 'http://127.0.0.1:9/' } })).status).toBe(201);
  });

  it('the check at connect time stays: a webhook created while its target was allowed is refused once the allow list no longer has it', async () => {
    const receiver = await Receiver.start();
    try {
      run = await runDaemon(ari, { CALLHOOK_ALLOW_TARGETS: '127.0.0.0/8' });
      const t = (await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'Acme', accountcodes: ['acme'] } })).json.data
        .auth_token as string;
      const h = (await run.api('PUT', hooks, t, { data: { ...sample, uri: receiver.url('/x'), retries: 0 } })).json.data;
      expect(h.id).toBeDefined();
      await run.daemon.close();
      // the same data, restarted without the allow list entry
      run = await runDaemon(ari, { CALLHOOK_ALLOW_TARGETS: '' }, run.dataDir);
      await ari.waitForConnections(2);
      ari.send(...loadFixture('ivr_answered.jsonl'));
      let list: Record<string, unknown>[] = [];
      for (let i = 0; i < 100 && list.length < 1; i++) {
        await new Promise((r) => setTimeout(r, 50));
        list = (await run.api('GET', `${hooks}/${h.id}/attempts`, t)).json.data;
      }
      expect(String(list[0]!.reason)).toMatch(/not allowed/);
      expect(receiver.requests).toHaveLength(0);
      // and editing it to the same target is refused now
      expect((await run.api('PATCH', `${hooks}/${h.id}`, t, { data: { uri: receiver.url('/y') } })).status).toBe(400);
    } finally {
      await receiver.close();
    }
  });
});
