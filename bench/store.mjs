#!/usr/bin/env node
// The store's share of one webhook, measured apart from HTTP: `node bench/store.mjs` (after
// `npm run build`). Stores N events with one delivery each (in transactions of 40, as ingest
// group-commits them), then claims them 32 at a time and records each batch's tries as the
// dispatcher does. Prints microseconds per webhook for each step. Then a receiver that is
// down through long calls: 500 legs with 100 deliveries each, every leg's first one waiting
// for its retry; prints what one claim that finds nothing costs, what a page of the
// deliveries and attempts APIs costs then, the hourly prune and /health's count of the backlog.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../dist/store/sqlite/store.js';
import { eventId } from '../dist/shared/ids.js';

const N = 16_000;
const dir = mkdtempSync(join(tmpdir(), 'callhook-store-bench-'));
const store = new SqliteStore(join(dir, 'callhook.db'));
const now = Date.now();
await store.createAccount({ id: 'a', name: 'A', realm: null, parent_id: null, accountcodes: [], numbers: [], created: now, updated: now });
await store.createWebhook({
  id: 'h',
  account_id: 'a',
  name: 'h',
  uri: 'http://127.0.0.1:9/',
  hook: 'all',
  http_verb: 'post',
  format: 'json',
  retries: 3,
  enabled: true,
  custom_data: {},
  headers: {},
  event_filter: null,
  include_internal_legs: false,
  include_subaccounts: false,
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  disabled_reason: null,
  created: now,
  updated: now,
});
const payload = JSON.stringify({ hook_event: 'channel_create', filler: 'x'.repeat(900) });

/** stores `count` events of the legs `legOf(n)`, 40 to a transaction, one delivery each; ids as the tracker makes them */
let legsCreated = now;
async function storeEvents(prefix, count, legOf) {
  for (let b = 0; b < count / 40; b++) {
    const items = [];
    for (let i = 0; i < 40; i++) {
      const n = b * 40 + i;
      const id = eventId(legsCreated++, `${prefix}|${n}`);
      items.push({ event: { id, account_id: 'a', hook_event: 'channel_create', leg: legOf(n), call_id: `c${n}`, payload, created: now }, webhookIds: ['h'] });
    }
    await store.insertEvents(items);
  }
}
/** the recorded try of a claimed delivery: a 200, or a 503 whose retry is an hour away */
function tried(d, at, ok) {
  return {
    attempt: {
      delivery_id: d.id,
      webhook_id: 'h',
      account_id: 'a',
      event_id: d.event_id,
      hook_event: d.hook_event,
      call_id: d.call_id,
      uri: 'http://127.0.0.1:9/',
      method: 'POST',
      status_code: ok ? 200 : 503,
      response_body: ok ? 'ok' : '',
      duration_ms: 1,
      try_number: 1,
      retries_left: ok ? 0 : 2,
      result: ok ? 'success' : 'failure',
      reason: ok ? 'HTTP 200' : 'HTTP 503',
      created: at,
    },
    update: ok
      ? { id: d.id, status: 'succeeded', tries: 1, next_at: at, last_error: null }
      : { id: d.id, status: 'pending', tries: 1, next_at: at + 3_600_000, last_error: 'HTTP 503' },
  };
}

let t = performance.now();
await storeEvents('e', N, (n) => `leg${n >> 2}`);
const ingest = performance.now() - t;

let claim = 0;
let record = 0;
let sent = 0;
for (;;) {
  t = performance.now();
  const due = await store.claimDeliveries(Date.now(), 32, 60_000);
  claim += performance.now() - t;
  if (due.length === 0) break;
  sent += due.length;
  const at = Date.now();
  t = performance.now();
  await store.recordAttempts(due.map((d) => tried(d, at, true)));
  record += performance.now() - t;
}
if (sent !== N) throw new Error(`claimed ${sent} of ${N}`);
const us = (ms) => ((ms * 1000) / N).toFixed(1);
console.log(`store per webhook (${N}): ingest ${us(ingest)} µs, claim ${us(claim)} µs, record ${us(record)} µs, total ${us(ingest + claim + record)} µs`);

const LEGS = 500;
const DEEP = 100;
await storeEvents('q', LEGS * DEEP, (n) => `deep${n % LEGS}`);
const at = Date.now();
const heads = await store.claimDeliveries(at, LEGS * 2, 60_000);
if (heads.length !== LEGS) throw new Error(`claimed ${heads.length} heads of ${LEGS} legs`);
await store.recordAttempts(heads.map((d) => tried(d, at, false)));
t = performance.now();
for (let i = 0; i < 20; i++) if ((await store.claimDeliveries(at + 1000, 64, 60_000)).length) throw new Error('claimed a delivery queued behind a retry');
console.log(`a claim with ${LEGS * (DEEP - 1)} deliveries queued behind ${LEGS} retries: ${((performance.now() - t) / 20).toFixed(2)} ms`);

// the deliveries API on that webhook (its first page, and of its failed ones, of which it has none)
for (const status of [undefined, 'failed']) {
  t = performance.now();
  for (let i = 0; i < 20; i++) await store.listDeliveries({ webhook_id: 'h', status, limit: 50 });
  console.log(`a page of ${status ?? 'all'} deliveries of a webhook with ${N + LEGS * DEEP}: ${((performance.now() - t) / 20).toFixed(2)} ms`);
}
t = performance.now();
for (let i = 0; i < 20; i++) await store.listAttempts({ account_id: 'a', limit: 50 });
console.log(`a page of attempts of an account with ${N + LEGS}: ${((performance.now() - t) / 20).toFixed(2)} ms`);
t = performance.now();
const pruned = await store.prune(Date.now() - 30 * 86_400_000);
if (pruned.attempts || pruned.deliveries || pruned.events) throw new Error('pruned rows that are not old');
console.log(`the hourly prune when nothing is 30 days old: ${(performance.now() - t).toFixed(2)} ms`);
// /health's count of the backlog runs on the checkpointer's thread: this one only asks
t = performance.now();
const counting = store.countPending();
const held = performance.now() - t;
const pending = await counting;
console.log(
  `counting ${pending} pending deliveries (/health): answered after ${(performance.now() - t).toFixed(2)} ms, this thread held ${held.toFixed(2)} ms`,
);
// storing costs the same with more events kept: ids sort by time, so inserts go to the end of each index
t = performance.now();
await storeEvents('late', N, (n) => `late${n >> 2}`);
console.log(`ingest with ${N + LEGS * DEEP} events already stored: ${(((performance.now() - t) * 1000) / N).toFixed(1)} µs per event`);
await store.close();
rmSync(dir, { recursive: true, force: true });
