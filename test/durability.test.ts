/**
 * Nothing is lost: callhook killed with SIGKILL at random moments while a fake ARI streams
 * thousands of events, and a receiver that is down for a while. Real processes, real store,
 * real clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeAri } from './helpers/fake-ari.js';
import { Receiver, type Received } from './helpers/receiver.js';
import { freePort } from './helpers/net.js';
import { expectedEvents, manyCalls } from './helpers/calls.js';
import { ADMIN, runDaemon, type Running } from './helpers/daemon.js';

const ACCOUNTS = [{ id: 'acme', realm: null, parent_id: null, numbers: [], accountcodes: ['acme'] }];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Replays the whole stream to every new ARI client, in chunks. ARI itself has no replay: a
 * real callhook loses what Asterisk sends while it is down and learns it from GET
 * /ari/channels. The replay (same event ids, de-duplicated by the store) stands for "the
 * PBX keeps producing"; the channel list callhook reconciles with is what was live at the
 * furthest point the stream had reached.
 */
function replayOnConnect(ari: FakeAri, frames: string[]): void {
  let furthest = 0;
  const liveAt = (n: number) => {
    const live = new Map<string, unknown>();
    for (const f of frames.slice(0, n)) {
      const e = JSON.parse(f) as { type: string; channel?: { id: string } };
      if (e.type === 'ChannelDestroyed') live.delete(e.channel!.id);
      else if (e.channel) live.set(e.channel.id, e.channel);
    }
    return [...live.values()];
  };
  ari.onConnect = (ws) => {
    ari.channels = liveAt(furthest);
    let i = 0;
    const next = () => {
      if (ws.readyState !== ws.OPEN) return;
      for (const end = Math.min(frames.length, i + 200); i < end; i++) ws.send(frames[i]!);
      furthest = Math.max(furthest, i);
      if (i < frames.length) setTimeout(next, 5);
    };
    next();
  };
}

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** callhook as a real process on a fresh data directory; start() spawns it and waits for /health */
async function callhookProcess(ari: FakeAri, extra: Record<string, string> = {}) {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '',
    CALLHOOK_DATA_DIR: mkdtempSync(join(tmpdir(), 'callhook-durability-')),
    CALLHOOK_PORT: String(port),
    CALLHOOK_ARI_URL: ari.url,
    CALLHOOK_ARI_USERNAME: ari.username,
    CALLHOOK_ARI_PASSWORD: ari.password,
    CALLHOOK_ADMIN_TOKEN: ADMIN,
    CALLHOOK_ALLOW_TARGETS: '127.0.0.0/8',
    LOG_LEVEL: 'silent',
    ...extra,
  };
  const start = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, [new URL('../dist/cli.js', import.meta.url).pathname], { env, stdio: 'ignore' });
    cleanup.push(() => void child.kill('SIGKILL'));
    for (
      let i = 0;
      !(await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      ));
      i++
    ) {
      if (i > 400) throw new Error('callhook did not start');
      await sleep(10);
    }
    return child;
  };
  const api = (method: string, path: string, token: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
      method,
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then((r) => r.json() as Promise<{ data: Record<string, string> }>);
  return { start, api };
}

describe('crash safety', () => {
  it('SIGKILL at random moments loses nothing; repeats carry the same webhook-id', async () => {
    const frames = manyCalls(40);
    const expected = expectedEvents(frames, ACCOUNTS);
    expect(frames.length).toBeGreaterThan(3000);
    expect(expected.size).toBe(320);

    const ari = await FakeAri.start();
    const receiver = await Receiver.start();
    receiver.respond = (_r, n) => ({ status: 200, delayMs: n % 7 === 0 ? 20 : 0 });
    cleanup.push(
      () => ari.close(),
      () => receiver.close(),
    );

    const callhook = await callhookProcess(ari, {
      CALLHOOK_TIMEOUT_MS: '1000',
      CALLHOOK_LEASE_MS: '1500',
      CALLHOOK_RETRY_BASE_MS: '50',
      CALLHOOK_RETRY_MAX_MS: '200',
      CALLHOOK_POLL_MS: '50',
    });
    let child = await callhook.start();
    const token = (await callhook.api('POST', '/accounts', ADMIN, { data: { id: 'acme', name: 'Acme', accountcodes: ['acme'] } })).data.auth_token!;
    await callhook.api('PUT', '/accounts/acme/webhooks', token, { data: { uri: receiver.url('/crm'), hook: 'all', format: 'json', retries: 20 } });
    // the PBX starts producing once the webhook exists (events stored before have no delivery)
    replayOnConnect(ari, frames);
    ari.dropClients();

    // five kills at random moments (printed, to replay a failure)
    const kills = Array.from({ length: 5 }, () => 50 + Math.floor(Math.random() * 650));
    for (const after of kills) {
      await sleep(after);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      child = await callhook.start();
    }

    const seen = () => new Set(receiver.requests.map((r) => JSON.parse(r.body).event_id as string));
    for (let i = 0; [...expected.keys()].some((id) => !seen().has(id)); i++) {
      if (i > 600) {
        const missing = [...expected].filter(([id]) => !seen().has(id)).map(([, what]) => what);
        throw new Error(`missing ${missing.length} of ${expected.size} events: ${JSON.stringify(missing.slice(0, 5))}`);
      }
      await sleep(50);
    }
    child.kill('SIGTERM');

    const byEvent = new Map<string, Set<string>>();
    for (const r of receiver.requests) {
      const id = JSON.parse(r.body).event_id as string;
      expect(expected.has(id), `unexpected event ${id}`).toBe(true);
      byEvent.set(id, (byEvent.get(id) ?? new Set()).add(String(r.headers['webhook-id'])));
    }
    expect(byEvent.size).toBe(expected.size);
    for (const ids of byEvent.values()) expect(ids.size).toBe(1);
    console.log(`SIGKILL test: kills after ${kills.join(', ')} ms; ${receiver.requests.length} requests for ${expected.size} events`);
  }, 90_000);
});

describe('graceful shutdown', () => {
  it('SIGTERM lets a request in flight finish; the rest goes out after the next start, nothing twice', async () => {
    const ari = await FakeAri.start();
    const receiver = await Receiver.start();
    cleanup.push(
      () => ari.close(),
      () => receiver.close(),
    );
    receiver.respond = (_r, n) => ({ status: 200, delayMs: n === 0 ? 1000 : 0 });
    const { start, api } = await callhookProcess(ari);
    let child = await start();
    const token = (await api('POST', '/accounts', ADMIN, { data: { id: 'acme', name: 'Acme', accountcodes: ['acme'] } })).data.auth_token!;
    await api('PUT', '/accounts/acme/webhooks', token, { data: { uri: receiver.url('/crm'), hook: 'all', format: 'json' } });
    await ari.waitForClient();
    ari.send(...manyCalls(1).slice(0, 30)); // create and answer of both legs
    for (let i = 0; receiver.requests.length === 0; i++) {
      if (i > 200) throw new Error('nothing sent');
      await sleep(10);
    }
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const sentBefore = receiver.requests.length;
    expect(sentBefore).toBeGreaterThanOrEqual(1);

    child = await start();
    await ari.waitForConnections(2);
    for (let i = 0; new Set(receiver.requests.map((r) => r.body)).size < 4; i++) {
      if (i > 300) throw new Error(`only ${receiver.requests.length} requests`);
      await sleep(20);
    }
    await sleep(300);
    // the request that was in flight at SIGTERM finished and was recorded: it is not sent again
    const ids = receiver.requests.map((r) => JSON.parse(r.body).event_id as string);
    expect(ids.length).toBe(new Set(ids).size);
    child.kill('SIGTERM');
  }, 30_000);
});

const LEG_ORDER = ['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy'];

/** each leg's hook_events in the order of their first receipt (repeats of an event left out) */
function firstReceiptsPerLeg(requests: Received[]): Map<string, string[]> {
  const firsts = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const r of requests) {
    const p = JSON.parse(r.body) as { event_id: string; channel_id: string; hook_event: string };
    if (seen.has(p.event_id)) continue;
    seen.add(p.event_id);
    firsts.set(p.channel_id, [...(firsts.get(p.channel_id) ?? []), p.hook_event]);
  }
  return firsts;
}

describe('receiver outage', () => {
  let run: Running;
  it('connection refused, then 503, then up: everything arrives and each leg stays in order', async () => {
    const frames = manyCalls(10);
    const expected = expectedEvents(frames, ACCOUNTS);
    const ari = await FakeAri.start();
    cleanup.push(() => ari.close());
    run = await runDaemon(ari, { CALLHOOK_DISABLE_AFTER: '0' });
    cleanup.push(() => run.daemon.close());
    const token = (await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'Acme', accountcodes: ['acme'] } })).json.data.auth_token;
    const port = await freePort();
    await run.api('PUT', '/api/v1/accounts/acme/webhooks', token, {
      data: { uri: `http://127.0.0.1:${port}/crm`, hook: 'all', format: 'json', retries: 20 },
    });
    await ari.waitForClient();
    for (const f of frames) ari.send(f);

    await sleep(700); // nothing listens: connection refused
    const receiver = await Receiver.start(port);
    cleanup.push(() => receiver.close());
    const upAt = Date.now() + 700;
    receiver.respond = () => (Date.now() < upAt ? { status: 503 } : { status: 200 });

    const ok = () => receiver.requests.filter((r) => r.at >= upAt);
    for (let i = 0; new Set(ok().map((r) => JSON.parse(r.body).event_id)).size < expected.size; i++) {
      if (i > 300) throw new Error('not everything arrived');
      await sleep(50);
    }
    expect(receiver.requests.some((r) => r.at < upAt)).toBe(true);
    // per leg, the first successful receipt of each event comes in event order
    const firsts = firstReceiptsPerLeg(ok());
    expect(firsts.size).toBe(20);
    for (const seq of firsts.values()) expect(seq).toEqual(LEG_ORDER);
  }, 60_000);
});

describe('a receiver that goes away and comes back, with the defaults', () => {
  it('503 for 60 s while calls go on: every call event arrives within 60 s of its return, per leg in order, nobody calls the API', async () => {
    const frames = manyCalls(40);
    const expected = expectedEvents(frames, ACCOUNTS);
    const perCall = frames.length / 40;
    const ari = await FakeAri.start();
    const receiver = await Receiver.start();
    cleanup.push(
      () => ari.close(),
      () => receiver.close(),
    );
    // only what a test needs to run at all: the receiver is on loopback, an admin token, quiet logs
    const callhook = await callhookProcess(ari);
    await callhook.start();
    const token = (await callhook.api('POST', '/accounts', ADMIN, { data: { id: 'acme', name: 'Acme', accountcodes: ['acme'] } })).data.auth_token!;
    const hook = (await callhook.api('PUT', '/accounts/acme/webhooks', token, { data: { uri: receiver.url('/crm'), hook: 'all', format: 'json' } })).data;
    await ari.waitForClient();

    const downUntil = Date.now() + 60_000;
    receiver.respond = () => (Date.now() < downUntil ? { status: 503 } : { status: 200 });
    // a call every 1.4 s for the whole outage
    for (let c = 0; c < 40; c++) {
      for (const f of frames.slice(c * perCall, (c + 1) * perCall)) ari.send(f);
      await sleep(1400);
    }
    const during = (await callhook.api('GET', `/accounts/acme/webhooks/${hook.id}`, token)).data as unknown as Record<string, unknown>;
    expect(during).toMatchObject({ enabled: true, health: 'failing' });
    expect(during.pending).toBeGreaterThan(0);
    await sleep(Math.max(0, downUntil - Date.now()));

    const ok = () => receiver.requests.filter((r) => r.at >= downUntil);
    while (new Set(ok().map((r) => JSON.parse(r.body).event_id)).size < expected.size) {
      if (Date.now() > downUntil + 60_000)
        throw new Error(`${new Set(ok().map((r) => JSON.parse(r.body).event_id)).size} of ${expected.size} arrived within 60 s`);
      await sleep(100);
    }
    // while it was failing only probes went out: a handful of requests, not hundreds
    const tries = receiver.requests.filter((r) => r.at < downUntil).length;
    expect(tries).toBeLessThan(40);
    const firsts = firstReceiptsPerLeg(ok());
    expect(firsts.size).toBe(80);
    for (const seq of firsts.values()) expect(seq).toEqual(LEG_ORDER);
    const after = (await callhook.api('GET', `/accounts/acme/webhooks/${hook.id}`, token)).data as unknown as Record<string, unknown>;
    expect(after).toMatchObject({ enabled: true, health: 'healthy', failing_since: null, pending: 0, last_error: 'HTTP 503' });
  }, 200_000);
});
