/** Deliveries, retry, recover, test and auto-disable, through a whole in-process callhook. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeAri, loadFixture } from '../helpers/fake-ari.js';
import { Receiver } from '../helpers/receiver.js';
import { ADMIN, runDaemon, type Running } from '../helpers/daemon.js';

let ari: FakeAri;
let receiver: Receiver;
let run: Running;
let token: string;

/** callhook with CALLHOOK_DISABLE_AFTER set as the test needs */
async function start(disableAfter: string): Promise<void> {
  run = await runDaemon(ari, { CALLHOOK_DISABLE_AFTER: disableAfter });
  token = (await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'Acme', accountcodes: ['acme'], numbers: ['15550002'] } })).json.data
    .auth_token;
  await ari.waitForClient();
}

beforeEach(async () => {
  ari = await FakeAri.start();
  receiver = await Receiver.start();
});
afterEach(async () => {
  await run?.daemon.close();
  await ari.close();
  await receiver.close();
});

const base = '/api/v1/accounts/acme/webhooks';
const hook = async (data: Record<string, unknown>) => (await run.api('PUT', base, token, { data: { hook: 'all', format: 'json', ...data } })).json.data;
const deliveries = async (id: string, status = '') =>
  (await run.api('GET', `${base}/${id}/deliveries${status ? `?status=${status}` : ''}`, token)).json.data as Record<string, unknown>[];
const until = async (cond: () => Promise<boolean> | boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('auto-disable', () => {
  beforeEach(() => start('3'));
  it('disables a failing webhook, keeps collecting its events, and sends them all once re-enabled', async () => {
    receiver.respond = () => ({ status: 500 });
    const h = await hook({ uri: receiver.url('/crm'), retries: 10 });
    ari.send(...loadFixture('dial_answered.jsonl'));
    await until(async () => (await run.api('GET', `${base}/${h.id}`, token)).json.data.enabled === false);
    const disabled = (await run.api('GET', `${base}/${h.id}`, token)).json.data;
    expect(disabled.disabled_reason).toMatch(/^[3-9] failed tries within 60 s$/);
    const pending = await deliveries(h.id, 'pending');
    expect(pending.length).toBe(8);
    const tries = receiver.requests.length;
    // a call during the outage is kept for the webhook too, and nothing is sent meanwhile
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await until(async () => (await deliveries(h.id, 'pending')).length === 11);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests.length).toBe(tries);

    receiver.respond = () => ({ status: 200 });
    const patched = await run.api('PATCH', `${base}/${h.id}`, token, { data: { enabled: true } });
    expect(patched.json.data).toMatchObject({ enabled: true, disabled_reason: null });
    await until(async () => (await deliveries(h.id, 'succeeded')).length === 11);
    const delivered = new Set(receiver.requests.filter((r) => r.at > 0).map((r) => JSON.parse(r.body).event_id));
    expect(delivered.size).toBe(11);
  });

  it('tries that fail after the owner re-enabled the webhook, but were sent before, do not disable it again', async () => {
    // the first three tries fail at once and disable the webhook; the tries of the other legs
    // already on their way are answered 500 only 800 ms later, after the re-enable
    let fixed = false;
    receiver.respond = (_req, n) => (fixed ? { status: 200 } : n < 3 ? { status: 500 } : { status: 500, delayMs: 800 });
    const h = await hook({ uri: receiver.url('/crm'), retries: 10 });
    ari.send(...loadFixture('local.jsonl'), ...loadFixture('ringgroup.jsonl'), ...loadFixture('dial_answered.jsonl'));
    await until(async () => (await run.api('GET', `${base}/${h.id}`, token)).json.data.enabled === false);
    fixed = true;
    const heldAtFix = receiver.requests.length - 3;
    const reenabled = await run.api('PATCH', `${base}/${h.id}`, token, { data: { enabled: true } });
    expect(reenabled.json.data.enabled).toBe(true);
    // the held tries do fail after the re-enable…
    expect(heldAtFix).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1000));
    const late = (await run.api('GET', `${base}/${h.id}/attempts`, token)).json.data as { result: string; reason: string }[];
    expect(late.filter((a) => a.result === 'failure').length).toBeGreaterThanOrEqual(3 + heldAtFix);
    // …and the webhook stays enabled and delivers everything
    expect((await run.api('GET', `${base}/${h.id}`, token)).json.data).toMatchObject({ enabled: true, disabled_reason: null });
    await until(async () => (await deliveries(h.id, 'pending')).length === 0, 10_000);
    expect((await run.api('GET', `${base}/${h.id}`, token)).json.data.enabled).toBe(true);
    expect(await deliveries(h.id, 'failed')).toEqual([]);
  });

  it('a webhook its owner disabled collects nothing', async () => {
    const h = await hook({ uri: receiver.url('/crm') });
    await run.api('PATCH', `${base}/${h.id}`, token, { data: { enabled: false } });
    const other = await hook({ uri: receiver.url('/other') });
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await until(async () => (await deliveries(other.id, 'succeeded')).length === 3);
    expect(await deliveries(h.id)).toEqual([]);
  });

  it('bulk re-enable also releases what was kept', async () => {
    receiver.respond = () => ({ status: 503 });
    const h = await hook({ uri: receiver.url('/crm'), retries: 10 });
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await until(async () => (await run.api('GET', `${base}/${h.id}`, token)).json.data.enabled === false);
    receiver.respond = () => ({ status: 204 });
    await run.api('PATCH', base, token, { data: { 're-enable': true } });
    await until(async () => (await deliveries(h.id, 'succeeded')).length === 3);
  });
});

describe('deliveries API', () => {
  beforeEach(() => start('0'));
  it('lists by status, retries one, recovers failed ones', async () => {
    receiver.respond = () => ({ status: 404 });
    const h = await hook({ uri: receiver.url('/crm') });
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await until(async () => (await deliveries(h.id, 'failed')).length === 3);
    const failed = await deliveries(h.id, 'failed');
    expect(failed[0]).toMatchObject({ status: 'failed', tries: 1, last_error: 'HTTP 404; not retried', hook_event: 'channel_destroy' });
    expect(await deliveries(h.id, 'succeeded')).toEqual([]);

    receiver.respond = () => ({ status: 200 });
    const one = failed[2]!;
    expect((await run.api('POST', `${base}/${h.id}/deliveries/${one.id}/retry`, token)).status).toBe(200);
    await until(async () => (await deliveries(h.id, 'succeeded')).length === 1);
    expect((await deliveries(h.id, 'succeeded'))[0]!.id).toBe(one.id);
    expect((await run.api('POST', `${base}/${h.id}/deliveries/nope/retry`, token)).status).toBe(404);

    const rec = await run.api('POST', `${base}/${h.id}/recover`, token, { data: { since: 0 } });
    expect(rec.json.data.recovered).toBe(2);
    await until(async () => (await deliveries(h.id, 'succeeded')).length === 3);
    // every try of the same delivery carries the same webhook-id
    const ids = receiver.requests.filter((r) => JSON.parse(r.body).event_id === one.event_id).map((r) => r.headers['webhook-id']);
    expect(new Set(ids)).toEqual(new Set([one.id]));
  });

  it('refuses bad parameters', async () => {
    const h = await hook({ uri: receiver.url('/crm') });
    expect((await run.api('GET', `${base}/${h.id}/deliveries?status=lost`, token)).status).toBe(400);
    expect((await run.api('POST', `${base}/${h.id}/recover`, token, { data: {} })).status).toBe(400);
    expect((await run.api('POST', `${base}/${h.id}/recover`, token, { data: { since: 'yesterday' } })).status).toBe(400);
    expect((await run.api('GET', `${base}/nope/deliveries`, token)).status).toBe(404);
  });

  it('sends a test event now and records it as an attempt', async () => {
    const h = await hook({ uri: receiver.url('/crm'), hook: 'channel_answer', custom_data: { crm: 'x' } });
    const r = await run.api('POST', `${base}/${h.id}/test`, token);
    expect(r.status).toBe(200);
    expect(r.json.data).toMatchObject({ response_code: '200', result: 'success', hook_id: h.id });
    expect(receiver.requests).toHaveLength(1);
    expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({ hook_event: 'channel_answer', test: true, crm: 'x', account_id: 'acme' });
    const attempts = (await run.api('GET', `${base}/${h.id}/attempts`, token)).json.data;
    expect(attempts[0]).toMatchObject({ reason: 'test: HTTP 200' });
  });
});

describe('ids and page keys', () => {
  beforeEach(() => start('0'));
  it('reveal nothing across accounts: attempt ids and page keys are opaque, and another account cannot use them', async () => {
    const h = await hook({ uri: receiver.url('/crm') });
    ari.send(...loadFixture('dial_answered.jsonl'));
    await receiver.waitFor(8);
    await until(async () => (await run.api('GET', `${base}/${h.id}/attempts`, token)).json.data.length === 8);
    const page = (await run.api('GET', `${base}/${h.id}/attempts?page_size=3`, token)).json;
    for (const a of page.data) expect(a.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(page.next_start_key).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const next = (await run.api('GET', `${base}/${h.id}/attempts?page_size=3&start_key=${page.next_start_key}`, token)).json;
    expect(next.data).toHaveLength(3);
    expect(new Set([...page.data, ...next.data].map((a: { id: string }) => a.id)).size).toBe(6);
    const dpage = (await run.api('GET', `${base}/${h.id}/deliveries?page_size=2`, token)).json;
    expect(dpage.next_start_key).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect((await run.api('GET', `${base}/${h.id}/deliveries?page_size=2&start_key=${dpage.next_start_key}`, token)).json.data).toHaveLength(2);
    // another account's page key, or a plain counter, is refused
    const other = (await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'globex', name: 'Globex' } })).json.data.auth_token;
    const g = (await run.api('PUT', '/api/v1/accounts/globex/webhooks', other, { data: { uri: receiver.url('/g'), hook: 'all' } })).json.data;
    for (const key of [page.next_start_key, '12']) {
      expect((await run.api('GET', `/api/v1/accounts/globex/webhooks/${g.id}/attempts?start_key=${key}`, other)).status).toBe(400);
    }
  });
});
