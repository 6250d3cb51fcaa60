#!/usr/bin/env node
// callhook benchmark: `npm run bench` (full) or `npm run bench -- --quick` (shorter phases).
// callhook runs as a real process with its real SQLite store; the receiver is a process of
// its own; a fake ARI streams synthetic calls. In the same run a raw-undici baseline POSTs
// the same payloads to the same receiver with the same concurrency. Last, on the same callhook,
// the scenarios of bench/scenarios.mjs: one webhook's outage and drain, and a fast account's
// latency beside a slow one's.
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startFakeAri, prepareCalls, legOf, triggerFrame, ARI_EVENTS_PER_CALL, CALL_EVENTS_PER_CALL } from './ari.mjs';
import { outageDrain, fairShare, summaryRows, freePort } from './scenarios.mjs';

const quick = process.argv.includes('--quick');
const P = quick
  ? { calls: 2000, latencySeconds: 4, backlogHooks: 20, backlogPending: 20_000 }
  : { calls: 4000, latencySeconds: 20, backlogHooks: 20, backlogPending: 1_000_000 };
const CONCURRENCY = 64;
const ADMIN = 'bench-admin-token-0123456789abcdef';
const here = new URL('.', import.meta.url).pathname;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rss(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)[1]);
  const mb = (k) => Math.round(kb(k) / 1024);
  // anonymous memory (the heaps of V8 and SQLite), mapped files, shared memory (SQLite's -shm)
  return { rss_mb: mb('VmRSS'), peak_mb: mb('VmHWM'), anon_mb: mb('RssAnon'), file_mb: mb('RssFile'), shmem_mb: mb('RssShmem') };
}

/** CPU time (µs) a process has used, and per thread (Linux /proc; {} elsewhere) */
function cpuOf(pid) {
  const ticks = (stat) => {
    const f = stat.split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / 100;
  };
  try {
    const threads = {};
    for (const t of readdirSync(`/proc/${pid}/task`)) threads[t === String(pid) ? 'main' : t] = ticks(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8'));
    return { total: ticks(readFileSync(`/proc/${pid}/stat`, 'utf8')), threads };
  } catch {
    return undefined;
  }
}
/** µs of CPU per item between two cpuOf readings: the process, its main thread, its busiest other thread */
function cpuPer(a, b, items) {
  if (!a || !b) return undefined;
  const per = (us) => Math.round(us / items);
  const others = Object.keys(b.threads)
    .filter((t) => t !== 'main')
    .map((t) => b.threads[t] - (a.threads[t] ?? 0))
    .sort((x, y) => y - x);
  return { total: per(b.total - a.total), main: per(b.threads.main - a.threads.main), busiest_other_thread: per(others[0] ?? 0) };
}
const selfCpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

// --- processes -------------------------------------------------------------------------
const receiverPort = await freePort();
const receiver = fork(join(here, 'receiver.mjs'), [String(receiverPort)], { stdio: 'inherit' });
const ask = (msg) =>
  new Promise((resolve) => {
    receiver.once('message', resolve);
    receiver.send(msg);
  });
await new Promise((r) => receiver.once('message', r));

const ari = await startFakeAri();
const apiPort = await freePort();
const dataDir = mkdtempSync(join(tmpdir(), 'callhook-bench-'));
// --profile DIR: callhook writes a V8 CPU profile there (open it in Chrome DevTools)
const profileAt = process.argv.indexOf('--profile');
const profile = profileAt > 0 ? ['--cpu-prof', '--cpu-prof-dir', process.argv[profileAt + 1]] : [];
// --database-url URL: callhook's store in that (empty) PostgreSQL database or schema instead of SQLite
const databaseAt = process.argv.indexOf('--database-url');
const databaseUrl = databaseAt > 0 ? process.argv[databaseAt + 1] : undefined;
const store = databaseUrl ? 'postgresql' : 'sqlite';
// the circuit breaker's probe timing: callhook's defaults unless the bench's environment sets
// them (e.g. CALLHOOK_PROBE_MAX_MS=5000 npm run bench -- --quick); callhook ignores unknown ones
const probeEnv = Object.fromEntries(['CALLHOOK_PROBE_BASE_MS', 'CALLHOOK_PROBE_MAX_MS'].filter((k) => process.env[k]).map((k) => [k, process.env[k]]));
// the flags of `npm start` and the callhook command (a small young generation: see bench/README.md)
const callhook = spawn(process.execPath, ['--max-semi-space-size=4', ...profile, join(here, '../dist/cli.js')], {
  env: {
    PATH: process.env.PATH,
    CALLHOOK_ARI_URL: ari.url,
    CALLHOOK_PORT: String(apiPort),
    CALLHOOK_DATA_DIR: dataDir,
    CALLHOOK_ADMIN_TOKEN: ADMIN,
    CALLHOOK_ALLOW_TARGETS: '127.0.0.0/8',
    CALLHOOK_CONCURRENCY: String(CONCURRENCY),
    CALLHOOK_HOOK_CONCURRENCY: String(CONCURRENCY),
    LOG_LEVEL: 'warn',
    ...(databaseUrl && { DATABASE_URL: databaseUrl }),
    ...probeEnv,
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
// however the benchmark ends (error, timeout's SIGTERM), its processes end with it
process.on('exit', () => {
  callhook.kill('SIGKILL');
  receiver.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});
process.on('SIGTERM', () => process.exit(1));
const api = async (method, path, body) => {
  const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
    method,
    headers: { 'x-auth-token': ADMIN, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
};
const health = () => api('GET', '/health');
for (let i = 0; ; i++) {
  const ok = await health().then(
    (h) => h.ari === 'connected',
    () => false,
  );
  if (ok) break;
  if (i > 600) throw new Error('callhook did not start');
  await sleep(50);
}
await ari.connected();
await api('POST', '/api/v1/accounts', { data: { id: 'bench', name: 'Bench', accountcodes: ['bench'] } });
const hook = (path) =>
  api('PUT', '/api/v1/accounts/bench/webhooks', { data: { uri: `http://127.0.0.1:${receiverPort}${path}`, hook: 'all', format: 'json', retries: 20 } });
await hook('/hook');
const rssPeak = { mb: 0 };
const rssTimer = setInterval(() => (rssPeak.mb = Math.max(rssPeak.mb, rss(callhook.pid).rss_mb)), 200);

const until = async (cond, label, ms = 600_000) => {
  const end = Date.now() + ms;
  for (;;) {
    const h = await health();
    if (cond(h)) return h;
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}: ${JSON.stringify(h)}`);
    await sleep(20);
  }
};
const received = async (path) => (await ask({ cmd: 'stats' })).counts[path] ?? 0;
/** waits until the receiver has got `n` webhooks since its last reset; fails when none arrives for a minute */
const receivedAll = async (n, label, ms = 600_000) => {
  const end = Date.now() + ms;
  let got = 0;
  let movedAt = Date.now();
  while (got < n) {
    await sleep(20);
    const seen = await received('/hook');
    if (seen > got) {
      got = seen;
      movedAt = Date.now();
    }
    const stalled = Date.now() - movedAt > 60_000;
    if (got < n && (stalled || Date.now() > end)) {
      const off = (await api('GET', '/api/v1/accounts/bench/webhooks')).data.filter((h) => !h.enabled);
      const why = off.length ? `; disabled webhooks: ${off.map((h) => `${h.id} (${h.disabled_reason})`).join(', ')}` : '';
      throw new Error(`${stalled ? 'stalled' : 'timed out'} waiting for ${label}: ${got} of ${n} webhooks; health ${JSON.stringify(await health())}${why}`);
    }
  }
};

// --- 1. ingest and end-to-end delivery at full speed --------------------------------------
console.error(`[bench] ${P.calls} calls (${P.calls * ARI_EVENTS_PER_CALL} ARI events) at full speed`);
const fullSpeed = prepareCalls(0, P.calls);
const base = await health();
const cpu0 = { callhook: cpuOf(callhook.pid), receiver: cpuOf(receiver.pid), bench: selfCpu() };
const t0 = Date.now();
const streamed = await ari.stream(fullSpeed, 0);
const ingestDone = await until((h) => h.ari_events_committed - base.ari_events_committed >= streamed.frames, 'ingest');
const ingestMs = Date.now() - t0;
const wantDelivered = P.calls * CALL_EVENTS_PER_CALL;
await receivedAll(wantDelivered, 'delivery');
const deliverMs = Date.now() - t0;
const cpu1 = { callhook: cpuOf(callhook.pid), receiver: cpuOf(receiver.pid), bench: selfCpu() };
const ingestRate = Math.round(streamed.frames / (ingestMs / 1000));
const deliverRate = Math.round(wantDelivered / (deliverMs / 1000));
console.error(`[bench] ingest ${ingestRate} ARI events/s, delivered ${deliverRate} webhooks/s (${ingestDone.events_stored} call events stored)`);

// --- 2. the raw-undici baseline: the same payloads, same receiver, same concurrency -------
const { samples } = await ask({ cmd: 'samples' });
const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000 });
const baseUrl = `http://127.0.0.1:${receiverPort}/baseline`;
let next = 0;
const cpuB0 = { receiver: cpuOf(receiver.pid), bench: selfCpu() };
const tb = Date.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < wantDelivered) {
      const body = samples[next++ % samples.length];
      const res = await request(baseUrl, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent });
      await res.body.text();
    }
  }),
);
const baselineRate = Math.round(wantDelivered / ((Date.now() - tb) / 1000));
const cpuB1 = { receiver: cpuOf(receiver.pid), bench: selfCpu() };
// what one webhook costs in CPU (µs), end to end and in the baseline: on a machine whose cores
// are all busy, these decide the rates
const cpuPerWebhook = cpu0.callhook && {
  callhook: cpuPer(cpu0.callhook, cpu1.callhook, wantDelivered),
  receiver: cpuPer(cpu0.receiver, cpu1.receiver, wantDelivered).total,
  fake_ari_and_bench: Math.round((cpu1.bench - cpu0.bench) / wantDelivered),
  baseline_client: Math.round((cpuB1.bench - cpuB0.bench) / wantDelivered),
  baseline_receiver: cpuPer(cpuB0.receiver, cpuB1.receiver, wantDelivered).total,
};
await agent.close();
console.error(`[bench] raw undici baseline ${baselineRate} requests/s`);

// --- 3. latency at a fixed 1 000 ARI events/s ---------------------------------------------
await ask({ cmd: 'reset', track: true });
const latencyCalls = Math.round((1000 * P.latencySeconds) / ARI_EVENTS_PER_CALL);
const sentAt = new Map();
await ari.stream(prepareCalls(100_000, latencyCalls), 1000, sentAt);
await receivedAll(latencyCalls * CALL_EVENTS_PER_CALL, 'the latency run');
// each webhook's latency: from the moment the ARI frame that caused it was sent to its receipt
const lat = (await ask({ cmd: 'stats', withArrivals: true })).arrivals
  .map(([at, callId, hookEvent]) => {
    const l = legOf(callId);
    const sent = l && sentAt.get(`${l.n}:${triggerFrame(l.leg, hookEvent)}`);
    if (sent === undefined) throw new Error(`no ARI frame for ${callId} ${hookEvent}`);
    return at - sent;
  })
  .sort((a, b) => a - b);
const latency = { p50_ms: pct(lat, 50), p99_ms: pct(lat, 99), max_ms: lat[lat.length - 1], samples: lat.length };
console.error(`[bench] latency at 1000 events/s: p50 ${latency.p50_ms} ms, p99 ${latency.p99_ms} ms, max ${latency.max_ms} ms`);
const steadyRss = rssPeak.mb;

// --- 4. receiver down: a backlog of pending deliveries, then the drain -------------------
await ask({ cmd: 'down' });
for (let i = 1; i < P.backlogHooks; i++) await hook('/hook');
const perCall = CALL_EVENTS_PER_CALL * P.backlogHooks;
const backlogCalls = Math.ceil(P.backlogPending / perCall);
console.error(`[bench] receiver down; ${backlogCalls} calls to ${P.backlogHooks} webhooks → ${backlogCalls * perCall} pending deliveries`);
const backlogFrames = prepareCalls(200_000, backlogCalls);
const tBacklog = Date.now();
const before = await health();
await ari.stream(backlogFrames, 0);
await until((h) => h.ari_events_committed - before.ari_events_committed >= backlogCalls * ARI_EVENTS_PER_CALL, 'backlog ingest');
const backlogIngestRate = Math.round((backlogCalls * ARI_EVENTS_PER_CALL) / ((Date.now() - tBacklog) / 1000));
const pendingHealth = await until((h) => h.deliveries_pending >= backlogCalls * perCall, 'pending');
const backlogRss = rss(callhook.pid);
console.error(
  `[bench] ${pendingHealth.deliveries_pending} pending; callhook RSS ${backlogRss.rss_mb} MB (anonymous ${backlogRss.anon_mb}, files ${backlogRss.file_mb}, shared ${backlogRss.shmem_mb}; JS heap used ${pendingHealth.heap_used_mb}; peak ${backlogRss.peak_mb} MB); backlog ingest ${backlogIngestRate} ARI events/s`,
);
await ask({ cmd: 'up' });
await ask({ cmd: 'reset' });
await api('PATCH', '/api/v1/accounts/bench/webhooks', { data: { 're-enable': true } });
const tDrain = Date.now();
const drainStart = pendingHealth.deliveries_pending;
// the webhooks went `failing` while the receiver was down: each comes back at its next probe
// (at most CALLHOOK_PROBE_MAX_MS later). The drain rate is counted from when all are healthy
// again; the wait for the probes is reported beside it
const allHealthy = async () => {
  for (const end = Date.now() + 120_000; Date.now() < end; await sleep(20)) {
    const hooks = (await api('GET', '/api/v1/accounts/bench/webhooks?page_size=1000')).data;
    if (hooks.every((h) => h.health === 'healthy')) return;
  }
  throw new Error('the webhooks did not recover within 120 s of the receiver coming back');
};
await allHealthy();
const tHealthy = Date.now();
const atHealthy = await received('/hook');
await receivedAll(drainStart, 'the drain', 3_600_000);
const drainEnd = Date.now();
const drainRate = Math.round((drainStart - atHealthy) / ((drainEnd - tHealthy) / 1000));
const recoverySeconds = Number(((tHealthy - tDrain) / 1000).toFixed(1));
const drainWithProbes = Math.round(drainStart / ((drainEnd - tDrain) / 1000));
console.error(
  `[bench] every webhook healthy ${recoverySeconds} s after the receiver came back (probes); then drained the rest at ${drainRate}/s (${drainWithProbes}/s counting the wait)`,
);

clearInterval(rssTimer);
const finalRss = rss(callhook.pid);

// --- 5. and 6. (bench/scenarios.mjs): an outage of one webhook, then a slow account beside a fast one
const scenario = { api, health, ari, mode: quick ? 'quick' : 'full', concurrency: CONCURRENCY };
// a scenario that fails is reported as such; the other measures stand
const tried = (run) => run().catch((err) => (console.error(`[bench] ${err.stack ?? err}`), { error: String(err.message ?? err) }));
const outage = await tried(() => outageDrain({ ...scenario, firstCall: 300_000 }));
const fair = await tried(() => fairShare({ ...scenario, firstCall: 400_000 }));

callhook.kill('SIGTERM');
await new Promise((r) => callhook.once('exit', r));
receiver.kill();
await ari.close();

// --- report ---------------------------------------------------------------------------------
const result = {
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  store,
  machine: { cpus: cpus().length, node: process.version },
  ingest_ari_events_per_s: ingestRate,
  delivered_per_s: deliverRate,
  baseline_undici_per_s: baselineRate,
  delivered_vs_baseline: Number((deliverRate / baselineRate).toFixed(2)),
  cpu_us_per_webhook: cpuPerWebhook,
  latency_at_1000_eps: latency,
  rss_peak_mb: finalRss.peak_mb,
  backlog: {
    pending: drainStart,
    rss_mb: backlogRss.rss_mb,
    rss_anon_mb: backlogRss.anon_mb,
    rss_file_mb: backlogRss.file_mb,
    rss_shmem_mb: backlogRss.shmem_mb,
    heap_used_mb: pendingHealth.heap_used_mb,
    rss_peak_mb: backlogRss.peak_mb,
    ingest_ari_events_per_s: backlogIngestRate,
    recovery_seconds: recoverySeconds,
    drain_with_probe_wait_per_s: drainWithProbes,
    drain_per_s: drainRate,
    drain_vs_steady: Number((drainRate / deliverRate).toFixed(2)),
  },
  outage: { ...outage, probe_env: probeEnv },
  fair_share: fair,
  targets: {
    ingest: { want: '>= 20000 ARI events/s', met: ingestRate >= 20000 },
    delivered: { want: '>= 0.6 x baseline', met: deliverRate >= 0.6 * baselineRate },
    p99: { want: '< 10 ms at 1000 events/s', met: latency.p99_ms < 10 },
    // quick mode's backlog is too small to say (null)
    backlog_rss: { want: '< 200 MB at 1 000 000 pending', met: drainStart >= 1_000_000 ? backlogRss.rss_mb < 200 : null },
    drain: { want: '>= 0.5 x steady delivery rate', met: drainRate >= 0.5 * deliverRate },
    outage_drain: {
      want: 'every event sent during the outage arrives, each leg in order',
      met: outage.error ? null : outage.arrived >= outage.sent && outage.order.out_of_order === 0,
    },
  },
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', `${quick ? 'quick' : 'latest'}${databaseUrl ? '-postgresql' : ''}.json`), JSON.stringify(result, null, 2) + '\n');
const rows = [
  ['ingest (ARI events/s, durably stored)', ingestRate, '>= 20 000', result.targets.ingest.met],
  ['delivered webhooks/s (end to end)', deliverRate, '', ''],
  ['raw undici baseline (requests/s)', baselineRate, '', ''],
  ['delivered / baseline', result.delivered_vs_baseline, '>= 0.6', result.targets.delivered.met],
  ...(cpuPerWebhook
    ? [
        [
          'CPU µs per webhook: callhook (main thread / busiest other)',
          `${cpuPerWebhook.callhook.total} (${cpuPerWebhook.callhook.main} / ${cpuPerWebhook.callhook.busiest_other_thread})`,
          '',
          '',
        ],
        ['CPU µs per webhook: receiver / fake ARI in that run', `${cpuPerWebhook.receiver} / ${cpuPerWebhook.fake_ari_and_bench}`, '', ''],
        ['CPU µs per request: raw undici client / receiver in the baseline', `${cpuPerWebhook.baseline_client} / ${cpuPerWebhook.baseline_receiver}`, '', ''],
      ]
    : []),
  ['latency p50 / p99 / max at 1 000 events/s (ms)', `${latency.p50_ms} / ${latency.p99_ms} / ${latency.max_ms}`, 'p99 < 10', result.targets.p99.met],
  ['RSS peak, steady (MB)', steadyRss, '', ''],
  [`RSS with ${drainStart} pending (MB)`, backlogRss.rss_mb, '< 200 at 1 000 000', result.targets.backlog_rss.met],
  ['drain rate (deliveries/s) / steady', `${drainRate} / ${result.backlog.drain_vs_steady}`, '>= 0.5', result.targets.drain.met],
  ...summaryRows(outage, fair),
];
console.log(`\ncallhook benchmark (${result.mode}, ${store} store, ${result.machine.cpus} cores, Node ${process.version})`);
console.log('| measure | value | target | met |\n|---|---|---|---|');
for (const [k, v, t, m] of rows) console.log(`| ${k} | ${v} | ${t} | ${m === '' ? '' : m === null ? 'not measured' : m ? 'yes' : 'no'} |`);
process.exit(0);
