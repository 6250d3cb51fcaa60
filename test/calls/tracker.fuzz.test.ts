/**
 * Property-based tests of the CallTracker (fast-check, fixed seed): random ARI event sequences
 * made of the real recorded calls (test/fixtures and test/fixtures/recorded, copied from shared/ari-recordings), interleaved,
 * with events dropped, duplicated, moved and their fields mutated to values of any type, junk
 * objects in between, reconciles with channel lists that raced the stream, and restarts from
 * what the tracker stored. Whatever comes:
 * - the tracker never throws;
 * - no leg is opened by anything but a creation (ChannelCreated, or a channel reconcile found);
 * - each leg's events start with its channel_create, and nothing follows its channel_destroy;
 * - once Asterisk reports a channel gone (a ChannelDestroyed), no leg of it is left open, and
 *   none is left in the store;
 * - every payload built from its events has the documented types and no unsafe keys.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CallTracker } from '../../src/calls/tracker.js';
import type { CallEvent } from '../../src/calls/types.js';
import { AccountDirectory, type AccountEntry } from '../../src/calls/account.js';
import { sanitizeAriEvent, type AriEvent } from '../../src/ari/events.js';
import { buildPayload } from '../../src/events/payload.js';

type Json = Record<string, unknown>;

const ACCOUNTS: AccountEntry[] = [
  { id: 'acme', realm: 'acme.example', parent_id: null, numbers: ['15550001', '15550002', '15550003', '15550004', '15550005'], accountcodes: ['acme'] },
  { id: 'globex', realm: null, parent_id: null, numbers: ['15550100'], accountcodes: ['globex'] },
];

function loadDir(dir: URL): { name: string; events: Json[] }[] {
  const path = fileURLToPath(dir);
  if (!existsSync(path)) return [];
  return readdirSync(path)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => ({
      name: f,
      events: readFileSync(new URL(f, dir), 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Json),
    }));
}

const RECORDINGS = [...loadDir(new URL('../fixtures/', import.meta.url)), ...loadDir(new URL('../fixtures/recorded/', import.meta.url))];

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const channelIdOf = (e: unknown): string | undefined => (isObject(e) && isObject(e.channel) && typeof e.channel.id === 'string' ? e.channel.id : undefined);

/** a recording's events with its channel ids made distinct by `tag` (so two copies are two calls) */
function tagged(events: Json[], tag: string): Json[] {
  let text = events.map((e) => JSON.stringify(e)).join('\n');
  if (tag) {
    const ids = new Set(
      events
        .filter((e) => e.type === 'ChannelCreated')
        .map(channelIdOf)
        .filter((x): x is string => Boolean(x)),
    );
    for (const id of ids) text = text.replaceAll(`"${id}"`, `"${id}~${tag}"`);
  }
  return text.split('\n').map((l) => JSON.parse(l) as Json);
}

/** every path to a value inside an event (objects and arrays alike) */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (isObject(v)) for (const k of Object.keys(v)) paths(v[k], [...prefix, k], out);
  if (prefix.length > 0) out.push(prefix);
  return out;
}

function setPath(root: Json, path: (string | number)[], value: unknown, remove: boolean): void {
  let o: unknown = root;
  for (const k of path.slice(0, -1)) o = (o as Record<string | number, unknown>)[k];
  const last = path[path.length - 1]!;
  if (!isObject(o) && !Array.isArray(o)) return;
  if (remove && isObject(o)) delete o[last as string];
  // defineProperty: a "__proto__" key becomes an own property, as JSON.parse makes it
  else Object.defineProperty(o, last, { value, enumerable: true, writable: true, configurable: true });
}

const POISON = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":"p","OK":"1"}';

const junkValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.constantFrom(
    '',
    'Up',
    'Ring',
    'Ringing',
    'Down',
    'PJSIP/x-1',
    'Local/a@b-1;2',
    'Message/ast_msg_queue',
    'ANSWER',
    'yesterday',
    '__proto__',
    '1795531556.1',
  ),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 3 })), { maxLength: 3 }),
  fc.constant(null).map(() => JSON.parse(POISON) as unknown),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);

const TYPES = [
  'ChannelCreated',
  'ChannelDestroyed',
  'ChannelStateChange',
  'ChannelHangupRequest',
  'ChannelVarset',
  'ChannelDialplan',
  'Dial',
  'ChannelEnteredBridge',
  'ChannelLeftBridge',
  'ChannelHold',
  'BridgeBlindTransfer',
  'StasisStart',
  'Unknown',
];

const junkChannel = fc.record(
  {
    id: fc.oneof(fc.constantFrom('1795531556.1', '1795531556.2', 'j.1', 'j.2'), junkValue),
    name: fc.oneof(
      fc.constantFrom('PJSIP/trunk-1', 'PJSIP/alice-2', 'Local/alice@internal-1;1', 'Local/alice@internal-1;2', 'Message/ast_msg_queue'),
      junkValue,
    ),
    state: fc.oneof(fc.constantFrom('Ring', 'Ringing', 'Down', 'Up'), junkValue),
    protocol_id: fc.oneof(fc.constantFrom('', 'p-1'), junkValue),
    caller: fc.oneof(fc.constant({ name: 'C', number: '1' }), junkValue),
    connected: fc.oneof(fc.constant({ name: '', number: '' }), junkValue),
    accountcode: fc.oneof(fc.constantFrom('acme', 'globex', 'nobody'), junkValue),
    dialplan: fc.oneof(fc.constant({ context: 'c', exten: '15550001', priority: 1, app_name: 'AppDial' }), junkValue),
    channelvars: fc.oneof(
      fc.constant(null).map(() => JSON.parse(POISON) as unknown),
      junkValue,
    ),
  },
  { requiredKeys: [] },
);

const junkEvent: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.record(
    {
      type: fc.oneof(fc.constantFrom(...TYPES), junkValue),
      timestamp: fc.oneof(fc.constant('2026-11-24T14:45:50.037+0000'), junkValue),
      channel: fc.oneof(junkChannel, junkValue),
      caller: fc.oneof(junkChannel, junkValue),
      peer: fc.oneof(junkChannel, junkValue),
      dialstatus: fc.oneof(fc.constantFrom('', 'ANSWER', 'BUSY', 'NOANSWER', 'CANCEL', 'RINGING'), junkValue),
      cause: fc.oneof(fc.constantFrom(0, 16, 17, 26, 127), junkValue),
      tech_cause: fc.oneof(fc.constantFrom(0, 486, 487), junkValue),
      bridge: fc.oneof(
        fc.record({ id: fc.constant('b'), channels: fc.array(fc.oneof(fc.constantFrom('1795531556.1', '1795531556.2', 'j.1'), junkValue), { maxLength: 3 }) }),
        junkValue,
      ),
    },
    { requiredKeys: [] },
  ),
);

type Op =
  | { kind: 'drop'; at: number }
  | { kind: 'dup'; at: number; to: number }
  | { kind: 'move'; at: number; to: number }
  | { kind: 'mutate'; at: number; path: number; value: unknown; remove: boolean }
  | { kind: 'junk'; at: number; event: unknown };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('dup' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ kind: fc.constant('move' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ kind: fc.constant('mutate' as const), at: fc.nat(), path: fc.nat(), value: junkValue, remove: fc.boolean() }),
  fc.record({ kind: fc.constant('junk' as const), at: fc.nat(), event: junkEvent }),
);

/** what happens between two events: a reconcile (with a list taken `lag` events earlier), a restart, an Asterisk restart */
type Step = { kind: 'reconcile'; at: number; lag: number; junk: unknown[] } | { kind: 'restart'; at: number } | { kind: 'endAll'; at: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('reconcile' as const),
    at: fc.nat(),
    lag: fc.nat({ max: 6 }),
    junk: fc.array(fc.oneof(junkChannel, junkValue), { maxLength: 2 }),
  }),
  fc.record({ kind: fc.constant('restart' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('endAll' as const), at: fc.nat() }),
);

const scenario = fc.record({
  calls: fc.array(fc.nat({ max: RECORDINGS.length - 1 }), { minLength: 1, maxLength: 3 }),
  /** how the calls interleave: which call's next event comes */
  order: fc.array(fc.nat({ max: 2 }), { maxLength: 600 }),
  ops: fc.array(op, { maxLength: 25 }),
  steps: fc.array(step, { maxLength: 3 }),
  defaultAccount: fc.boolean(),
});

function build(s: ScenarioValue): unknown[] {
  const calls = s.calls.map((n, i) => tagged(RECORDINGS[n]!.events, i === 0 ? '' : String(i)));
  // interleave the calls in the order drawn, then whatever is left
  const seq: unknown[] = [];
  const next = calls.map(() => 0);
  for (const pick of s.order) {
    const c = pick % calls.length;
    if (next[c]! < calls[c]!.length) seq.push(calls[c]![next[c]!++]);
  }
  calls.forEach((events, c) => seq.push(...events.slice(next[c])));
  for (const o of s.ops) {
    if (seq.length === 0) break;
    const at = o.at % seq.length;
    if (o.kind === 'drop') seq.splice(at, 1);
    else if (o.kind === 'dup') seq.splice(o.to % (seq.length + 1), 0, JSON.parse(JSON.stringify(seq[at] ?? null)));
    else if (o.kind === 'move') seq.splice(o.to % seq.length, 0, ...seq.splice(at, 1));
    else if (o.kind === 'junk') seq.splice(at, 0, o.event);
    else if (isObject(seq[at])) {
      const e = JSON.parse(JSON.stringify(seq[at])) as Json;
      const all = paths(e);
      if (all.length) setPath(e, all[o.path % all.length]!, o.value, o.remove);
      seq[at] = e;
    }
  }
  return seq;
}

type ScenarioValue = { calls: number[]; order: number[]; ops: Op[]; steps: Step[]; defaultAccount: boolean };

const T0 = Date.parse('2026-12-01T12:00:00.000Z');
let now = T0;
beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterAll(() => {
  vi.useRealTimers();
});
const tick = () => vi.setSystemTime((now += 7));

/** the checks every run makes, whatever the sequence */
function check(s: ScenarioValue): void {
  const seq = build(s);
  const accounts = new AccountDirectory(s.defaultAccount ? 'acme' : undefined);
  accounts.load(ACCOUNTS);
  const newTracker = () => new CallTracker(accounts, { accountVariable: 'CALLHOOK_ACCOUNT', maxPendingLegs: 50 });
  let tracker = newTracker();
  now = T0;
  vi.setSystemTime(now);

  /** the legs table, as the store would hold it */
  const db = new Map<string, string>();
  const flush = () => {
    const ch = tracker.takeChanges();
    for (const u of ch.upserts) db.set(u.id, u.state);
    for (const d of ch.deletes) db.delete(d);
  };
  /** channel ids something created: a ChannelCreated in the input (any shape) or an entry of a channel list */
  const creatable = new Set<string>();
  /** per channel id, per the output: is a leg open (created, not destroyed)? */
  const open = new Map<string, boolean>();
  /** channels Asterisk reported gone and not created again since */
  const gone = new Set<string>();
  /** the last valid snapshot of each channel (to end everything at the end) */
  const lastSnap = new Map<string, unknown>();
  /** channels live per the input (what a channel list answers) */
  const live = new Map<string, unknown>();

  const observe = (out: CallEvent[]) => {
    for (const e of out) {
      // a text message is no leg
      if (e.hookEvent === 'sms') continue;
      const id = e.leg.channelId;
      expect(creatable.has(id), `${e.hookEvent} of ${id}, which nothing created`).toBe(true);
      if (e.hookEvent === 'channel_create') {
        expect(open.get(id), `a second channel_create of ${id}`).not.toBe(true);
        open.set(id, true);
      } else {
        expect(open.get(id), `${e.hookEvent} of ${id} without an open leg`).toBe(true);
        if (e.hookEvent === 'channel_destroy') open.set(id, false);
      }
      const leg = e.leg as unknown as Record<string, unknown>;
      for (const k of ['channelId', 'callId', 'callerIdName', 'callerIdNumber', 'calleeIdName', 'calleeIdNumber', 'fromNumber', 'toNumber'])
        expect(typeof leg[k], k).toBe('string');
      expect(typeof e.leg.isInternal).toBe('boolean');
      expect(['inbound', 'outbound']).toContain(e.leg.direction);
      for (const k of Object.getOwnPropertyNames(e.leg.channelVars)) {
        expect(['__proto__', 'constructor', 'prototype']).not.toContain(k);
        expect(typeof e.leg.channelVars[k]).toBe('string');
      }
      const p = buildPayload(e, 'realm.example');
      for (const k of [
        'hook_event',
        'call_id',
        'channel_id',
        'call_direction',
        'account_id',
        'from',
        'to',
        'request',
        'caller_id_name',
        'caller_id_number',
        'callee_id_name',
        'callee_id_number',
        'event_id',
      ]) {
        expect(typeof p[k], k).toBe('string');
      }
      expect(typeof p.is_internal_leg).toBe('boolean');
      expect(Number.isFinite(p.timestamp)).toBe(true);
      const vars = p.custom_channel_vars as Record<string, unknown>;
      expect(Object.getPrototypeOf(vars)).toBe(Object.prototype);
      for (const k of Object.getOwnPropertyNames(vars)) {
        expect(['__proto__', 'constructor', 'prototype']).not.toContain(k);
        expect(typeof vars[k]).toBe('string');
      }
      for (const k of ['other_leg_call_id', 'hangup_cause', 'hangup_code', 'duration_seconds', 'ringing_seconds', 'billing_seconds']) {
        if (k in p) expect(typeof p[k], k).toBe('string');
      }
    }
  };
  /** once Asterisk reported a channel gone, nothing of it is open or stored */
  const checkGone = () => {
    for (const id of gone) {
      expect(open.get(id), `${id} was destroyed but its leg is open`).not.toBe(true);
      expect(db.has(id), `${id} was destroyed but is stored`).toBe(false);
    }
    // the store holds the open legs (created for an account, not destroyed), and nothing else
    for (const id of db.keys()) expect(open.get(id), `${id} stored, not open`).toBe(true);
    for (const [id, isOpen] of open) if (isOpen) expect(db.has(id), `${id} open, not stored`).toBe(true);
    // what the tracker keeps is the open legs and those waiting for their create: no leg of no account
    const openCount = [...open.values()].filter(Boolean).length;
    expect(tracker.openLegs, 'legs kept that are neither open nor waiting for their create').toBe(openCount + tracker.pendingLegs);
    expect(tracker.pendingLegs).toBeLessThanOrEqual(50);
  };

  const stepsAt = new Map<number, Step[]>();
  for (const st of s.steps) {
    const at = seq.length ? st.at % seq.length : 0;
    stepsAt.set(at, [...(stepsAt.get(at) ?? []), st]);
  }
  const raced: { since: number; list: unknown[]; due: number }[] = [];

  seq.forEach((raw, i) => {
    for (const st of stepsAt.get(i) ?? []) {
      if (st.kind === 'restart') {
        flush();
        tracker = newTracker();
        tracker.restore([...db].map(([id, state]) => ({ id, state })));
        raced.length = 0; // a channel list asked for by the stopped process is never answered
      } else if (st.kind === 'endAll') {
        observe(tracker.endAll(now));
        flush();
      } else {
        // the list is asked for now and answered `lag` events later
        const list: unknown[] = [...live.values(), ...st.junk];
        raced.push({ since: now, list, due: i + st.lag });
      }
    }
    tick();
    const checked = sanitizeAriEvent(raw);
    const type = isObject(raw) ? raw.type : undefined;
    if (type === 'ChannelCreated' && channelIdOf(raw)) creatable.add(channelIdOf(raw)!);
    const before = tracker.openLegs;
    const out = tracker.handle(raw as AriEvent);
    if (type !== 'ChannelCreated') expect(tracker.openLegs, 'a leg opened by something else than a creation').toBeLessThanOrEqual(before);
    observe(out);
    if (!('error' in checked) && checked.event.channel) {
      const ch = checked.event.channel;
      lastSnap.set(ch.id, ch);
      if (checked.event.type === 'ChannelDestroyed') {
        live.delete(ch.id);
        gone.add(ch.id);
      } else if (checked.event.type === 'ChannelCreated') {
        live.set(ch.id, ch);
        gone.delete(ch.id);
      }
    }
    flush();
    checkGone();
    for (const r of raced.filter((x) => x.due <= i)) {
      raced.splice(raced.indexOf(r), 1);
      for (const c of r.list) if (isObject(c) && typeof c.id === 'string' && !gone.has(c.id)) creatable.add(c.id);
      tick();
      const before2 = tracker.openLegs;
      observe(tracker.reconcile(r.list as never, r.since, now, 'x'));
      expect(tracker.openLegs).toBeLessThanOrEqual(before2 + r.list.length);
      flush();
      checkGone();
    }
  });

  // Asterisk reports every channel gone: nothing is left, in memory or in the store
  for (const [id, ch] of lastSnap) {
    tick();
    gone.add(id);
    observe(tracker.handle({ type: 'ChannelDestroyed', timestamp: new Date(now).toISOString().replace('Z', '+0000'), cause: 16, channel: ch } as AriEvent));
  }
  flush();
  checkGone();
  // legs only a channel list (junk) created end at the next reconcile with an empty list
  tick();
  observe(tracker.reconcile([], now + 1, now));
  flush();
  expect(tracker.openLegs).toBe(0);
  expect(db.size).toBe(0);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

describe('CallTracker under random ARI event sequences (fast-check)', () => {
  it('has recordings to build sequences from', () => {
    expect(RECORDINGS.length).toBeGreaterThanOrEqual(10);
  });

  it('the recorded calls as they are end with every leg destroyed and nothing stored', () => {
    for (let n = 0; n < RECORDINGS.length; n++) check({ calls: [n], order: [], ops: [], steps: [], defaultAccount: false });
  });

  it('never throws, opens legs only at a creation, and leaves no leg of a destroyed channel (shuffled, dropped, duplicated, mutated)', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        check(s);
      }),
      { seed: 42, numRuns: 250 },
    );
  });

  it('pure junk opens nothing and throws nothing', () => {
    fc.assert(
      fc.property(fc.array(junkEvent, { maxLength: 60 }), fc.array(fc.oneof(junkChannel, junkValue), { maxLength: 5 }), (events, list) => {
        const accounts = new AccountDirectory('acme');
        accounts.load(ACCOUNTS);
        const t = new CallTracker(accounts, { accountVariable: 'CALLHOOK_ACCOUNT' });
        for (const e of events) {
          const before = t.openLegs;
          t.handle(e as AriEvent);
          if (!(isObject(e) && e.type === 'ChannelCreated')) expect(t.openLegs).toBeLessThanOrEqual(before);
        }
        t.reconcile(list as never, 0, Date.now());
        t.endAll(Date.now());
        expect(t.openLegs).toBe(0);
        t.takeChanges();
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { seed: 42, numRuns: 400 },
    );
  });
});
