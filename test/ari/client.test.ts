import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { AriClient } from '../../src/ari/client.js';
import { parseAriFrame, type AriEvent } from '../../src/ari/events.js';
import { FakeAri } from '../helpers/fake-ari.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(opts: { password?: string } = {}) {
  const ari = await FakeAri.start({ password: 'secret' });
  const log = capture();
  const events: AriEvent[] = [];
  const client = new AriClient({
    url: ari.url,
    username: 'callhook',
    password: opts.password ?? 'secret',
    app: 'callhook',
    pingIntervalMs: 200,
    logger: log.logger,
    onEvent: (e) => {
      if (e.type === 'Boom') throw new Error('handler exploded');
      events.push(e);
    },
    minBackoffMs: 20,
    maxBackoffMs: 100,
  });
  cleanup.push(() => ari.close(), () => client.close());
  return { ari, client, events, log };
}

describe('AriClient', () => {
  it('connects with basic auth to /ari/events with subscribeAll and receives events', async () => {
    const { ari, client, events } = await setup();
    client.start();
    await ari.waitForClient();
    ari.send({ type: 'ChannelCreated', channel: { id: '1', name: 'PJSIP/a-1', state: 'Ring', caller: { name: '', number: '' }, connected: { name: '', number: '' } } });
    await until(() => events.length === 1);
    expect(events[0]!.type).toBe('ChannelCreated');
    expect(client.status).toBe('connected');
    expect(await client.getInfo()).toMatchObject({ system: { version: '22.10.1' } });
  });

  it('logs and skips malformed frames and handler errors, and keeps the socket', async () => {
    const { ari, client, events, log } = await setup();
    client.start();
    await ari.waitForClient();
    ari.send('not json', '[1,2]', '{"no":"type"}', '{"type":"ChannelCreated","channel":{"id":1}}', '{"type":"Boom"}', '{"type":"StasisStart"}');
    await until(() => events.length === 1);
    expect(events.map((e) => e.type)).toEqual(['StasisStart']);
    const skipped = log.lines.filter((l) => l.msg === 'skipped a malformed ARI frame');
    expect(skipped.map((l) => l.reason)).toEqual(['frame is not JSON', 'frame has no event type', 'frame has no event type', 'ChannelCreated: "channel" is not an ARI channel']);
    expect(log.lines.some((l) => l.msg === 'ARI event handler failed; event skipped')).toBe(true);
    expect(ari.connections).toBe(1);
  });

  it('reconnects after the socket drops, and keeps retrying while Asterisk is down', async () => {
    const { ari, client, log } = await setup();
    client.start();
    await ari.waitForClient();
    ari.dropClients();
    await until(() => ari.connections === 2);
    expect(log.lines.some((l) => l.msg === 'ARI connection lost; reconnecting')).toBe(true);
  });

  it('keeps retrying with a wrong password and says why', async () => {
    const { ari, client, log } = await setup({ password: 'wrong' });
    client.start();
    await until(() => ari.rejected >= 3);
    const retry = log.lines.find((l) => l.msg === 'ARI not reachable; retrying');
    expect(retry?.reason).toMatch(/401/);
    expect(JSON.stringify(log.lines)).not.toContain('wrong');
    expect(client.status).not.toBe('connected');
  });

  it('starts before Asterisk and connects once it is up', async () => {
    const probe = await FakeAri.start();
    const port = probe.port;
    await probe.close();
    const log = capture();
    const client = new AriClient({ url: `http://127.0.0.1:${port}`, username: 'callhook', password: 'secret', app: 'callhook', pingIntervalMs: 1000, logger: log.logger, onEvent: () => undefined, minBackoffMs: 20, maxBackoffMs: 50 });
    cleanup.push(() => client.close());
    client.start();
    await until(() => log.lines.filter((l) => l.msg === 'ARI not reachable; retrying').length >= 2);
    const ari = await FakeAri.start({ port });
    cleanup.push(() => ari.close());
    await ari.waitForClient();
    await until(() => client.status === 'connected');
  });
});

describe('parseAriFrame', () => {
  it('accepts ARI timestamps with +0000 offsets and rejects bad ones', () => {
    expect('event' in parseAriFrame('{"type":"X","timestamp":"2026-11-24T14:45:50.037+0000"}')).toBe(true);
    expect(parseAriFrame('{"type":"X","timestamp":"yesterday"}')).toEqual({ error: 'X: bad timestamp' });
    expect(parseAriFrame('{"type":"ChannelEnteredBridge","bridge":{"id":"b"}}')).toEqual({ error: 'ChannelEnteredBridge: "bridge" is not an ARI bridge' });
  });
});
