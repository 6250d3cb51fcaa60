import { describe, expect, it } from 'vitest';
import { CallTracker } from '../../src/calls/tracker.js';
import type { CallEvent } from '../../src/calls/types.js';
import { AccountDirectory, type AccountEntry } from '../../src/calls/account.js';
import type { AriChannel, AriEvent } from '../../src/ari/events.js';
import { loadFixture } from '../helpers/fake-ari.js';

const ACME: AccountEntry = { id: 'acme', realm: 'acme.example', parent_id: null, numbers: ['15550001', '15550002'], accountcodes: ['acme'] };

function run(events: unknown[], accounts: AccountEntry[] = [ACME], defaultAccount?: string) {
  const dir = new AccountDirectory(defaultAccount);
  dir.load(accounts);
  const tracker = new CallTracker(dir, { accountVariable: 'CALLHOOK_ACCOUNT' });
  const out: CallEvent[] = [];
  for (const e of events) out.push(...tracker.handle(e as AriEvent));
  return { out, tracker };
}

const seq = (out: CallEvent[], channelId?: string) => out.filter((e) => !channelId || e.leg.channelId === channelId).map((e) => e.hookEvent);

describe('CallTracker on recorded Asterisk 22 calls', () => {
  it('inbound call answered by the dialplan', () => {
    const { out, tracker } = run(loadFixture('ivr_answered.jsonl'));
    expect(seq(out)).toEqual(['channel_create', 'channel_answer', 'channel_destroy']);
    const [create, answer, destroy] = out;
    // protocol_id is empty in ChannelCreated: the create waits for the SIP Call-ID
    expect(create!.leg.callId).toBe('1-11627@127.0.0.1');
    expect(create!.leg).toMatchObject({ direction: 'inbound', fromNumber: '4930123456', toNumber: '15550001', isInternal: false });
    expect(create!.timestampMs).toBe(Date.parse('2026-11-24T14:45:50.038Z'));
    expect(answer!.timestampMs).toBe(Date.parse('2026-11-24T14:45:50.038Z'));
    // ChannelDestroyed says cause 0; the HangupRequest said 16
    expect(destroy!.leg.hangup).toEqual({ cause: 'NORMAL_CLEARING', code: undefined, durationSeconds: 2, ringingSeconds: 0, billingSeconds: 2 });
    expect(new Set(out.map((e) => e.leg.callId)).size).toBe(1);
    expect(tracker.openLegs).toBe(0);
  });

  it('call dialed to a phone that answers: two legs, linked', () => {
    const { out } = run(loadFixture('dial_answered.jsonl'));
    const inbound = '1795531556.1';
    const outbound = '1795531556.2';
    expect(seq(out, inbound)).toEqual(['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy']);
    expect(seq(out, outbound)).toEqual(['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy']);
    const outCreate = out.find((e) => e.leg.channelId === outbound)!;
    // on the dialed leg, caller = the callee and connected = the calling party
    expect(outCreate.leg).toMatchObject({
      direction: 'outbound',
      callId: '005fcac4-dca8-4723-824a-742d9727d1b6',
      fromNumber: '4930123456',
      toNumber: '201',
      callerIdName: 'Carol',
      calleeIdName: 'Alice',
      otherLegCallId: '1-11659@127.0.0.1',
    });
    const inDestroy = out.find((e) => e.leg.channelId === inbound && e.hookEvent === 'channel_destroy')!;
    expect(inDestroy.leg.otherLegCallId).toBe('005fcac4-dca8-4723-824a-742d9727d1b6');
    expect(inDestroy.leg.hangup).toMatchObject({ cause: 'NORMAL_CLEARING', billingSeconds: 2 });
    const bridges = out.filter((e) => e.hookEvent === 'channel_bridge');
    expect(bridges.map((b) => b.leg.otherLegCallId).sort()).toEqual(['005fcac4-dca8-4723-824a-742d9727d1b6', '1-11659@127.0.0.1']);
  });

  it('a dialed leg that rings before its Dial event arrives still gets the caller in its create', () => {
    // Asterisk publishes the Dial and the state change on different topics: seen in CI, the
    // phone's Ringing came first
    const events = loadFixture('dial_answered.jsonl') as unknown as AriEvent[];
    const dial = events.findIndex((e) => e.type === 'Dial' && !e.dialstatus);
    const ringing = events.findIndex((e) => e.type === 'ChannelStateChange' && e.channel?.state === 'Ringing');
    expect(ringing).toBeGreaterThan(dial);
    const [ring] = events.splice(ringing, 1);
    events.splice(dial, 0, ring!);
    const { out } = run(events);
    const outbound = '1795531556.2';
    expect(seq(out, outbound)).toEqual(['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy']);
    expect(out.find((e) => e.leg.channelId === outbound)!.leg).toMatchObject({ otherLegCallId: '1-11659@127.0.0.1', fromNumber: '4930123456' });
  });

  it('gives every event a stable, distinct id', () => {
    const a = run(loadFixture('dial_answered.jsonl')).out.map((e) => e.eventId);
    const b = run(loadFixture('dial_answered.jsonl')).out.map((e) => e.eventId);
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(a.length);
    // they begin with the time the leg was created (its ARI creationtime), so they sort by it
    const first = run(loadFixture('dial_answered.jsonl')).out[0]!;
    expect(first.leg.channelId).toBe('1795531556.1');
    expect(first.eventId.slice(0, 12)).toBe(Date.parse('2026-11-24T14:45:56.486Z').toString(16).padStart(12, '0'));
  });

  it('skips frames that are not call events without state changes', () => {
    const { out, tracker } = run([{ type: 'DeviceStateChanged', device_state: { name: 'PJSIP/alice', state: 'INUSE' } }, { type: 'StasisStart' }]);
    expect(out).toEqual([]);
    expect(tracker.openLegs).toBe(0);
  });
});

describe('CallTracker on calls recorded from the test PBX', () => {
  const ACCOUNTS: AccountEntry[] = [
    { ...ACME, numbers: ['15550002', '15550003', '15550004', '15550005'] },
    { id: 'globex', realm: null, parent_id: null, numbers: ['15550100'], accountcodes: ['globex'] },
  ];
  const legsOf = (out: CallEvent[]) => {
    const legs: Record<string, { events: string[]; last: CallEvent }> = {};
    for (const e of out) {
      const leg = (legs[e.leg.channelId] ??= { events: [], last: e });
      leg.events.push(e.hookEvent);
      leg.last = e;
    }
    return Object.values(legs);
  };

  it('the caller hangs up while the phone rings', () => {
    const { out } = run(loadFixture('cancel.jsonl'), ACCOUNTS);
    const [caller, phone] = legsOf(out);
    expect(caller!.events).toEqual(['channel_create', 'channel_destroy']);
    expect(phone!.events).toEqual(['channel_create', 'channel_destroy']);
    // caller: cause 127 + tech_cause 487; phone: 127 + 500, but its Dial status says CANCEL
    expect(caller!.last.leg.hangup).toEqual({ cause: 'ORIGINATOR_CANCEL', code: 'sip:487', durationSeconds: 2, ringingSeconds: 2, billingSeconds: 0 });
    expect(phone!.last.leg.hangup).toMatchObject({ cause: 'ORIGINATOR_CANCEL', code: 'sip:487', billingSeconds: 0 });
  });

  it('the phone answers busy', () => {
    const { out } = run(loadFixture('busy.jsonl'), ACCOUNTS);
    expect(out.map((e) => e.hookEvent)).not.toContain('channel_answer');
    for (const leg of legsOf(out)) expect(leg.last.leg.hangup).toMatchObject({ cause: 'USER_BUSY', code: 'sip:486', billingSeconds: 0 });
  });

  it('nobody answers: Dial times out', () => {
    const { out } = run(loadFixture('noanswer.jsonl'), ACCOUNTS);
    for (const leg of legsOf(out)) {
      expect(leg.events).toEqual(['channel_create', 'channel_destroy']);
      expect(leg.last.leg.hangup).toMatchObject({ cause: 'NO_ANSWER', durationSeconds: 2, billingSeconds: 0 });
    }
  });

  it('a ring group: one phone answers, the other leg ends answered elsewhere', () => {
    const { out } = run(loadFixture('ringgroup.jsonl'), ACCOUNTS);
    const [caller, alice, bob] = legsOf(out);
    expect(caller!.events).toEqual(['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy']);
    expect(alice!.events).toEqual(['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy']);
    expect(bob!.events).toEqual(['channel_create', 'channel_destroy']);
    expect(bob!.last.leg.hangup).toMatchObject({ cause: 'ANSWERED_ELSEWHERE', billingSeconds: 0 });
    expect(caller!.last.leg.otherLegCallId).toBe(alice!.last.leg.callId);
  });

  it('Local channels are internal legs and keep the account of the call', () => {
    const { out, tracker } = run(loadFixture('local.jsonl'), ACCOUNTS);
    const legs = legsOf(out);
    expect(legs).toHaveLength(4);
    expect(legs.map((l) => l.last.leg.isInternal)).toEqual([false, true, true, false]);
    for (const l of legs) expect(l.events[0]).toBe('channel_create');
    expect(new Set(out.map((e) => e.accountId))).toEqual(new Set(['acme']));
    expect(tracker.dropped).toBe(0);
  });

  it("the second tenant's DID on the shared trunk belongs to that tenant", () => {
    const { out } = run(loadFixture('globex.jsonl'), ACCOUNTS);
    expect(out).toHaveLength(8);
    expect(new Set(out.map((e) => e.accountId))).toEqual(new Set(['globex']));
  });

  it('a phone calling out through the carrier: from/to per leg', () => {
    const { out } = run(loadFixture('outbound.jsonl'), ACCOUNTS);
    const [phone, carrier] = legsOf(out);
    expect(phone!.last.leg).toMatchObject({ direction: 'inbound', fromNumber: '201', toNumber: '15559999', callerIdName: 'Alice' });
    expect(carrier!.last.leg).toMatchObject({ direction: 'outbound', fromNumber: '201', toNumber: '15559999', calleeIdNumber: '15559999' });
    expect(carrier!.events).toEqual(['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy']);
    expect(new Set(out.map((e) => e.accountId))).toEqual(new Set(['acme']));
  });
});

describe('CallTracker legs', () => {
  const chan = (id: string, name: string, state: string, extra: Record<string, unknown> = {}) => ({
    id,
    name,
    state,
    protocol_id: '',
    caller: { name: '', number: '' },
    connected: { name: '', number: '' },
    accountcode: 'acme',
    dialplan: { context: 'default', exten: 's', priority: 1 },
    channelvars: {},
    ...extra,
  });
  const ev = (type: string, channel: unknown, ms: number, extra: Record<string, unknown> = {}) => ({
    type,
    channel,
    timestamp: new Date(Date.UTC(2026, 10, 24, 12, 0, 0, ms)).toISOString().replace('Z', '+0000'),
    asterisk_id: 'x',
    ...extra,
  });

  it('an attended transfer: the transferee, the transferring leg and the target get a channel_transfer; the transferee is bridged to the target', () => {
    const carol = chan('7.1', 'PJSIP/trunk-00000001', 'Ring', {
      protocol_id: 'carol',
      caller: { name: 'Carol', number: '4930123456' },
      dialplan: { context: 'from-trunk', exten: '15550002', priority: 1 },
    });
    const alice1 = chan('7.2', 'PJSIP/alice-00000002', 'Down', {
      protocol_id: 'alice-1',
      caller: { name: 'Alice', number: '201' },
      dialplan: { app_name: 'AppDial' },
    });
    const alice2 = chan('7.3', 'PJSIP/alice-00000003', 'Ring', {
      protocol_id: 'alice-2',
      caller: { name: 'Alice', number: '201' },
      dialplan: { context: 'from-phones', exten: '202', priority: 1 },
    });
    const bob = chan('7.4', 'PJSIP/bob-00000004', 'Down', { protocol_id: 'bob', caller: { name: 'Bob', number: '202' }, dialplan: { app_name: 'AppDial' } });
    const up = (c: ReturnType<typeof chan>) => ({ ...c, state: 'Up' });
    const { out } = run([
      ev('ChannelCreated', carol, 0),
      ev('ChannelCreated', alice1, 1),
      ev('Dial', undefined, 2, { caller: carol, peer: alice1, dialstring: 'alice' }),
      ev('ChannelStateChange', up(alice1), 3),
      ev('ChannelEnteredBridge', up(carol), 4, { bridge: { id: 'b1', channels: ['7.1', '7.2'] } }),
      ev('ChannelCreated', alice2, 5),
      ev('ChannelCreated', bob, 6),
      ev('Dial', undefined, 7, { caller: alice2, peer: bob, dialstring: 'bob' }),
      ev('ChannelStateChange', up(bob), 8),
      ev('BridgeAttendedTransfer', undefined, 9, {
        transferer_first_leg: up(alice1),
        transferer_second_leg: up(alice2),
        transferee: up(carol),
        transfer_target: up(bob),
        result: 'Success',
        destination_type: 'bridge',
      }),
      ev('ChannelEnteredBridge', up(carol), 10, { bridge: { id: 'b2', channels: ['7.4', '7.1'] } }),
    ]);
    const transfers = out.filter((e) => e.hookEvent === 'channel_transfer');
    expect(transfers.map((e) => e.leg.callId)).toEqual(['carol', 'alice-1', 'bob']);
    expect(transfers[0]!.detail).toEqual({
      transfer_type: 'attended',
      transferor_call_id: 'alice-1',
      transferee_call_id: 'carol',
      transfer_to: '202',
      transfer_result: 'Success',
      transfer_target_call_id: 'bob',
    });
    const last = out.filter((e) => e.leg.callId === 'carol').at(-1)!;
    expect(last).toMatchObject({ hookEvent: 'channel_bridge', leg: { otherLegCallId: 'bob' } });
  });

  it('marks Local channels as internal and uses their channel id as call_id', () => {
    const local = chan('9.1', 'Local/200@internal-00000001;1', 'Down');
    const { out } = run([
      ev('ChannelCreated', local, 0),
      ev('ChannelStateChange', { ...local, state: 'Ringing' }, 5),
      ev('ChannelDestroyed', { ...local, state: 'Ringing' }, 10, { cause: 16 }),
    ]);
    expect(seq(out)).toEqual(['channel_create', 'channel_destroy']);
    expect(out[0]!.leg).toMatchObject({ isInternal: true, callId: '9.1', direction: 'outbound' });
  });

  it('an originated leg (no Dial) gets its create at the first state change, outbound, from the caller id set to the endpoint called', () => {
    // ARI originate to PJSIP/alice with callerId "Sales <300>": the channel's caller is that caller id
    const c = chan('9.2', 'PJSIP/alice-00000009', 'Down', {
      caller: { name: 'Sales', number: '300' },
      connected: { name: 'Sales', number: '300' },
      protocol_id: 'orig-1',
    });
    const { out } = run([
      ev('ChannelCreated', c, 0),
      ev('ChannelStateChange', { ...c, state: 'Ringing' }, 100),
      ev('ChannelStateChange', { ...c, state: 'Up' }, 2100),
    ]);
    expect(seq(out)).toEqual(['channel_create', 'channel_answer']);
    expect(out[0]!.leg).toMatchObject({
      direction: 'outbound',
      fromNumber: '300',
      callerIdName: 'Sales',
      toNumber: 'alice',
      calleeIdNumber: 'alice',
      callId: 'orig-1',
      linkedId: '9.2',
    });
  });

  it('answers once even if Up is reported again', () => {
    const c = chan('9.3', 'PJSIP/trunk-1', 'Ring', { protocol_id: 'p3' });
    const { out } = run([ev('ChannelCreated', c, 0), ev('ChannelStateChange', { ...c, state: 'Up' }, 1), ev('ChannelStateChange', { ...c, state: 'Up' }, 2)]);
    expect(seq(out)).toEqual(['channel_create', 'channel_answer']);
  });

  it('never reports negative durations when events come out of order', () => {
    const c = chan('9.4', 'PJSIP/trunk-2', 'Ring', { protocol_id: 'p4', creationtime: '2026-11-24T12:00:05.000+0000' });
    const { out } = run([ev('ChannelCreated', c, 5000), ev('ChannelDestroyed', c, 4000, { cause: 16 })]);
    expect(out.at(-1)!.leg.hangup).toMatchObject({ durationSeconds: 0, ringingSeconds: 0, billingSeconds: 0 });
  });

  it('a leg first seen mid-call is taken up by reconcile (not by its events) and still ends once', () => {
    const c = chan('9.5', 'PJSIP/trunk-3', 'Up', { protocol_id: 'p5', creationtime: '2026-11-24T11:59:00.000+0000' });
    const { out, tracker } = run([ev('ChannelVarset', c, 0)]);
    expect(out).toEqual([]);
    expect(tracker.openLegs).toBe(0);
    const taken = tracker.reconcile([c as unknown as AriChannel], 0, Date.parse('2026-11-24T12:00:00.000Z'), 'x');
    expect(seq(taken)).toEqual(['channel_create', 'channel_answer']);
    const end = tracker.handle(ev('ChannelDestroyed', c, 1000, { cause: 16 }) as unknown as AriEvent);
    expect(seq(end)).toEqual(['channel_destroy']);
    expect(end[0]!.leg.hangup).toMatchObject({ durationSeconds: 61 });
    expect(tracker.openLegs).toBe(0);
  });
});

describe('what opens a leg', () => {
  const chan = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    name: `PJSIP/trunk-${id}`,
    state: 'Ring',
    protocol_id: `call-${id}`,
    caller: { name: 'Carol', number: '4930123456' },
    connected: { name: '', number: '' },
    accountcode: 'acme',
    dialplan: { context: 'from-trunk', exten: '15550001', priority: 1 },
    channelvars: { CALLHOOK_ACCOUNT: '' },
    ...extra,
  });
  const tracker = (defaultAccount?: string) => {
    const dir = new AccountDirectory(defaultAccount);
    dir.load([ACME]);
    return new CallTracker(dir, { accountVariable: 'CALLHOOK_ACCOUNT' });
  };

  it('no event but ChannelCreated opens a leg or sends channel_create for an unknown channel', () => {
    const t = tracker();
    const c = chan('5.1');
    const types = [
      'ChannelHangupRequest',
      'ChannelDestroyed',
      'ChannelStateChange',
      'ChannelVarset',
      'ChannelDialplan',
      'ChannelHold',
      'SomethingNew',
      'ChannelEnteredBridge',
    ];
    const out: CallEvent[] = [];
    for (const type of types) out.push(...t.handle({ type, channel: c, cause: 16, bridge: { id: 'b', channels: ['5.1', '5.2'] } } as unknown as AriEvent));
    out.push(...t.handle({ type: 'Dial', caller: c, peer: chan('5.2', { state: 'Down' }), dialstatus: '' } as unknown as AriEvent));
    out.push(...t.handle({ type: 'Dial', caller: c, peer: chan('5.2', { state: 'Up' }), dialstatus: 'ANSWER' } as unknown as AriEvent));
    expect(out).toEqual([]);
    expect(t.openLegs).toBe(0);
    expect(t.takeChanges()).toEqual({ upserts: [], deletes: [] });
  });

  it('20 000 ChannelCreated of no account cost nothing: no leg kept, nothing to store', () => {
    const t = tracker();
    for (let i = 0; i < 20_000; i++) {
      const out = t.handle({
        type: 'ChannelCreated',
        asterisk_id: 'x',
        channel: chan(`6.${i}`, { accountcode: 'nobody', dialplan: { exten: '999' }, protocol_id: '' }),
      } as unknown as AriEvent);
      expect(out).toEqual([]);
    }
    expect(t.openLegs).toBe(0);
    expect(t.takeChanges()).toEqual({ upserts: [], deletes: [] });
    expect(t.dropped).toBe(20_000);
  });

  it('a dialed leg of no account is forgotten once its snapshot is complete; its events after that cost nothing', () => {
    const t = tracker();
    const d = chan('6.9', { state: 'Down', name: 'PJSIP/bob-1', accountcode: '', dialplan: { context: 'x', exten: 's', app_name: 'AppDial' } });
    t.handle({ type: 'ChannelCreated', channel: d } as unknown as AriEvent);
    expect(t.openLegs).toBe(1);
    expect(t.takeChanges().upserts).toEqual([]); // a leg is stored once its channel_create went out
    // its Dial comes from a caller callhook does not follow: the snapshot is complete, of no account
    expect(t.handle({ type: 'Dial', caller: chan('6.8'), peer: d, dialstatus: '', dialstring: 'bob' } as unknown as AriEvent)).toEqual([]);
    expect(t.openLegs).toBe(0);
    expect(t.dropped).toBe(1);
    expect(t.handle({ type: 'ChannelStateChange', channel: { ...d, state: 'Ringing' } } as unknown as AriEvent)).toEqual([]);
    expect(t.handle({ type: 'ChannelDestroyed', channel: d, cause: 16 } as unknown as AriEvent)).toEqual([]);
    expect(t.takeChanges()).toEqual({ upserts: [], deletes: [] });
  });

  it('keeps at most maxPendingLegs legs waiting for their channel_create', () => {
    const dir = new AccountDirectory();
    dir.load([ACME]);
    const t = new CallTracker(dir, { accountVariable: 'CALLHOOK_ACCOUNT', maxPendingLegs: 100 });
    for (let i = 0; i < 1000; i++) t.handle({ type: 'ChannelCreated', channel: chan(`7.${i}`, { state: 'Down' }) } as unknown as AriEvent);
    expect(t.openLegs).toBe(100);
    // the newest are kept
    const out = t.handle({ type: 'ChannelStateChange', channel: chan('7.999', { state: 'Ringing' }) } as unknown as AriEvent);
    expect(seq(out)).toEqual(['channel_create']);
  });

  it('reconcile skips malformed channels and never takes up a channel Asterisk reported destroyed meanwhile', () => {
    const t = tracker();
    const c = chan('8.1');
    t.handle({ type: 'ChannelCreated', channel: c } as unknown as AriEvent);
    t.handle({ type: 'ChannelDestroyed', channel: c, cause: 16 } as unknown as AriEvent);
    // a channel list asked for before the destroy came in, answered after it
    const out = t.reconcile([c, null, { id: 3 }, chan('8.2', { caller: null })] as unknown as AriChannel[], 0, Date.now());
    expect(out).toEqual([]);
    expect(t.openLegs).toBe(0);
  });

  it('never makes a leg of the Message/ast_msg_queue channel', () => {
    const t = tracker('acme');
    const m = chan('9.9', { name: 'Message/ast_msg_queue', state: 'Up', protocol_id: '' });
    expect(t.handle({ type: 'ChannelCreated', channel: m } as unknown as AriEvent)).toEqual([]);
    expect(t.handle({ type: 'ChannelDialplan', channel: m } as unknown as AriEvent)).toEqual([]);
    expect(t.reconcile([m as unknown as AriChannel], Date.now() + 1, Date.now())).toEqual([]);
    expect(t.openLegs).toBe(0);
  });
});

describe('CallTracker on values of the wrong type', () => {
  const tracker = () => {
    const dir = new AccountDirectory();
    dir.load([ACME]);
    return new CallTracker(dir, { accountVariable: 'CALLHOOK_ACCOUNT' });
  };
  const bad = () =>
    JSON.parse(
      '{"id":"4.1","name":"PJSIP/trunk-4","state":"Ring","protocol_id":"p41","accountcode":"acme",' +
        '"caller":{"name":null,"number":[1]},"connected":{"name":false,"number":{"n":1}},' +
        '"dialplan":{"context":"c","exten":["15550001"],"priority":"x"},"creationtime":12,' +
        '"channelvars":{"__proto__":{"polluted":"yes"},"constructor":"x","prototype":"y","CALLHOOK_ACCOUNT":["acme"],"OK":"fine"}}',
    ) as Record<string, unknown>;

  it('gives legs with strings where strings belong and no __proto__/constructor/prototype keys', () => {
    const t = tracker();
    const ch = bad();
    const out = [
      ...t.handle({ type: 'ChannelCreated', channel: ch, asterisk_id: ['x'] } as unknown as AriEvent),
      ...t.handle({ type: 'ChannelStateChange', channel: { ...ch, state: 'Up' }, timestamp: 5 } as unknown as AriEvent),
      ...t.handle({ type: 'ChannelDestroyed', channel: ch, cause: '16', tech_cause: { x: 1 } } as unknown as AriEvent),
    ];
    expect(seq(out)).toEqual(['channel_create', 'channel_destroy']); // the state change had a bad timestamp
    for (const e of out) {
      const leg = e.leg;
      for (const k of ['callerIdName', 'callerIdNumber', 'calleeIdName', 'calleeIdNumber', 'fromNumber', 'toNumber', 'callId', 'channelId'] as const) {
        expect(typeof leg[k]).toBe('string');
      }
      expect(leg.callerIdNumber).toBe('');
      expect(leg.toNumber).toBe('');
      expect(Object.keys(leg.channelVars)).toEqual(['OK']);
      expect(Object.getOwnPropertyNames(leg.channelVars)).toEqual(['OK']);
      expect(typeof e.timestampMs).toBe('number');
      expect(Number.isFinite(e.timestampMs)).toBe(true);
    }
    expect(out[1]!.leg.hangup).toMatchObject({ cause: 'ORIGINATOR_CANCEL' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never throws on junk and opens nothing with it', () => {
    const t = tracker();
    const junk: unknown[] = [
      null,
      undefined,
      0,
      'ChannelCreated',
      [],
      [{ type: 'ChannelCreated' }],
      { type: 5 },
      { type: 'ChannelCreated' },
      { type: 'ChannelCreated', channel: null },
      { type: 'ChannelCreated', channel: { id: '1' } },
      { type: 'ChannelCreated', channel: { id: 1, name: 'x', state: 'Ring', caller: {}, connected: {} } },
      { type: 'Dial', peer: 'x' },
      { type: 'ChannelEnteredBridge', bridge: { channels: 'ab' } },
      JSON.parse('{"__proto__":{"type":"ChannelCreated"}}'),
    ];
    for (const j of junk) expect(t.handle(j as AriEvent)).toEqual([]);
    expect(t.openLegs).toBe(0);
  });
});

describe('account resolution', () => {
  const accounts: AccountEntry[] = [
    ACME,
    { id: 'globex', realm: null, parent_id: null, numbers: ['+1 555 000 3'], accountcodes: ['gx'] },
    { id: 'initech', realm: null, parent_id: null, numbers: [], accountcodes: [] },
  ];
  const call = (overrides: Record<string, unknown>) => {
    const c = {
      id: '7.1',
      name: 'PJSIP/trunk-7',
      state: 'Ring',
      protocol_id: 'p7',
      caller: { name: '', number: '999' },
      connected: { name: '', number: '' },
      accountcode: '',
      dialplan: { context: 'from-trunk', exten: '5550099', priority: 1 },
      channelvars: { CALLHOOK_ACCOUNT: '' },
      ...overrides,
    };
    return [
      { type: 'ChannelCreated', channel: c, asterisk_id: 'x' },
      { type: 'ChannelVarset', channel: c, asterisk_id: 'x' },
    ];
  };
  const accountOf = (overrides: Record<string, unknown>, defaultAccount?: string) => run(call(overrides), accounts, defaultAccount).out[0]?.accountId;

  it('takes the first that matches: variable, tenantid, DID, accountcode, default', () => {
    expect(accountOf({ channelvars: { CALLHOOK_ACCOUNT: 'initech' }, tenantid: 'globex', accountcode: 'acme' })).toBe('initech');
    expect(accountOf({ tenantid: 'globex', accountcode: 'acme' })).toBe('globex');
    expect(accountOf({ dialplan: { exten: '15550003' }, accountcode: 'acme' })).toBe('globex');
    expect(accountOf({ accountcode: 'gx' })).toBe('globex');
    expect(accountOf({ accountcode: 'initech' })).toBe('initech');
    expect(accountOf({}, 'initech')).toBe('initech');
  });

  it('drops and counts events that resolve to no account', () => {
    const { out, tracker } = run(call({ channelvars: { CALLHOOK_ACCOUNT: 'nobody' } }), accounts);
    expect(out).toEqual([]);
    expect(tracker.dropped).toBe(1);
  });

  it('a dialed leg belongs to the account of the leg that dialed it', () => {
    // alice's leg has accountcode acme, but the call came in on a globex DID
    const { out } = run(
      loadFixture('dial_answered.jsonl').map((e) => JSON.parse(JSON.stringify(e).replaceAll('15550002', '15550003'))),
      accounts,
    );
    expect(new Set(out.map((e) => e.accountId))).toEqual(new Set(['globex']));
  });

  it('a leg keeps the account of its first event', () => {
    const [created, varset] = call({ dialplan: { exten: '15550001' } });
    const later = { ...(varset as { channel: Record<string, unknown> }), type: 'ChannelStateChange' };
    later.channel = { ...later.channel, state: 'Up', channelvars: { CALLHOOK_ACCOUNT: 'globex' } };
    const { out } = run([created, varset, later], accounts);
    expect(out.map((e) => e.accountId)).toEqual(['acme', 'acme']);
  });
});

describe('restarts and reconciling', () => {
  const fixture = () => loadFixture('dial_answered.jsonl') as unknown as AriEvent[];
  const tracker = () => {
    const dir = new AccountDirectory();
    dir.load([ACME]);
    return new CallTracker(dir, { accountVariable: 'CALLHOOK_ACCOUNT' });
  };

  it('a restarted tracker continues the legs of the previous run', () => {
    const events = fixture();
    const cut = events.findIndex((e) => e.type === 'ChannelEnteredBridge');
    const one = tracker();
    const before: CallEvent[] = [];
    for (const e of events.slice(0, cut)) before.push(...one.handle(e));
    const saved = one.takeChanges();
    expect(saved.upserts.map((u) => u.id).sort()).toEqual(['1795531556.1', '1795531556.2']);
    const two = tracker();
    two.restore(saved.upserts);
    const after: CallEvent[] = [];
    for (const e of events.slice(cut)) after.push(...two.handle(e));
    const all = [...before, ...after];
    // exactly what one uninterrupted tracker gives
    const whole: CallEvent[] = [];
    const ref = tracker();
    for (const e of events) whole.push(...ref.handle(e));
    expect(all.map((e) => [e.eventId, e.hookEvent, e.leg.hangup])).toEqual(whole.map((e) => [e.eventId, e.hookEvent, e.leg.hangup]));
    expect(two.takeChanges().deletes.sort()).toEqual(['1795531556.1', '1795531556.2']);
  });

  it('legs Asterisk no longer has get one reconciled destroy; unknown live channels are taken up', () => {
    const events = fixture();
    const t = tracker();
    for (const e of events.slice(
      0,
      events.findIndex((e) => e.type === 'BridgeCreated'),
    ))
      t.handle(e);
    const live = { ...(events[0]!.channel as object), id: '42.1', name: 'PJSIP/trunk-00000042', state: 'Up', protocol_id: 'live-1' } as AriEvent['channel'];
    const out = t.reconcile([live!], Date.now() + 1, Date.now(), 'x');
    const destroys = out.filter((e) => e.hookEvent === 'channel_destroy');
    expect(destroys.map((e) => e.leg.channelId).sort()).toEqual(['1795531556.1', '1795531556.2']);
    for (const d of destroys) expect(d.leg.hangup).toMatchObject({ reconciled: true, cause: 'NORMAL_CLEARING' });
    expect(out.filter((e) => e.leg.channelId === '42.1').map((e) => e.hookEvent)).toEqual(['channel_create', 'channel_answer']);
    expect(t.openLegs).toBe(1);
    // a second reconcile with the same list changes nothing
    expect(t.reconcile([live!], Date.now() + 1, Date.now())).toEqual([]);
  });

  it('leaves alone legs whose events arrived after the channel list was asked for', () => {
    const t = tracker();
    for (const e of fixture().slice(0, 3)) t.handle(e);
    expect(t.reconcile([], 0, Date.now())).toEqual([]);
    expect(t.openLegs).toBe(1);
  });

  it('ends every open leg when Asterisk restarted', () => {
    const t = tracker();
    for (const e of fixture().slice(0, 20)) t.handle(e);
    const out = t.endAll(Date.now());
    expect(out.filter((e) => e.hookEvent === 'channel_destroy')).toHaveLength(2);
    expect(t.openLegs).toBe(0);
  });
});
