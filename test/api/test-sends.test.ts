/**
 * POST …/webhooks/{id}/test through a whole callhook and a real receiver: within limits (per
 * webhook at most the per-hook concurrency in flight and 1 a second with a burst of 3, per
 * account 5 a second with a burst of 10; over them 429 with Retry-After in Kazoo's shape), and
 * without the receiver's answer body (in the answer and in the stored attempt).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeAri } from '../helpers/fake-ari.js';
import { Receiver } from '../helpers/receiver.js';
import { ADMIN, runDaemon, type Running } from '../helpers/daemon.js';

let ari: FakeAri;
let receiver: Receiver;
let run: Running;
let token: string;
const base = '/api/v1/accounts/acme/webhooks';

async function start(env: Record<string, string> = {}) {
  run = await runDaemon(ari, env);
  token = (await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'Acme' } })).json.data.auth_token;
}
const hook = async (data: Record<string, unknown> = {}) =>
  (await run.api('PUT', base, token, { data: { hook: 'channel_create', format: 'json', uri: receiver.url('/crm'), ...data } })).json.data.id as string;

/** POST …/test with the raw answer, to see its headers */
async function test(id: string): Promise<{ status: number; retryAfter: string | null; json: any }> {
  const res = await fetch(`${run.daemon.url}${base}/${id}/test`, { method: 'POST', headers: { 'x-auth-token': token } });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: await res.json() };
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

describe('test sends', () => {
  it("give status, timing and result, never the receiver's answer body (answer and stored attempt)", async () => {
    await start();
    receiver.respond = (r) => ({ status: r.path === '/crm' ? 200 : 500, body: '<html>router admin page: password=hunter2</html>' });
    const ok = await hook();
    const bad = await hook({ uri: receiver.url('/down') });
    const a = await test(ok);
    expect(a.status).toBe(200);
    expect(a.json.data).toMatchObject({
      response_code: '200',
      result: 'success',
      response_body: '',
      reason: 'test: HTTP 200',
      duration_ms: expect.any(Number),
    });
    const b = await test(bad);
    expect(b.json.data).toMatchObject({ response_code: '500', result: 'failure', response_body: '', reason: 'test: HTTP 500' });
    expect(JSON.stringify([a.json, b.json])).not.toContain('hunter2');
    // the try is recorded as an attempt, without the body too
    for (const id of [ok, bad]) {
      const attempts = (await run.api('GET', `${base}/${id}/attempts`, token)).json.data as Record<string, unknown>[];
      expect(attempts).toHaveLength(1);
      expect(attempts[0]).toMatchObject({ response_body: '', try: 1 });
    }
    expect(JSON.stringify((await run.api('GET', `${base}/attempts`, token)).json)).not.toContain('hunter2');
  });

  it('a burst of test sends of one webhook: 3 go out, the rest are 429 with Retry-After; one a second after that', async () => {
    await start();
    const id = await hook();
    const began = Date.now();
    const answers = await Promise.all(Array.from({ length: 20 }, () => test(id)));
    const elapsed = (Date.now() - began) / 1000;
    const sent = answers.filter((a) => a.status === 200);
    const limited = answers.filter((a) => a.status === 429);
    // the burst of 3, and what 1 a second gave back while the 20 were answered (a loaded machine)
    expect(sent.length).toBeGreaterThanOrEqual(3);
    expect(sent.length).toBeLessThanOrEqual(3 + Math.floor(elapsed));
    expect(limited).toHaveLength(20 - sent.length);
    for (const l of limited) {
      expect(Number(l.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(l.json).toEqual({ data: {}, error: '429', message: expect.stringMatching(/test sends/), status: 'error', request_id: expect.any(String) });
    }
    expect(receiver.requests).toHaveLength(sent.length);
    // only the tries that went out are attempts
    expect((await run.api('GET', `${base}/${id}/attempts`, token)).json.data).toHaveLength(sent.length);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await test(id)).status).toBe(200);
    expect((await test(id)).status).toBe(429);
    expect(receiver.requests).toHaveLength(sent.length + 1);
  });

  it('at most the per-hook concurrency of test sends in flight per webhook', async () => {
    await start({ CALLHOOK_HOOK_CONCURRENCY: '2' });
    receiver.respond = () => ({ status: 200, delayMs: 400 });
    const id = await hook();
    const first = [test(id), test(id)];
    await receiver.waitFor(2);
    const third = await test(id);
    expect(third).toMatchObject({ status: 429, retryAfter: '1', json: { error: '429', message: expect.stringContaining('in flight') } });
    expect((await Promise.all(first)).map((a) => a.status)).toEqual([200, 200]);
    // a slot is free again, and the burst has a token left
    expect((await test(id)).status).toBe(200);
  });

  it("limits an account's test sends across its webhooks (10 at once, then 5 a second)", async () => {
    await start();
    const ids = [await hook(), await hook(), await hook(), await hook()];
    const statuses: number[] = [];
    const began = Date.now();
    for (const id of ids) for (let i = 0; i < 3; i++) statuses.push((await test(id)).status);
    const elapsed = (Date.now() - began) / 1000;
    // the burst of 10, and what 5 a second refilled while the 12 went one after another
    const sent = statuses.filter((s) => s === 200).length;
    expect(sent).toBeGreaterThanOrEqual(10);
    expect(sent).toBeLessThanOrEqual(Math.min(12, 10 + Math.floor(elapsed * 5)));
    expect(statuses.filter((s) => s === 429)).toHaveLength(12 - sent);
    expect(receiver.requests).toHaveLength(sent);
  });
});
