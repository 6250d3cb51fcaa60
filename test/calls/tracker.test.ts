import { describe, expect, it } from 'vitest';
import { CallTracker, type CallEvent } from '../../src/calls/tracker.js';
import { AccountDirectory, type AccountEntry } from '../../src/calls/account.js';
import type { AriEvent } from '../../src/ari/events.js';
import { loadFixture } from '../helpers/fake-ari.js';
import { dialScenario } from '../helpers/scenarios.js';

const ACME: AccountEntry = { id: 'acme', realm: 'acme.example', parent_id: null, numbers: ['15550001', '15550002'], accountcodes: ['acme'] };

function run(events: unknown[], accounts: AccountEntry[] = [ACME], defaultAccount?: string) {
  const dir = new AccountDirectory(defaultAccount);
  dir.load(accounts);
  const tracker = new CallTracker(dir, { accountVariable: 'CALLHOOK_ACCOUNT' });
  const out: CallEvent[] = [];
  for (const e of events) out.push(...tracker.handle(e as AriEvent));
  return { out, tracker };
}

const seq = (out: CallEvent[], channelId?: string) =>
  out.filter((e) => !channelId || e.leg.channelId === channelId).map((e) => e.hookEvent);

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

  it('gives every event a stable, distinct id', () => {
    const a = run(loadFixture('dial_answered.jsonl')).out.map((e) => e.eventId);
    const b = run(loadFixture('dial_answered.jsonl')).out.map((e) => e.eventId);
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(a.length);
  });

  it('skips frames that are not call events without state changes', () => {
    const { out, tracker } = run([{ type: 'DeviceStateChanged', device_state: { name: 'PJSIP/alice', state: 'INUSE' } }, { type: 'StasisStart' }]);
    expect(out).toEqual([]);
    expect(tracker.openLegs).toBe(0);
  });
});

describe('CallTracker on unanswered calls', () => {
  it('the caller hangs up while the phone rings', () => {
    const { out } = run(dialScenario('cancel'));
    expect(seq(out, '1795535000.10')).toEqual(['channel_create', 'channel_destroy']);
    expect(seq(out, '1795535000.11')).toEqual(['channel_create', 'channel_destroy']);
    const caller = out.find((e) => e.leg.channelId === '1795535000.10' && e.hookEvent === 'channel_destroy')!;
    expect(caller.leg.hangup).toEqual({ cause: 'ORIGINATOR_CANCEL', code: 'sip:487', durationSeconds: 3, ringingSeconds: 3, billingSeconds: 0 });
    const phone = out.find((e) => e.leg.channelId === '1795535000.11' && e.hookEvent === 'channel_destroy')!;
    // ChannelDestroyed says 0: the Dial status CANCEL tells what happened
    expect(phone.leg.hangup).toMatchObject({ cause: 'ORIGINATOR_CANCEL', billingSeconds: 0 });
  });

  it('the phone answers busy', () => {
    const { out } = run(dialScenario('busy'));
    const phone = out.find((e) => e.leg.channelId === '1795535000.11' && e.hookEvent === 'channel_destroy')!;
    expect(phone.leg.hangup).toMatchObject({ cause: 'USER_BUSY', code: 'sip:486', billingSeconds: 0 });
    const caller = out.find((e) => e.leg.channelId === '1795535000.10' && e.hookEvent === 'channel_destroy')!;
    expect(caller.leg.hangup).toMatchObject({ cause: 'USER_BUSY', billingSeconds: 0 });
    expect(seq(out)).not.toContain('channel_answer');
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

  it('an originated leg (no Dial) gets its create at the first state change, outbound', () => {
    const c = chan('9.2', 'PJSIP/alice-00000009', 'Down', { caller: { name: 'Alice', number: '201' }, protocol_id: 'orig-1' });
    const { out } = run([ev('ChannelCreated', c, 0), ev('ChannelStateChange', { ...c, state: 'Ringing' }, 100), ev('ChannelStateChange', { ...c, state: 'Up' }, 2100)]);
    expect(seq(out)).toEqual(['channel_create', 'channel_answer']);
    expect(out[0]!.leg).toMatchObject({ direction: 'outbound', toNumber: '201', callId: 'orig-1' });
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

  it('adopts a leg first seen mid-call and still ends it once', () => {
    const c = chan('9.5', 'PJSIP/trunk-3', 'Up', { protocol_id: 'p5', creationtime: '2026-11-24T11:59:00.000+0000' });
    const { out, tracker } = run([ev('ChannelVarset', c, 0), ev('ChannelDestroyed', c, 1000, { cause: 16 })]);
    expect(seq(out)).toEqual(['channel_create', 'channel_destroy']);
    expect(out[1]!.leg.hangup).toMatchObject({ durationSeconds: 61 });
    expect(tracker.openLegs).toBe(0);
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
    return [{ type: 'ChannelCreated', channel: c, asterisk_id: 'x' }, { type: 'ChannelVarset', channel: c, asterisk_id: 'x' }];
  };
  const accountOf = (overrides: Record<string, unknown>, defaultAccount?: string) =>
    run(call(overrides), accounts, defaultAccount).out[0]?.accountId;

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
    const { out } = run(dialScenario('busy', '15550003'), accounts);
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
