/**
 * GET /metrics and GET /health/ready of a whole in-process callhook: real calls from the
 * fixtures through the fake ARI to real receivers, scraped over HTTP before and after.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeAri, loadFixture } from './helpers/fake-ari.js';
import { Receiver } from './helpers/receiver.js';
import { ADMIN, runDaemon, type Running } from './helpers/daemon.js';
import { freePort } from './helpers/net.js';
import { dropSchemas, freshSchema, postgresReady } from './helpers/postgres.js';
import { pino } from 'pino';
import { LATENCY_BUCKETS, Metrics } from '../src/metrics/registry.js';
import { readiness } from '../src/metrics/ready.js';

let ari: FakeAri | undefined;
let run: Running | undefined;
const receivers: Receiver[] = [];

afterEach(async () => {
  await run?.daemon.close();
  run = undefined;
  await ari?.close();
  ari = undefined;
  for (const r of receivers.splice(0)) await r.close();
  await dropSchemas();
});

async function receiver(respond?: Receiver['respond']): Promise<Receiver> {
  const r = await Receiver.start();
  if (respond) r.respond = respond;
  receivers.push(r);
  return r;
}

const until = async (cond: () => Promise<boolean> | boolean, what: string, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not in time`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

// a sample: name{labels} value (labels name="value", comma-separated, quotes and backslashes escaped)
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\.)*"';
const SAMPLE = new RegExp(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?:${LABEL}(?:,${LABEL})*)?\\})? (-?[0-9.eE+-]+|NaN|\\+Inf|-Inf)$`);

/** the samples of an exposition by `name{labels}` (labels as written); throws on a line that is not one */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    out.set(m[1]! + (m[2] ?? ''), Number(m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : m[3]));
  }
  return out;
}

async function scrape(r: Running = run!): Promise<{ samples: Map<string, number>; text: string; type: string }> {
  const res = await fetch(`${r.daemon.url}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { samples: parse(text), text, type: res.headers.get('content-type') ?? '' };
}

/** one sample's value; a sample that is not there fails the test */
function value(samples: Map<string, number>, key: string): number {
  const v = samples.get(key);
  if (v === undefined) throw new Error(`no sample ${key}`);
  return v;
}

/** how much each sample moved from `a` to `b` */
const delta = (a: Map<string, number>, b: Map<string, number>, key: string) => value(b, key) - value(a, key);

/** the frames of a fixture, every time in them moved so that its last event happened at `lastAt` (unix ms) */
function stamped(fixture: string, lastAt: number): string[] {
  const frames = loadFixture(fixture).map((e) => JSON.stringify(e));
  const times = (f: string) => [...f.matchAll(/"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\+0000"/g)].map((m) => Date.parse(`${m[1]}Z`));
  const last = Math.max(...frames.flatMap(times));
  const shift = lastAt - last;
  return frames.map((f) =>
    f.replace(
      /"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\+0000"/g,
      (_m, t: string) => `"${new Date(Date.parse(`${t}Z`) + shift).toISOString().replace('Z', '+0000')}"`,
    ),
  );
}

async function start(env: Record<string, string> = {}): Promise<string> {
  ari ??= await FakeAri.start();
  run = await runDaemon(ari, env);
  const token = (await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'Acme', accountcodes: ['acme'], numbers: ['15550002'] } })).json
    .data.auth_token as string;
  await ari.waitForClient();
  return token;
}

async function hook(token: string, uri: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await run!.api('PUT', '/api/v1/accounts/acme/webhooks', token, { data: { name: 'h', hook: 'all', format: 'json', uri, ...extra } });
  expect(r.status).toBe(201);
  return r.json.data.id as string;
}

const delivered = 'callhook_deliveries_total{result="delivered"}';
const bucket = (le: number | '+Inf') => `callhook_delivery_latency_seconds_bucket{le="${le}"}`;

describe('GET /metrics', () => {
  it('counts the call events, tries, deliveries and their latency of real calls', async () => {
    const token = await start();
    const crm = await receiver();
    const id = await hook(token, crm.url('/crm'));
    const before = (await scrape()).samples;

    // a call that happens now (8 call events), and one whose events happened 20 s ago (3)
    ari!.send(...stamped('dial_answered.jsonl', Date.now()));
    await crm.waitFor(8);
    ari!.send(...stamped('ivr_answered.jsonl', Date.now() - 20_000));
    await crm.waitFor(11);
    let after = before;
    await until(async () => delta(before, (after = (await scrape()).samples), delivered) === 11, 'eleven deliveries counted');
    await new Promise((r) => setTimeout(r, 100));
    after = (await scrape()).samples;

    const moved = (key: string) => delta(before, after, key);
    expect(moved('callhook_call_events_total{hook_event="channel_create"}')).toBe(3);
    expect(moved('callhook_call_events_total{hook_event="channel_answer"}')).toBe(3);
    expect(moved('callhook_call_events_total{hook_event="channel_bridge"}')).toBe(2);
    expect(moved('callhook_call_events_total{hook_event="channel_destroy"}')).toBe(3);
    expect(moved('callhook_ari_events_received_total')).toBe(82 + 15);
    expect(moved('callhook_ari_events_committed_total')).toBe(82 + 15);
    expect(moved('callhook_events_stored_total')).toBe(11);
    expect(moved('callhook_events_lost_total')).toBe(0);
    expect(value(after, 'callhook_ingest_queue_length')).toBe(0);

    expect(moved(delivered)).toBe(11);
    expect(moved('callhook_deliveries_total{result="failed"}')).toBe(0);
    expect(moved('callhook_deliveries_total{result="expired"}')).toBe(0);
    expect(moved('callhook_delivery_attempts_total{status_class="2xx"}')).toBe(11);
    for (const c of ['3xx', '4xx', '5xx', 'error', 'timeout']) expect(moved(`callhook_delivery_attempts_total{status_class="${c}"}`)).toBe(0);

    // the call made now lasted 1.5 s: its 8 events reached the receiver within 2.5 s of
    // happening; the 3 of the call that ended 20 s ago between 10 and 30 s after
    expect(moved('callhook_delivery_latency_seconds_count')).toBe(11);
    expect(moved(bucket(2.5))).toBe(8);
    expect(moved(bucket(10))).toBe(8);
    expect(moved(bucket(30))).toBe(11);
    expect(moved(bucket(60))).toBe(11);
    expect(moved(bucket('+Inf'))).toBe(11);
    const sum = moved('callhook_delivery_latency_seconds_sum');
    expect(sum).toBeGreaterThan(3 * 20);
    expect(sum).toBeLessThan(3 * 23 + 8 * 2.5);
    // buckets are cumulative and every one is there
    for (const [i, le] of LATENCY_BUCKETS.entries())
      if (i > 0) expect(value(after, bucket(le))).toBeGreaterThanOrEqual(value(after, bucket(LATENCY_BUCKETS[i - 1]!)));

    expect(value(after, 'callhook_deliveries_pending')).toBe(0);
    expect(value(after, 'callhook_oldest_pending_delivery_age_seconds')).toBe(0);
    expect(value(after, 'callhook_webhooks{health="healthy"}')).toBe(1);
    expect(value(after, 'callhook_ari_connected')).toBe(1);
    expect(value(after, 'callhook_call_legs_open')).toBe(0);

    // bounded labels: no webhook, account or call id anywhere
    const { text } = await scrape();
    for (const leak of [id, 'acme', '1795531556', '1-11659@127.0.0.1']) expect(text).not.toContain(leak);
  }, 30_000);

  it('down receivers: tries by status class, given-up deliveries, the pending backlog and its age, webhooks by health', async () => {
    const token = await start({ CALLHOOK_TIMEOUT_MS: '300', CALLHOOK_CONNECT_TIMEOUT_MS: '300' });
    const down = await receiver(() => ({ status: 503 }));
    const slow = await receiver(() => ({ status: 200, delayMs: 1500 }));
    const refusing = await receiver(() => ({ status: 400 }));
    const gone = `http://127.0.0.1:${await freePort()}/nobody`;
    await hook(token, down.url('/down'));
    await hook(token, slow.url('/slow'));
    await hook(token, refusing.url('/refuses'));
    await hook(token, gone);
    const before = (await scrape()).samples;
    expect(value(before, 'callhook_webhooks{health="healthy"}')).toBe(4);
    expect(value(before, 'callhook_webhooks{health="failing"}')).toBe(0);

    const sentAt = Date.now();
    ari!.send(...stamped('dial_answered.jsonl', sentAt));
    let after = before;
    // the three that do not answer, answer too late or are not there are failing; the one that refuses is not
    await until(async () => value((after = (await scrape()).samples), 'callhook_webhooks{health="failing"}') === 3, 'three webhooks failing');
    expect(value(after, 'callhook_webhooks{health="healthy"}')).toBe(1);
    expect(value(after, 'callhook_webhooks{health="disabled"}')).toBe(0);
    // 400 is not retried: each of its 8 deliveries is given up after one try
    await until(async () => delta(before, (after = (await scrape()).samples), 'callhook_deliveries_total{result="failed"}') === 8, 'eight deliveries given up');
    await until(async () => value((after = (await scrape()).samples), 'callhook_deliveries_pending') === 24, '24 deliveries pending');
    const moved = (key: string) => delta(before, after, key);
    expect(moved('callhook_delivery_attempts_total{status_class="4xx"}')).toBe(8);
    // five tries in a row make a webhook failing; probes follow
    expect(moved('callhook_delivery_attempts_total{status_class="5xx"}')).toBeGreaterThanOrEqual(5);
    expect(moved('callhook_delivery_attempts_total{status_class="timeout"}')).toBeGreaterThanOrEqual(5);
    expect(moved('callhook_delivery_attempts_total{status_class="error"}')).toBeGreaterThanOrEqual(5);
    expect(moved('callhook_delivery_attempts_total{status_class="2xx"}')).toBe(0);
    expect(moved(delivered)).toBe(0);
    expect(moved('callhook_delivery_latency_seconds_count')).toBe(0);

    // the oldest pending delivery was stored right after the call was sent
    await new Promise((r) => setTimeout(r, 1200));
    const { samples } = await scrape();
    const age = value(samples, 'callhook_oldest_pending_delivery_age_seconds');
    expect(age).toBeGreaterThanOrEqual(1.2);
    expect(age).toBeLessThanOrEqual((Date.now() - sentAt) / 1000 + 0.05);
    expect(value(samples, 'callhook_deliveries_in_flight')).toBeGreaterThanOrEqual(0);

    // a failing webhook its owner disables counts as disabled
    const hooks = (await run!.api('GET', '/api/v1/accounts/acme/webhooks', token)).json.data as { id: string; uri: string }[];
    const downId = hooks.find((h) => h.uri === down.url('/down'))!.id;
    expect((await run!.api('PATCH', `/api/v1/accounts/acme/webhooks/${downId}`, token, { data: { enabled: false } })).status).toBe(200);
    await until(async () => value((await scrape()).samples, 'callhook_webhooks{health="disabled"}') === 1, 'one webhook disabled');
    expect(value((await scrape()).samples, 'callhook_webhooks{health="failing"}')).toBe(2);
  }, 30_000);

  it('is Prometheus text with help and type for every metric, the default process metrics among them', async () => {
    await start();
    const { text, samples, type } = await scrape();
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      'callhook_process_cpu_user_seconds_total',
      'callhook_process_resident_memory_bytes',
      'callhook_process_start_time_seconds',
      'callhook_nodejs_heap_size_used_bytes',
      'callhook_nodejs_eventloop_lag_seconds',
    ]) {
      expect(samples.has(name), name).toBe(true);
    }
    expect(value(samples, 'callhook_process_resident_memory_bytes')).toBeGreaterThan(10 * 2 ** 20);
    // every sample belongs to a family announced with # HELP and # TYPE, every name prefixed
    const families = new Set([...text.matchAll(/^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/gm)].map((m) => m[1]!));
    expect(new Set([...text.matchAll(/^# HELP (\S+) /gm)].map((m) => m[1]!))).toEqual(families);
    for (const key of samples.keys()) {
      const name = key.replace(/\{.*$/, '');
      expect(name.startsWith('callhook_'), name).toBe(true);
      expect(families.has(name) || families.has(name.replace(/_(bucket|sum|count)$/, '')), name).toBe(true);
    }
    for (const name of ['callhook_call_events_total', 'callhook_deliveries_total', 'callhook_delivery_attempts_total', 'callhook_ari_reconnects_total']) {
      expect(text).toContain(`# TYPE ${name} counter`);
    }
    expect(text).toContain('# TYPE callhook_delivery_latency_seconds histogram');
    expect(text).toContain('# TYPE callhook_webhooks gauge');
  });

  it('counts ARI reconnects; two daemons in one process keep their own counts', async () => {
    await start();
    const other = await runDaemon(ari!);
    try {
      await ari!.waitForConnections(2);
      const before = (await scrape()).samples;
      const otherBefore = (await scrape(other)).samples;
      ari!.dropClients();
      await until(async () => delta(before, (await scrape()).samples, 'callhook_ari_reconnects_total') === 1, 'a reconnect counted');
      await ari!.waitForConnections(4);
      await until(async () => value((await scrape()).samples, 'callhook_ari_connected') === 1, 'connected again');
      // the second daemon's events are its own
      ari!.clients
        .values()
        .next()
        .value!.send(JSON.stringify({ type: 'DeviceStateChanged', timestamp: '2026-11-24T14:45:50.037+0000' }));
      await until(async () => {
        const a = delta(before, (await scrape()).samples, 'callhook_ari_events_received_total');
        const b = delta(otherBefore, (await scrape(other)).samples, 'callhook_ari_events_received_total');
        return a + b === 1;
      }, 'one event counted once');
    } finally {
      await other.daemon.close();
    }
  });
});

describe('the store gauges', () => {
  it('read the store at most once a second; a failed read is NaN (labelled: left out), and read again next time', async () => {
    let now = 5_000_000;
    let reads = 0;
    let fail = false;
    const store = {
      oldestPending: async () => {
        reads += 1;
        if (fail) throw new Error('connection terminated');
        return now - 4000;
      },
      countWebhooksByHealth: async () => {
        if (fail) throw new Error('connection terminated');
        return { healthy: 2, failing: 1, disabled: 0 };
      },
    };
    const metrics = new Metrics({ store, pendingCount: async () => 7, ingest: false, deliver: false, logger: pino({ level: 'silent' }), now: () => now });
    const samples = async () => parse((await metrics.scrape()).body);
    let m = await samples();
    expect(value(m, 'callhook_oldest_pending_delivery_age_seconds')).toBe(4);
    expect(value(m, 'callhook_webhooks{health="failing"}')).toBe(1);
    expect(value(m, 'callhook_deliveries_pending')).toBe(7);
    expect(m.has('callhook_ari_connected')).toBe(false);
    // within the second: the stored time is reused, the age still moves on
    now += 500;
    fail = true;
    m = await samples();
    expect(reads).toBe(1);
    expect(value(m, 'callhook_oldest_pending_delivery_age_seconds')).toBe(4.5);
    now += 500;
    m = await samples();
    expect(reads).toBe(2);
    expect(value(m, 'callhook_oldest_pending_delivery_age_seconds')).toBeNaN();
    expect([...m.keys()].some((k) => k.startsWith('callhook_webhooks{'))).toBe(false);
    fail = false;
    m = await samples();
    expect(reads).toBe(3);
    expect(value(m, 'callhook_oldest_pending_delivery_age_seconds')).toBe(4);
    expect(value(m, 'callhook_webhooks{health="healthy"}')).toBe(2);
  });
});

describe('GET /health/ready', () => {
  it('with the ingest role: 503 while ARI is down, 200 once it connects', async () => {
    const port = await freePort();
    // nothing listens there yet
    run = await runDaemon({ url: `http://127.0.0.1:${port}`, username: 'callhook', password: 'secret' } as FakeAri);
    const ready = async () => {
      const res = await fetch(`${run!.daemon.url}/health/ready`);
      return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, string> } };
    };
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('unavailable');
    expect(down.body.checks.store).toBe('ok');
    expect(down.body.checks.ari).toMatch(/^ARI (connecting|disconnected)$/);
    expect((await fetch(`${run.daemon.url}/health/live`)).status).toBe(200);
    const m = (await scrape()).samples;
    expect(value(m, 'callhook_ari_connected')).toBe(0);
    await until(async () => value((await scrape()).samples, 'callhook_ari_reconnects_total') >= 1, 'a failed try counted');

    ari = await FakeAri.start({ port });
    await ari.waitForClient(10_000);
    await until(async () => (await ready()).status === 200, 'ready', 10_000);
    expect((await ready()).body).toEqual({ status: 'ok', checks: { store: 'ok', ari: 'ok' } });
    expect(value((await scrape()).samples, 'callhook_ari_connected')).toBe(1);
  }, 30_000);

  it.runIf(postgresReady)('an api-only process is ready when its store takes a write; it reports no ARI', async () => {
    ari = await FakeAri.start();
    run = await runDaemon(ari, { DATABASE_URL: await freshSchema(), CALLHOOK_ROLES: 'api' });
    const res = await fetch(`${run.daemon.url}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', checks: { store: 'ok' } });
    expect(ari.connections).toBe(0);
    const { samples } = await scrape();
    expect(samples.has('callhook_ari_connected')).toBe(false);
    expect(samples.has('callhook_ingest_queue_length')).toBe(false);
    expect(samples.has('callhook_deliveries_in_flight')).toBe(false);
    expect(value(samples, 'callhook_deliveries_pending')).toBe(0);
    expect(value(samples, 'callhook_webhooks{health="healthy"}')).toBe(0);
  });

  it('names why the store is not ready: its error, or no answer in time; the answer is reused for a second', async () => {
    let pings = 0;
    let fail: 'error' | 'hang' | undefined = 'error';
    let now = 1_000_000;
    const store = {
      ping: () => {
        pings += 1;
        if (fail === 'error') return Promise.reject(new Error('SQLITE_FULL: database or disk is full\nmore'));
        if (fail === 'hang') return new Promise<void>(() => {});
        return Promise.resolve();
      },
    };
    const ari = { status: 'connected' as const };
    const check = readiness({ store, ari, timeoutMs: 50, now: () => now });
    expect(await check()).toEqual({ ready: false, checks: { store: 'not writable: SQLITE_FULL: database or disk is full more', ari: 'ok' } });
    fail = undefined;
    // within a second: the same answer, the store not asked again
    expect((await check()).ready).toBe(false);
    expect(pings).toBe(1);
    now += 1000;
    expect(await check()).toEqual({ ready: true, checks: { store: 'ok', ari: 'ok' } });
    fail = 'hang';
    now += 1000;
    expect(await check()).toEqual({ ready: false, checks: { store: 'no answer within 50 ms', ari: 'ok' } });
    expect(pings).toBe(3);
  });
});
