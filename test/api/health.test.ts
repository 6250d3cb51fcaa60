/**
 * Webhook health through a whole in-process callhook and real receivers: notifications,
 * failover, secret rotation, fair shares between accounts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { FakeAri, loadFixture } from '../helpers/fake-ari.js';
import { Receiver, type Received } from '../helpers/receiver.js';
import { ADMIN, runDaemon, type Running } from '../helpers/daemon.js';
import { manyCalls } from '../helpers/calls.js';

let ari: FakeAri;
let run: Running;
let token: string;
const receivers: Receiver[] = [];
const base = '/api/v1/accounts/acme/webhooks';

async function receiver(): Promise<Receiver> {
  const r = await Receiver.start();
  receivers.push(r);
  return r;
}
const hook = async (data: Record<string, unknown>) => {
  const r = await run.api('PUT', base, token, { data: { hook: 'all', format: 'json', ...data } });
  expect(r.status).toBe(201);
  return r.json.data as { id: string; secret: string };
};
const read = async (id: string) => (await run.api('GET', `${base}/${id}`, token)).json.data as Record<string, unknown>;
const until = async (cond: () => Promise<boolean> | boolean, what: string, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not in time`);
    await new Promise((r) => setTimeout(r, 25));
  }
};
const body = (r: Received) => JSON.parse(r.body) as Record<string, unknown>;
const events = (r: Receiver) => r.requests.map((q) => body(q).hook_event);

beforeEach(async () => {
  ari = await FakeAri.start();
});
afterEach(async () => {
  vi.useRealTimers();
  await run?.daemon.close();
  await ari.close();
  for (const r of receivers.splice(0)) await r.close();
});

async function start(env: Record<string, string> = {}) {
  run = await runDaemon(ari, env);
  token = (await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'Acme', accountcodes: ['acme'], numbers: ['15550002'] } })).json.data
    .auth_token;
  await ari.waitForClient();
}

describe('health and notifications', () => {
  it('failing, then recovered; down for good: disabled after 72 h of failing; a notifications webhook hears each once', async () => {
    await start();
    const crm = await receiver();
    const ops = await receiver();
    crm.respond = () => ({ status: 503 });
    const h = await hook({ uri: crm.url('/crm') });
    const n = await hook({ uri: ops.url('/ops'), hook: 'notifications' });
    ari.send(...loadFixture('dial_answered.jsonl'));

    await until(() => events(ops).includes('webhook_failing'), 'webhook_failing');
    const failing = await read(h.id);
    expect(failing).toMatchObject({ enabled: true, health: 'failing', last_error: 'HTTP 503' });
    expect(failing.failing_since).toBeGreaterThan(63_000_000_000);
    expect(failing.pending).toBeGreaterThan(0);
    const notice = body(ops.requests.find((r) => body(r).hook_event === 'webhook_failing')!);
    expect(notice).toMatchObject({
      webhook_id: h.id,
      uri: crm.url('/crm'),
      account_id: 'acme',
      health: 'failing',
      reason: 'HTTP 503',
      failing_since: failing.failing_since,
    });
    // signed like any delivery
    expect(new StandardWebhook(n.secret).verify(ops.requests[0]!.body, ops.requests[0]!.headers as Record<string, string>)).toBeTruthy();
    // probes are recorded as attempts that say so
    await until(async () => {
      const attempts = (await run.api('GET', `${base}/${h.id}/attempts`, token)).json.data as { reason: string }[];
      return attempts.some((a) => a.reason.startsWith('probe: HTTP 503; webhook failing since'));
    }, 'a probe attempt');

    crm.respond = () => ({ status: 200 });
    await until(() => events(ops).includes('webhook_recovered'), 'webhook_recovered');
    await until(async () => (await read(h.id)).pending === 0, 'the backlog drained');
    expect(await read(h.id)).toMatchObject({ health: 'healthy', failing_since: null });
    expect(new Set(crm.requests.filter((r) => r.method === 'POST').map((r) => body(r).event_id)).size).toBe(8);

    // down for good: three days of failed probes later (the clock jumps) it is disabled
    crm.respond = () => ({ status: 503 });
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await until(() => events(ops).filter((e) => e === 'webhook_failing').length === 2, 'webhook_failing again');
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 73 * 3_600_000 });
    await until(() => events(ops).includes('webhook_disabled'), 'webhook_disabled');
    const disabled = await read(h.id);
    expect(disabled).toMatchObject({ enabled: false, health: 'disabled' });
    expect(disabled.disabled_reason).toMatch(/^failing without a success for 73(\.\d)? h/);
    expect(events(ops).filter((e) => e === 'webhook_recovered')).toHaveLength(1);
    expect(events(ops).filter((e) => e === 'webhook_disabled')).toHaveLength(1);
    // it keeps collecting; the bulk re-enable brings it back healthy and sends the rest
    vi.useRealTimers();
    crm.respond = () => ({ status: 200 });
    expect((await run.api('PATCH', base, token, { data: { 're-enable': true } })).json.data).toEqual({ 're-enable': true, enabled: 1 });
    await until(async () => (await read(h.id)).pending === 0, 'drained after the re-enable');
    expect(await read(h.id)).toMatchObject({ enabled: true, health: 'healthy' });
  }, 30_000);

  it("a parent account hears of its sub-accounts' webhooks with include_subaccounts; /health counts failing webhooks", async () => {
    await start();
    const holding = (await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'holding', name: 'Holding' } })).json.data.auth_token;
    expect((await run.api('POST', '/api/v1/accounts/acme', ADMIN, { data: { name: 'Acme', parent_id: 'holding' } })).status).toBe(200);
    const all = await receiver();
    const own = await receiver();
    for (const [r, include] of [
      [all, true],
      [own, false],
    ] as const) {
      await run.api('PUT', '/api/v1/accounts/holding/webhooks', holding, {
        data: { uri: r.url('/ops'), hook: 'notifications', format: 'json', include_subaccounts: include },
      });
    }
    const crm = await receiver();
    crm.respond = () => ({ status: 500 });
    const h = await hook({ uri: crm.url('/crm') });
    ari.send(...loadFixture('dial_answered.jsonl'));
    await until(() => events(all).includes('webhook_failing'), 'the parent hears webhook_failing');
    expect(body(all.requests[0]!)).toMatchObject({ webhook_id: h.id, account_id: 'acme' });
    expect(own.requests).toHaveLength(0);
    expect((await (await fetch(`${run.daemon.url}/health`)).json()).webhooks_failing).toBe(1);
  });
});

describe('failover', () => {
  it('while the primary is down the failover gets the deliveries, probes keep testing the primary, then it gets them again', async () => {
    await start();
    const primary = await receiver();
    const failover = await receiver();
    let up = false;
    const primaryOkIds: unknown[] = [];
    primary.respond = (r) => {
      if (up) primaryOkIds.push(body(r).event_id);
      return { status: up ? 200 : 503 };
    };
    const h = await hook({ uri: primary.url('/primary'), failover_uri: failover.url('/failover') });
    expect(await read(h.id)).toMatchObject({ failover_uri: failover.url('/failover') });
    const frames = manyCalls(6);
    const third = frames.length / 3;
    const delivered = () => new Set([...failover.requests.map((r) => body(r).event_id), ...primaryOkIds]).size;
    ari.send(...frames.slice(0, third));
    await until(() => delivered() >= 16, 'the first calls delivered, through the failover');
    expect(failover.requests.length).toBeGreaterThanOrEqual(15); // the first try of one went to the primary and was held for the probe
    // back up: the next probe (the first delivery due once its time has come) finds it healthy
    up = true;
    await new Promise((r) => setTimeout(r, 300));
    ari.send(...frames.slice(third, 2 * third));
    await until(async () => (await read(h.id)).health === 'healthy', 'the primary recovers');
    await until(() => delivered() >= 32, 'the next calls delivered');
    const onFailover = failover.requests.length;
    ari.send(...frames.slice(2 * third));
    await until(() => delivered() >= 48, 'all calls delivered');
    // after the recovery nothing more went to the failover; nothing twice to one URI
    expect(failover.requests.length).toBe(onFailover);
    const ids = failover.requests.map((r) => body(r).event_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(primaryOkIds).size).toBe(primaryOkIds.length);
    // each attempt says which URI it used
    const attempts = (await run.api('GET', `${base}/${h.id}/attempts?page_size=1000`, token)).json.data as { uri: string; reason: string }[];
    expect(attempts.some((a) => a.uri === failover.url('/failover') && a.reason.startsWith('failover: HTTP 200'))).toBe(true);
    expect(attempts.some((a) => a.uri === primary.url('/primary') && a.reason.startsWith('probe: HTTP 503'))).toBe(true);
  }, 30_000);
});

describe('secret rotation', () => {
  it('during the grace period both secrets verify every request; after it only the new one', async () => {
    await start();
    const crm = await receiver();
    const h = await hook({ uri: crm.url('/crm') });
    const rotated = await run.api('POST', `${base}/${h.id}/secret/rotate`, token);
    expect(rotated.status).toBe(200);
    const fresh = rotated.json.data.secret as string;
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(h.secret);
    expect(rotated.json.data.previous_secret_expires).toBeGreaterThan(63_000_000_000);
    expect((await run.api('GET', `${base}/${h.id}/secret`, token)).json.data.secret).toBe(fresh);
    expect((await read(h.id)).secret).toBeUndefined();

    ari.send(...loadFixture('dial_answered.jsonl'));
    await crm.waitFor(8);
    for (const r of crm.requests) {
      const headers = r.headers as Record<string, string>;
      expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
      expect(new StandardWebhook(h.secret).verify(r.body, headers)).toBeTruthy();
      expect(new StandardWebhook(fresh).verify(r.body, headers)).toBeTruthy();
    }
    // a day and more later (the clock jumps while the next call is sent)
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 25 * 3_600_000 });
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await crm.waitFor(11);
    vi.useRealTimers();
    for (const r of crm.requests.slice(8)) {
      const headers = r.headers as Record<string, string>;
      expect(headers['webhook-signature']!.split(' ')).toHaveLength(1);
      expect(new StandardWebhook(fresh).verify(r.body, headers)).toBeTruthy();
      expect(() => new StandardWebhook(h.secret).verify(r.body, headers)).toThrow();
    }
  });
});

describe('fair shares between accounts', () => {
  it("one account's many slow receivers do not hold up another account's fast one", async () => {
    await start();
    const fast = await receiver();
    // account "acme" (the calls of manyCalls) has 12 slow webhooks: 12 × 8 slots > 64
    const slow: Receiver[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await receiver();
      r.respond = () => ({ status: 200, delayMs: 3000 });
      slow.push(r);
      await hook({ uri: r.url('/slow') });
    }
    const slowRequests = () => slow.reduce((n, r) => n + r.requests.length, 0);
    const other = (await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'globex', name: 'Globex', accountcodes: ['globex'] } })).json.data.auth_token;
    await run.api('PUT', '/api/v1/accounts/globex/webhooks', other, { data: { uri: fast.url('/fast'), hook: 'all', format: 'json' } });
    ari.send(...manyCalls(30));
    await until(() => slowRequests() >= 56, 'the slow account holds its share');
    const slowStarted = Date.now();
    ari.send(...loadFixture('globex.jsonl'));
    // the fast account's events arrive while the first slow requests are still unanswered
    await fast.waitFor(1, 2500);
    expect(Date.now() - slowStarted).toBeLessThan(2500);
    // the slow account got its share of the slots and no more
    expect(slowRequests()).toBeLessThanOrEqual(56);
  }, 30_000);
});
