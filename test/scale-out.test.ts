/**
 * callhook on PostgreSQL: two processes on one store, both listening to the same Asterisk (as
 * docs/delivery.md, several processes on PostgreSQL): every event reaches each webhook once, each leg in order, and an
 * account created through one process's API is used by the other's ingest; processes with one
 * role each; and the server dropping every connection mid-stream loses nothing.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { FakeAri, loadFixture } from './helpers/fake-ari.js';
import { Receiver } from './helpers/receiver.js';
import { ADMIN, runDaemon, type Running } from './helpers/daemon.js';
import { dropSchemas, freshSchema, postgresReady } from './helpers/postgres.js';

let ari: FakeAri;
let receiver: Receiver;
let a: Running;
let b: Running;

afterAll(dropSchemas);

describe.runIf(postgresReady)('two processes sharing one PostgreSQL store', () => {
  beforeEach(async () => {
    ari = await FakeAri.start();
    receiver = await Receiver.start();
    const url = await freshSchema();
    a = await runDaemon(ari, { DATABASE_URL: url, CALLHOOK_ARI_APP: 'callhook-a' });
    b = await runDaemon(ari, { DATABASE_URL: url, CALLHOOK_ARI_APP: 'callhook-b' });
    await ari.waitForConnections(2);
  });
  afterEach(async () => {
    await a?.daemon.close();
    await b?.daemon.close();
    await ari.close();
    await receiver.close();
  });

  it('deliver every event once, each leg in order, whichever process stored or sent it', async () => {
    // the account through one process, the webhook through the other
    const token = (
      await a.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'Acme', accountcodes: ['acme'], numbers: ['15550001', '15550002'] } })
    ).json.data.auth_token;
    const created = await b.api('PUT', '/api/v1/accounts/acme/webhooks', token, { data: { uri: receiver.url('/crm'), hook: 'all', format: 'json' } });
    expect(created.status).toBe(201);
    // a DID that belongs to an account made through a is refused through b at once
    const taken = await b.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'other', name: 'Other', numbers: ['15550001'] } });
    expect(taken.status).toBe(400);
    expect(JSON.stringify(taken.json)).toContain('already belongs to account acme');
    // b reads the accounts again every 2 s
    await new Promise((r) => setTimeout(r, 2500));

    const fixtures = ['dial_answered.jsonl', 'ivr_answered.jsonl', 'busy.jsonl'];
    ari.send(...fixtures.flatMap((f) => loadFixture(f)));
    const expected = 8 + 3 + 4;
    await receiver.waitFor(expected, 10_000);
    await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive meanwhile
    const got = receiver.requests.map((r) => JSON.parse(r.body) as { event_id: string; call_id: string; hook_event: string });
    expect(got).toHaveLength(expected);
    expect(new Set(got.map((p) => p.event_id)).size).toBe(expected);
    const perLeg: Record<string, string[]> = {};
    for (const p of got) (perLeg[p.call_id] ??= []).push(p.hook_event);
    for (const events of Object.values(perLeg)) {
      expect(events[0]).toBe('channel_create');
      expect(events.at(-1)).toBe('channel_destroy');
    }
    expect(perLeg['1-11659@127.0.0.1']).toEqual(['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy']);

    // both processes followed the calls with the account the other one created
    for (const run of [a, b]) {
      const health = await fetch(run.daemon.url + '/health').then((r) => r.json());
      expect(health).toMatchObject({ events_without_account: 0, ari_events_committed: expect.any(Number) });
      expect(health.ari_events_committed).toBeGreaterThan(0);
    }
    // one try per event in the attempts, whichever process sent it
    const attempts = (await a.api('GET', '/api/v1/accounts/acme/webhooks/attempts?page_size=100', token)).json.data as { result: string }[];
    expect(attempts.filter((t) => t.result === 'success')).toHaveLength(expected);
  });
});

describe.runIf(postgresReady)('processes with one role each on one PostgreSQL store', () => {
  const runs: Running[] = [];
  beforeEach(async () => {
    ari = await FakeAri.start();
    receiver = await Receiver.start();
  });
  afterEach(async () => {
    for (const run of runs.splice(0)) await run.daemon.close();
    await ari.close();
    await receiver.close();
  });

  it('the api process configures, the ingest process stores, the deliver process sends', async () => {
    const url = await freshSchema();
    const start = async (roles: string) => {
      const run = await runDaemon(ari, { DATABASE_URL: url, CALLHOOK_ROLES: roles, CALLHOOK_ARI_APP: `callhook-${roles}` });
      runs.push(run);
      return run;
    };
    const api = await start('api');
    const token = (await api.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'Acme', accountcodes: ['acme'], numbers: ['15550001'] } })).json
      .data.auth_token;
    expect((await api.api('PUT', '/api/v1/accounts/acme/webhooks', token, { data: { uri: receiver.url('/crm'), hook: 'all', format: 'json' } })).status).toBe(
      201,
    );
    const ingest = await start('ingest');
    await ari.waitForClient();
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await new Promise((r) => setTimeout(r, 500));
    // stored, and nobody sends yet
    const stored = await fetch(ingest.daemon.url + '/health').then((r) => r.json());
    expect(stored).toMatchObject({ roles: ['ingest'], ari: 'connected', events_stored: 3, deliveries_pending: 3 });
    expect(receiver.requests).toHaveLength(0);
    // only the API process has the API; all have /health
    expect((await ingest.api('GET', '/api/v1/accounts/acme', token)).status).toBe(404);

    const deliver = await start('deliver');
    await receiver.waitFor(3);
    expect(receiver.requests.map((r) => JSON.parse(r.body).hook_event)).toEqual(['channel_create', 'channel_answer', 'channel_destroy']);
    expect(await fetch(deliver.daemon.url + '/health').then((r) => r.json())).toMatchObject({ roles: ['deliver'], ari: 'off' });
    expect(ari.connections).toBe(1); // only the ingest process listens to ARI
  });
});

describe.runIf(postgresReady)('PostgreSQL dropping every connection of callhook', () => {
  let run: Running | undefined;
  beforeEach(async () => {
    ari = await FakeAri.start();
    receiver = await Receiver.start();
  });
  afterEach(async () => {
    await run?.daemon.close();
    await ari.close();
    await receiver.close();
  });

  it('loses no call: the next writes go over new connections', async () => {
    const app = `callhook_outage_${process.pid}`;
    const url = new URL(await freshSchema());
    url.searchParams.set('application_name', app);
    run = await runDaemon(ari, { DATABASE_URL: url.toString() });
    const token = (
      await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'Acme', accountcodes: ['acme'], numbers: ['15550001', '15550002'] } })
    ).json.data.auth_token;
    await run.api('PUT', '/api/v1/accounts/acme/webhooks', token, { data: { uri: receiver.url('/crm'), hook: 'all', format: 'json' } });
    await ari.waitForClient();
    ari.send(...loadFixture('dial_answered.jsonl'));
    await receiver.waitFor(8);

    // the server ends every connection of this callhook (as a restart or a failover does), then a call comes
    const admin = new pg.Client({ connectionString: url.toString().replace(app, 'callhook_test_admin') });
    await admin.connect();
    const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app]);
    await admin.end();
    expect(killed.rowCount).toBeGreaterThan(0);
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await receiver.waitFor(11, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    const got = receiver.requests.map((r) => JSON.parse(r.body) as { event_id: string; hook_event: string; call_id: string });
    expect(got).toHaveLength(11);
    expect(got.filter((p) => p.call_id === '1-11627@127.0.0.1').map((p) => p.hook_event)).toEqual(['channel_create', 'channel_answer', 'channel_destroy']);
  });
});
