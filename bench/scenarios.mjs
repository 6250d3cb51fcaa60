// Two scenarios of the benchmark run (bench/run.mjs), after its other phases, on the same
// callhook process. Each account has receivers of its own: bench/receiver.mjs processes on
// their own ports, whose paths answer as a route tells them (see receiver.mjs).
//
// outage:     one webhook as a new user makes it (hook all, format json, no retries field)
//             answers 503 while calls keep coming, then 200 again: how many of the events sent
//             meanwhile arrive, how long after the receiver is back the last one does, whether
//             each leg's events still arrive in order, and what callhook tried meanwhile.
// fair_share: account "slow" has many webhooks whose receiver answers after seconds, with
//             enough deliveries to fill every concurrency slot; account "fast" has one that
//             answers at once: the fast account's latency (PBX event → receipt) meanwhile.
//
// Every wait is bounded: a scenario that does not complete says so in its report (arrived <
// sent, gave_up, censored latencies) rather than failing the run.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { prepareCalls, legOf, triggerFrame, ARI_EVENTS_PER_CALL, CALL_EVENTS_PER_CALL } from './ari.mjs';

const here = new URL('.', import.meta.url).pathname;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
/** attempt and delivery timestamps are Gregorian seconds, as in Kazoo */
const GREGORIAN_OFFSET = 62167219200;
const ORDER = { channel_create: 0, channel_answer: 1, channel_bridge: 2, channel_destroy: 3 };

export const SCENARIOS = {
  quick: {
    outage: { seconds: 10, callsPerS: 3, giveUpS: 120 },
    fair: { slowHooks: 10, slowDelayMs: [3000, 5000], fillCalls: 20, slowCallsPerS: 1, fastCallsPerS: 0.5, seconds: 10, giveUpS: 30 },
  },
  full: {
    outage: { seconds: 30, callsPerS: 5, giveUpS: 120 },
    fair: { slowHooks: 20, slowDelayMs: [5000, 9000], fillCalls: 40, slowCallsPerS: 1, fastCallsPerS: 0.5, seconds: 30, giveUpS: 90 },
  },
};

export async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return port;
}

/** a receiver process of its own; its IPC questions are answered one at a time, in order */
async function startReceiver() {
  const port = await freePort();
  const child = fork(join(here, 'receiver.mjs'), [String(port)], { stdio: 'inherit' });
  const kill = () => child.kill('SIGKILL');
  process.on('exit', kill);
  await new Promise((r) => child.once('message', r));
  let queue = Promise.resolve();
  const ask = (msg) => {
    const answer = queue.then(
      () =>
        new Promise((resolve) => {
          child.once('message', resolve);
          child.send(msg);
        }),
    );
    queue = answer.catch(() => {});
    return answer;
  };
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    route: (path, opts = {}) => ask({ cmd: 'route', path, ...opts }),
    routes: (withLog = false) => ask({ cmd: 'routes', withLog }).then((m) => m.routes),
    stop: () => {
      process.off('exit', kill);
      kill();
    },
  };
}

/** every item of a paged list (page_size 1000, following next_start_key) */
async function allPages(api, path) {
  const items = [];
  let pages = 0;
  let start;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res = await api('GET', `${path}${sep}page_size=1000${start ? `&start_key=${encodeURIComponent(start)}` : ''}`);
    if (!Array.isArray(res.data)) throw new Error(`GET ${path}: ${JSON.stringify(res).slice(0, 300)}`);
    items.push(...res.data);
    pages++;
    start = res.next_start_key;
  } while (start && pages < 1000);
  return { items, pages };
}

/** what the API shows of a webhook's state: enabled, why not, and the health fields where callhook has them */
async function hookState(api, account, id) {
  const h = (await api('GET', `/api/v1/accounts/${account}/webhooks/${id}`)).data ?? {};
  const out = { enabled: h.enabled, disabled_reason: h.disabled_reason ?? null };
  for (const k of ['health', 'failing_since', 'last_error', 'next_probe', 'pending']) if (k in h) out[k] = h[k];
  return out;
}

/** the first 200-answered arrival of each (call_id, hook_event), in arrival order, and how many came again */
function firstArrivals(log, wanted) {
  const seen = new Set();
  const first = [];
  let duplicates = 0;
  for (const [at, callId, hookEvent, status] of log) {
    if (status !== 200 || !wanted(callId)) continue;
    const key = `${callId} ${hookEvent}`;
    if (seen.has(key)) {
      duplicates++;
      continue;
    }
    seen.add(key);
    first.push({ at, callId, hookEvent });
  }
  return { first, duplicates };
}

/** per leg (call_id): did its events arrive as channel_create, channel_answer, channel_bridge, channel_destroy? */
function legOrder(first) {
  const byLeg = new Map();
  for (const a of first) {
    let l = byLeg.get(a.callId);
    if (!l) byLeg.set(a.callId, (l = []));
    l.push(a.hookEvent);
  }
  const outOfOrder = [];
  for (const [callId, events] of byLeg) {
    const ranks = events.map((e) => ORDER[e] ?? 99);
    if (ranks.some((r, i) => i > 0 && r < ranks[i - 1])) outOfOrder.push(`${callId}: ${events.join(' → ')}`);
  }
  return { legs: byLeg.size, out_of_order: outOfOrder.length, examples: outOfOrder.slice(0, 3) };
}

/** waits until `cond` (async) holds, at most `ms`; true when it did */
async function waitFor(cond, ms, every = 100) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await sleep(every);
  }
}

/** until callhook has stored the ARI events of `frames` (counted since `before`), at most `ms` */
const ingested = (health, before, frames, ms = 20_000) =>
  waitFor(async () => (await health()).ari_events_committed - before.ari_events_committed >= frames, ms, 50);

// --- outage: a receiver that answers 503 for a while, then the drain -----------------------
export async function outageDrain({ api, health, ari, mode, firstCall }) {
  const S = SCENARIOS[mode].outage;
  const rx = await startReceiver();
  await api('POST', '/api/v1/accounts', { data: { id: 'outage', name: 'Outage', accountcodes: ['outage'] } });
  await rx.route('/outage', { status: 200, log: true });
  // the defaults a new user would pick: no retries field
  const created = await api('PUT', '/api/v1/accounts/outage/webhooks', { data: { uri: rx.url('/outage'), hook: 'all', format: 'json' } });
  const hookId = created.data?.id;
  if (!hookId) throw new Error(`could not create the outage webhook: ${JSON.stringify(created).slice(0, 300)}`);
  const hookPath = `/api/v1/accounts/outage/webhooks/${hookId}`;
  const webhookConfig = { hook: created.data.hook, format: created.data.format, retries: created.data.retries };
  const log = async () => (await rx.routes(true))['/outage'].log;

  // one call while the receiver is up: the path works before it goes down
  const warmCall = firstCall;
  const isWarm = (c) => legOf(c ?? '')?.n === warmCall;
  const h0 = await health();
  await ari.stream(prepareCalls(warmCall, 1, { accountcode: 'outage' }), 0);
  const warm = await waitFor(async () => firstArrivals(await log(), isWarm).first.length >= CALL_EVENTS_PER_CALL, 10_000);
  await ingested(health, h0, ARI_EVENTS_PER_CALL);

  // the outage: 503 while calls keep coming
  const calls = Math.round(S.seconds * S.callsPerS);
  const first = warmCall + 1;
  const inOutage = (c) => {
    const n = legOf(c ?? '')?.n;
    return n !== undefined && n >= first && n < first + calls;
  };
  const frames = prepareCalls(first, calls, { accountcode: 'outage' });
  console.error(
    `[bench] outage: receiver answers 503 for ${S.seconds} s while ${calls} calls (${calls * CALL_EVENTS_PER_CALL} call events) come at ${S.callsPerS}/s`,
  );
  const down = (await rx.route('/outage', { status: 503, log: true })).at;
  const h1 = await health();
  await ari.stream(frames, frames.length / S.seconds);
  const stored = await ingested(health, h1, frames.length);
  const atBack = await hookState(api, 'outage', hookId);
  const back = (await rx.route('/outage', { status: 200, log: true })).at;

  // the drain: until every event sent during the outage arrived, or callhook will not send more
  const sent = calls * CALL_EVENTS_PER_CALL;
  const giveUpAt = back + S.giveUpS * 1000;
  let got = 0;
  let movedAt = back;
  let gaveUp = null;
  let checkedAt = 0;
  for (;;) {
    const n = firstArrivals(await log(), inOutage).first.length;
    if (n > got) {
      got = n;
      movedAt = Date.now();
    }
    if (got >= sent) break;
    const now = Date.now();
    if (now > giveUpAt) {
      gaveUp = `timed out after ${S.giveUpS} s`;
      break;
    }
    if (now - movedAt > 60_000) {
      gaveUp = 'nothing arrived for 60 s';
      break;
    }
    // a disabled webhook sends nothing, and without pending deliveries nothing more comes
    if (now - checkedAt > 1000 && now - movedAt > 5000) {
      checkedAt = now;
      const st = await hookState(api, 'outage', hookId);
      if (st.enabled === false) {
        gaveUp = `webhook disabled (${st.disabled_reason}); nothing arrived for 5 s`;
        break;
      }
      const pending = await api('GET', `${hookPath}/deliveries?status=pending&page_size=1`);
      if (Array.isArray(pending.data) && pending.data.length === 0) {
        gaveUp = 'no delivery pending (the others failed); nothing arrived for 5 s';
        break;
      }
    }
    await sleep(200);
  }
  const finalLog = await log();
  const { first: arrivals, duplicates } = firstArrivals(finalLog, inOutage);
  const lastAt = arrivals.length ? Math.max(...arrivals.map((a) => a.at)) : undefined;
  const atEnd = await hookState(api, 'outage', hookId);

  // what callhook tried: its attempts, and its deliveries by status
  const { items: attempts, pages } = await allPages(api, `${hookPath}/attempts`);
  const attemptS = (a) => a.timestamp - GREGORIAN_OFFSET;
  const during = attempts.filter((a) => !isWarm(a.call_id) && attemptS(a) >= Math.floor(down / 1000) && attemptS(a) <= Math.floor(back / 1000));
  const byCode = {};
  for (const a of during) byCode[a.response_code ?? a.result ?? 'none'] = (byCode[a.response_code ?? a.result ?? 'none'] ?? 0) + 1;
  const { items: deliveries } = await allPages(api, `${hookPath}/deliveries`);
  const deliveriesBy = {};
  for (const d of deliveries) if (inOutage(d.call_id)) deliveriesBy[d.status] = (deliveriesBy[d.status] ?? 0) + 1;
  const answered503 = finalLog.filter(([at, , , status]) => status === 503 && at >= down && at <= back).length;

  // the next scenario should not share the dispatcher with this webhook's leftovers
  await api('DELETE', hookPath);
  rx.stop();
  const result = {
    webhook: webhookConfig,
    warmup_delivered: warm,
    outage_seconds: Math.round((back - down) / 100) / 10,
    calls,
    sent,
    stored_before_back: stored,
    arrived: arrivals.length,
    duplicates,
    drain_seconds: got >= sent ? Math.round((lastAt - back) / 100) / 10 : null,
    last_arrival_after_back_s: lastAt !== undefined ? Math.round((lastAt - back) / 100) / 10 : null,
    gave_up: gaveUp,
    order: legOrder(arrivals),
    attempts_during_outage: during.length,
    attempts_during_outage_by_code: byCode,
    attempts_total: attempts.length,
    attempt_pages: pages,
    receiver_answered_503: answered503,
    deliveries_by_status: deliveriesBy,
    webhook_at_back: atBack,
    webhook_at_end: atEnd,
  };
  console.error(
    `[bench] outage: ${result.arrived} of ${sent} arrived${result.drain_seconds !== null ? `, drained ${result.drain_seconds} s after the receiver came back` : ` (gave up: ${gaveUp})`}; ${during.length} attempts during the outage; webhook ${JSON.stringify(atEnd)}`,
  );
  return result;
}

// --- fair share: a slow account that fills every slot, and a fast one beside it ------------
export async function fairShare({ api, ari, mode, concurrency, firstCall }) {
  const S = SCENARIOS[mode].fair;
  const slowRx = await startReceiver();
  const fastRx = await startReceiver();
  await api('POST', '/api/v1/accounts', { data: { id: 'slow', name: 'Slow', accountcodes: ['slow'] } });
  await api('POST', '/api/v1/accounts', { data: { id: 'fast', name: 'Fast', accountcodes: ['fast'] } });
  for (let i = 0; i < S.slowHooks; i++) {
    await slowRx.route(`/slow/${i}`, { status: 200, delay: S.slowDelayMs });
    await api('PUT', '/api/v1/accounts/slow/webhooks', { data: { uri: slowRx.url(`/slow/${i}`), hook: 'all', format: 'json' } });
  }
  await fastRx.route('/fast', { status: 200, log: true });
  await api('PUT', '/api/v1/accounts/fast/webhooks', { data: { uri: fastRx.url('/fast'), hook: 'all', format: 'json' } });
  const slowInflight = async () => Object.values(await slowRx.routes()).reduce((n, r) => n + r.inflight, 0);
  const slowAnswered = async () => Object.values(await slowRx.routes()).reduce((n, r) => n + (r.answered[200] ?? 0), 0);

  // the slow account's backlog, then wait until its requests hold every slot it may take: all
  // of them, or as many as callhook lets one account hold (then its count stops growing)
  let next = firstCall;
  const fill = prepareCalls(next, S.fillCalls, { accountcode: 'slow' });
  next += S.fillCalls;
  console.error(
    `[bench] fair share: ${S.slowHooks} slow webhooks (answer after ${S.slowDelayMs.join('–')} ms), ${S.fillCalls * CALL_EVENTS_PER_CALL * S.slowHooks} of their deliveries queued; then fast calls at ${S.fastCallsPerS}/s for ${S.seconds} s`,
  );
  await ari.stream(fill, 0);
  const tFill = Date.now();
  let held = 0;
  let grewAt = tFill;
  await waitFor(async () => {
    const n = await slowInflight();
    if (n > held) {
      held = n;
      grewAt = Date.now();
    }
    return n >= concurrency || (n > 0 && Date.now() - grewAt > 1500);
  }, 15_000);
  const heldAfterMs = grewAt - tFill;

  // the window: slow calls keep coming, fast calls at a low rate
  const slowCalls = Math.round(S.seconds * S.slowCallsPerS);
  const fastCalls = Math.round(S.seconds * S.fastCallsPerS);
  const slowFrames = prepareCalls(next, slowCalls, { accountcode: 'slow' });
  next += slowCalls;
  const fastFirst = next;
  const fastFrames = prepareCalls(fastFirst, fastCalls, { accountcode: 'fast' });
  const sentAt = new Map();
  const samples = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push(await slowInflight());
      await sleep(500);
    }
  })();
  const answered0 = await slowAnswered();
  const tw = Date.now();
  await Promise.all([ari.stream(slowFrames, slowFrames.length / S.seconds), ari.stream(fastFrames, fastFrames.length / S.seconds, sentAt)]);
  const windowMs = Date.now() - tw;
  const slowDelivered = (await slowAnswered()) - answered0;

  // the fast account's events, until all arrived or giveUpS after the last was sent
  const want = fastCalls * CALL_EVENTS_PER_CALL;
  const isFast = (c) => {
    const n = legOf(c ?? '')?.n;
    return n !== undefined && n >= fastFirst && n < fastFirst + fastCalls;
  };
  const fastLog = async () => firstArrivals((await fastRx.routes(true))['/fast'].log, isFast).first;
  const done = await waitFor(async () => (await fastLog()).length >= want, S.giveUpS * 1000, 200);
  const giveUpAt = Date.now();
  sampling = false;
  await sampler;
  const arrivals = await fastLog();

  // latency from the ARI frame that caused each event to its receipt; an event that did not
  // arrive counts with what it had waited when the bench gave up (a lower bound: censored)
  const lat = [];
  const arrivedKeys = new Set();
  for (const a of arrivals) {
    const l = legOf(a.callId);
    const sent = l && sentAt.get(`${l.n}:${triggerFrame(l.leg, a.hookEvent)}`);
    if (sent === undefined) throw new Error(`no ARI frame for ${a.callId} ${a.hookEvent}`);
    arrivedKeys.add(`${l.n}:${l.leg}:${a.hookEvent}`);
    lat.push(a.at - sent);
  }
  let censored = 0;
  for (let n = fastFirst; n < fastFirst + fastCalls; n++) {
    for (const leg of ['A', 'B']) {
      for (const hookEvent of Object.keys(ORDER)) {
        if (arrivedKeys.has(`${n}:${leg}:${hookEvent}`)) continue;
        const sent = sentAt.get(`${n}:${triggerFrame(leg, hookEvent)}`);
        if (sent !== undefined) {
          censored++;
          lat.push(giveUpAt - sent);
        }
      }
    }
  }
  lat.sort((a, b) => a - b);
  const inflightSorted = [...samples].sort((a, b) => a - b);
  slowRx.stop();
  fastRx.stop();
  const result = {
    slow: {
      webhooks: S.slowHooks,
      answer_delay_ms: S.slowDelayMs,
      queued_before: S.fillCalls * CALL_EVENTS_PER_CALL * S.slowHooks,
      calls_during: slowCalls,
      // requests in flight at the slow receiver before the fast calls began, of `concurrency` slots
      in_flight_before: held,
      in_flight_before_reached_after_ms: heldAfterMs,
      in_flight_during: inflightSorted.length ? { min: inflightSorted[0], p50: pct(inflightSorted, 50), max: inflightSorted[inflightSorted.length - 1] } : null,
      delivered_per_s_during: Math.round(slowDelivered / (windowMs / 1000)),
    },
    fast: {
      calls: fastCalls,
      sent: want,
      arrived: arrivals.length,
      complete: done,
      censored,
      p50_ms: lat.length ? pct(lat, 50) : null,
      p99_ms: lat.length ? pct(lat, 99) : null,
      max_ms: lat.length ? lat[lat.length - 1] : null,
    },
    concurrency,
  };
  console.error(
    `[bench] fair share: fast account ${result.fast.arrived} of ${want} arrived, p50 ${result.fast.p50_ms} ms, p99 ${result.fast.p99_ms} ms, max ${result.fast.max_ms} ms${censored ? ` (${censored} not arrived, counted as waited until the bench gave up)` : ''}; slow in flight ${JSON.stringify(result.slow.in_flight_during)}`,
  );
  return result;
}

/** the summary table's rows for the two scenarios (a scenario that failed: its error) */
export function summaryRows(outage, fair) {
  return [...outageRows(outage), fairRow(fair)];
}

function outageRows(o) {
  if (o.error) return [['outage scenario', `failed: ${o.error}`, '', null]];
  const end = o.webhook_at_end;
  return [
    [
      `outage ${o.outage_seconds} s (503): arrived / sent, drain s after back`,
      `${o.arrived} / ${o.sent}, ${o.drain_seconds ?? `not drained (${o.gave_up})`}`,
      'all, drained',
      o.arrived >= o.sent,
    ],
    [
      'outage: legs out of order / attempts during / webhook at end',
      `${o.order.out_of_order} of ${o.order.legs} / ${o.attempts_during_outage} / ${end.health ?? (end.enabled ? 'enabled' : 'disabled')}${end.disabled_reason ? ` (${end.disabled_reason})` : ''}`,
      '0 out of order',
      o.order.out_of_order === 0,
    ],
  ];
}

function fairRow(fair) {
  if (fair.error) return ['fair share scenario', `failed: ${fair.error}`, '', null];
  const f = fair.fast;
  return [
    `fair share: fast account p50 / p99 / max (ms) beside ${fair.slow.webhooks} slow webhooks (${fair.slow.in_flight_during?.p50 ?? '?'} of ${fair.concurrency} slots theirs)`,
    `${f.p50_ms} / ${f.p99_ms} / ${f.max_ms}${f.censored ? ` (${f.censored} of ${f.sent} not arrived: lower bounds)` : ''}`,
    '',
    '',
  ];
}
