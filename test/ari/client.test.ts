import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { AriClient, safeUrl } from '../../src/ari/client.js';
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

async function setup(opts: { password?: string; url?: (ari: FakeAri) => string; maxFrameBytes?: number } = {}) {
  const ari = await FakeAri.start({ password: 'secret' });
  const log = capture();
  const events: AriEvent[] = [];
  const client = new AriClient({
    url: opts.url ? opts.url(ari) : ari.url,
    ...(opts.maxFrameBytes ? { maxFrameBytes: opts.maxFrameBytes } : {}),
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
  cleanup.push(
    () => ari.close(),
    () => client.close(),
  );
  return { ari, client, events, log };
}

describe('AriClient', () => {
  it('connects with basic auth to /ari/events with subscribeAll and receives events', async () => {
    const { ari, client, events } = await setup();
    client.start();
    await ari.waitForClient();
    ari.send({
      type: 'ChannelCreated',
      channel: { id: '1', name: 'PJSIP/a-1', state: 'Ring', caller: { name: '', number: '' }, connected: { name: '', number: '' } },
    });
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
    expect(skipped.map((l) => l.reason)).toEqual([
      'frame is not JSON',
      'frame has no event type',
      'frame has no event type',
      'ChannelCreated: "channel" is not an ARI channel',
    ]);
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
    const client = new AriClient({
      url: `http://127.0.0.1:${port}`,
      username: 'callhook',
      password: 'secret',
      app: 'callhook',
      pingIntervalMs: 1000,
      logger: log.logger,
      onEvent: () => undefined,
      minBackoffMs: 20,
      maxBackoffMs: 50,
    });
    cleanup.push(() => client.close());
    client.start();
    await until(() => log.lines.filter((l) => l.msg === 'ARI not reachable; retrying').length >= 2);
    const ari = await FakeAri.start({ port });
    cleanup.push(() => ari.close());
    await ari.waitForClient();
    await until(() => client.status === 'connected');
  });
});

describe('AriClient and the credentials of its URL', () => {
  it('never logs a user:password of CALLHOOK_ARI_URL, at start or at a reconnect', async () => {
    const { ari, client, log } = await setup({ url: (a) => `http://operator:url-pass-7351@127.0.0.1:${a.port}` });
    client.start();
    await ari.waitForClient();
    ari.dropClients();
    await until(() => ari.connections === 2 && client.status === 'connected');
    const connected = log.lines.filter((l) => l.msg === 'ARI connected');
    expect(connected).toHaveLength(2);
    expect(connected[0]!.ari).toBe(`http://127.0.0.1:${ari.port}/`);
    expect(log.lines.some((l) => l.msg === 'ARI connection lost; reconnecting')).toBe(true);
    const text = JSON.stringify(log.lines);
    expect(text).not.toContain('url-pass-7351');
    expect(text).not.toContain('operator:');
    // the configured username/password are what authenticates (the fake ARI accepted them)
    expect(ari.rejected).toBe(0);
  });

  it('safeUrl drops the userinfo of any URL', () => {
    expect(safeUrl('http://user:pa%40ss@pbx.example:8088/asterisk')).toBe('http://pbx.example:8088/asterisk');
    expect(safeUrl('https://user@pbx.example')).toBe('https://pbx.example/');
    expect(safeUrl('wss://a:b@h/ari/events?app=x')).toBe('wss://h/ari/events?app=x');
    expect(safeUrl('http://127.0.0.1:8088')).toBe('http://127.0.0.1:8088/');
    // not parseable as a URL: still no userinfo
    expect(safeUrl('http://us er:secret@[bad')).not.toContain('secret');
  });
});

describe('AriClient frame limits and types', () => {
  const chan = (extra: Record<string, unknown> = {}) => ({
    id: '1',
    name: 'PJSIP/a-1',
    state: 'Ring',
    caller: { name: '', number: '' },
    connected: { name: '', number: '' },
    ...extra,
  });

  it('drops a frame larger than maxFrameBytes, says so, reconnects and goes on', async () => {
    const { ari, client, events, log } = await setup({ maxFrameBytes: 64 * 1024 });
    client.start();
    await ari.waitForClient();
    const big = JSON.stringify({ type: 'ChannelVarset', variable: 'X', value: 'x'.repeat(2 * 1024 * 1024), channel: chan() });
    ari.send(big);
    await until(() => ari.connections === 2 && client.status === 'connected');
    const line = log.lines.find((l) => l.msg === 'ARI sent a frame larger than CALLHOOK_ARI_MAX_FRAME_BYTES; dropped it and reconnecting');
    expect(line).toMatchObject({ level: 40, max_frame_bytes: 64 * 1024 });
    expect(events).toEqual([]);
    // a frame just under the cap still goes through
    ari.send({ type: 'ChannelVarset', variable: 'X', value: 'y'.repeat(60 * 1024), channel: chan() });
    await until(() => events.length === 1);
  });

  it('refuses a REST answer larger than 64 frames', async () => {
    const { ari, client } = await setup({ maxFrameBytes: 4096 });
    ari.channels = [{ pad: 'x'.repeat(64 * 4096) }];
    await expect(client.listChannels()).rejects.toThrow(/answered more than 262144 bytes/);
    ari.channels = [chan()];
    expect(await client.listChannels()).toHaveLength(1);
  });

  it('caps frames at 1 MiB by default', async () => {
    const { ari, client, events, log } = await setup();
    client.start();
    await ari.waitForClient();
    ari.send(JSON.stringify({ type: 'StasisStart', pad: 'x'.repeat(1024 * 1024) }));
    await until(() => ari.connections === 2);
    expect(events).toEqual([]);
    expect(log.lines.some((l) => l.max_frame_bytes === 1024 * 1024)).toBe(true);
  });

  it('gives the handler values of the documented types only, and no __proto__/constructor/prototype keys', async () => {
    const { ari, client, events } = await setup();
    client.start();
    await ari.waitForClient();
    ari.send(
      '{"type":"ChannelCreated","timestamp":"2026-11-24T14:45:50.037+0000","asterisk_id":7,' +
        '"channel":{"id":"1","name":"PJSIP/a-1","state":"Ring","protocol_id":["x"],' +
        '"caller":{"name":null,"number":[1]},"connected":{"name":{"a":1},"number":201},' +
        '"accountcode":{"x":1},"dialplan":{"context":"c","exten":["15550001"],"priority":"1"},' +
        '"channelvars":{"__proto__":{"polluted":"yes"},"constructor":"c","prototype":"p","CALLHOOK_ACCOUNT":"acme","N":5,"O":{"a":1}}},' +
        '"__proto__":{"polluted":"yes"}}',
    );
    await until(() => events.length === 1);
    const ev = events[0]!;
    const ch = ev.channel!;
    expect(ch.caller).toEqual({ name: '', number: '' });
    expect(ch.connected).toEqual({ name: '', number: '201' });
    expect(ch.protocol_id).toBeUndefined();
    expect(ch.accountcode).toBeUndefined();
    expect(ch.dialplan).toEqual({ context: 'c' });
    expect(ev.asterisk_id).toBe('7'); // a number where a string belongs is read as its text
    expect(Object.keys(ch.channelvars!)).toEqual(['CALLHOOK_ACCOUNT', 'N']);
    expect({ ...ch.channelvars }).toEqual({ CALLHOOK_ACCOUNT: 'acme', N: '5' });
    expect(Object.prototype.hasOwnProperty.call(ev, '__proto__')).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parseAriFrame', () => {
  it('accepts ARI timestamps with +0000 offsets and rejects bad ones', () => {
    expect('event' in parseAriFrame('{"type":"X","timestamp":"2026-11-24T14:45:50.037+0000"}')).toBe(true);
    expect(parseAriFrame('{"type":"X","timestamp":"yesterday"}')).toEqual({ error: 'X: bad timestamp' });
    expect(parseAriFrame('{"type":"ChannelEnteredBridge","bridge":{"id":"b"}}')).toEqual({ error: 'ChannelEnteredBridge: "bridge" is not an ARI bridge' });
  });
});
