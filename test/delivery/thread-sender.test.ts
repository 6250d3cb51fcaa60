import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { Webhook } from 'standardwebhooks';
import { jsonRequest } from '../../src/delivery/encode.js';
import { ThreadSender } from '../../src/delivery/thread-sender.js';
import { Receiver } from '../helpers/receiver.js';

const options = { connectTimeoutMs: 1000, timeoutMs: 2000, connections: 8, allowTargets: ['127.0.0.0/8'] };

describe('ThreadSender (requests from a worker thread)', () => {
  let receiver: Receiver;
  let sender: ThreadSender;
  beforeEach(async () => {
    receiver = await Receiver.start();
  });
  afterEach(async () => {
    await sender.close();
    await receiver.close();
  });

  it('sends each request with its headers and body and returns the answer', async () => {
    sender = new ThreadSender(options);
    receiver.respond = (r) => ({ status: r.path === '/busy' ? 429 : 200, headers: { 'retry-after': '7' }, body: `got ${r.body}` });
    const [a, b] = await Promise.all([
      sender.send(jsonRequest(receiver.url('/a'), 'post', '{"n":1}'), { 'x-test': 'one' }),
      sender.send(jsonRequest(receiver.url('/busy'), 'put', '{"n":2}'), { 'x-test': 'two' }),
    ]);
    expect(a).toMatchObject({ status: 200, body: 'got {"n":1}', error: undefined });
    expect(b).toMatchObject({ status: 429, retryAfter: '7', body: 'got {"n":2}' });
    const byPath = Object.fromEntries(receiver.requests.map((r) => [r.path, r]));
    expect(byPath['/a']).toMatchObject({ method: 'POST', headers: { 'x-test': 'one', 'content-type': 'application/json' } });
    expect(byPath['/busy']).toMatchObject({ method: 'PUT', body: '{"n":2}' });
  });

  it('signs a request in the thread, timestamped as it goes out', async () => {
    sender = new ThreadSender(options);
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const before = Math.floor(Date.now() / 1000);
    expect(await sender.send(jsonRequest(receiver.url(), 'post', '{"n":3}'), { 'x-hook-id': 'h1' }, { secrets: [secret], id: 'msg_1' })).toMatchObject({
      status: 200,
    });
    const got = receiver.requests[0]!;
    expect(got.headers).toMatchObject({ 'webhook-id': 'msg_1', 'x-hook-id': 'h1' });
    expect(Number(got.headers['webhook-timestamp'])).toBeGreaterThanOrEqual(before);
    expect(new Webhook(secret).verify(got.body, got.headers as Record<string, string>)).toEqual({ n: 3 });
  });

  it('keeps the first 1024 bytes of a long answer and does not read the rest', async () => {
    sender = new ThreadSender(options);
    receiver.respond = () => ({ status: 200, body: 'é'.repeat(300_000) });
    const res = await sender.send(jsonRequest(receiver.url(), 'post', '{}'), {});
    expect(res).toMatchObject({ status: 200, error: undefined });
    expect(res.body).toBe('é'.repeat(1024));
  });

  it('applies the target guard in the thread, to IP addresses and to names after DNS', async () => {
    sender = new ThreadSender({ ...options, allowTargets: [] });
    const byIp = await sender.send(jsonRequest(receiver.url(), 'post', '{}'), {});
    expect(byIp).toMatchObject({ status: undefined, error: expect.stringContaining('not allowed') });
    const byName = await sender.send(jsonRequest(receiver.url().replace('127.0.0.1', 'localhost'), 'post', '{}'), {});
    expect(byName).toMatchObject({ status: undefined, error: expect.stringMatching(/ETARGETBLOCKED: .*not allowed/) });
    expect(receiver.requests).toHaveLength(0);
  });

  it('refuses a bad allow-list when it is made, not later in the thread', () => {
    expect(() => new ThreadSender({ ...options, allowTargets: ['not-an-ip'] })).toThrow(/CALLHOOK_ALLOW_TARGETS/);
    sender = new ThreadSender(options);
  });

  it('fails the requests of a thread that dies, and sends the next ones from a new thread', async () => {
    sender = new ThreadSender(options);
    receiver.respond = () => ({ status: 200, delayMs: 1500 });
    const held = sender.send(jsonRequest(receiver.url(), 'post', '{}'), {});
    while (receiver.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    await (sender as unknown as { worker: Worker }).worker.terminate();
    expect(await held).toMatchObject({ status: undefined, error: 'the sending thread stopped' });
    receiver.respond = () => ({ status: 204 });
    expect(await sender.send(jsonRequest(receiver.url(), 'post', '{}'), {})).toMatchObject({ status: 204 });
  });
});
