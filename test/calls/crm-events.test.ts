/**
 * The call events a CRM needs beyond create/answer/bridge/destroy, from real Asterisk 22
 * recordings (test/fixtures/recorded/): a blind transfer, hold and unhold, DTMF as SIP INFO,
 * an incoming SIP MESSAGE; and every leg's linked_id.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CallTracker, sipUri } from '../../src/calls/tracker.js';
import { AccountDirectory } from '../../src/calls/account.js';
import type { CallEvent } from '../../src/calls/types.js';

function replay(name: string): CallEvent[] {
  const dir = new AccountDirectory();
  dir.load([{ id: 'acme', realm: 'acme.example', parent_id: null, accountcodes: ['acme'], numbers: ['15550001', '15550002'] }]);
  const tracker = new CallTracker(dir, { accountVariable: 'CALLHOOK_ACCOUNT' });
  const lines = readFileSync(new URL(`../fixtures/recorded/${name}.jsonl`, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean);
  return lines.flatMap((l) => tracker.handle(JSON.parse(l)));
}
const of = (out: CallEvent[], callId: string) => out.filter((e) => e.leg.callId === callId).map((e) => e.hookEvent);

describe('a blind transfer (alice REFERs the caller to bob, 202)', () => {
  const out = replay('blind_transfer');
  const caller = '1-15966@127.0.0.1';
  const alice = '02e72960-ddf8-4811-9c4b-118c3985766b';
  const bob = '085ef90f-5b18-4b97-b193-aecb71b37d7b';

  it('gives the transferred and the transferring leg a channel_transfer naming both, the target and the result', () => {
    const transfers = out.filter((e) => e.hookEvent === 'channel_transfer');
    expect(transfers.map((e) => e.leg.callId)).toEqual([caller, alice]);
    for (const t of transfers) {
      expect(t.detail).toEqual({
        transfer_type: 'blind',
        transferor_call_id: alice,
        transferee_call_id: caller,
        transfer_to: '202',
        transfer_result: 'Success',
      });
    }
    expect(new Set(transfers.map((t) => t.eventId)).size).toBe(2);
  });

  it('then bridges the caller to its new peer: channel_bridge with bob, and other_leg_call_id names bob', () => {
    expect(of(out, caller)).toEqual(['channel_create', 'channel_answer', 'channel_bridge', 'channel_transfer', 'channel_bridge', 'channel_destroy']);
    const bridges = out.filter((e) => e.hookEvent === 'channel_bridge' && e.leg.callId === caller);
    expect(bridges.map((b) => b.leg.otherLegCallId)).toEqual([alice, bob]);
    expect(out.filter((e) => e.leg.callId === caller).at(-1)!.leg.otherLegCallId).toBe(bob);
    expect(of(out, bob)).toEqual(['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy']);
  });

  it('keeps every leg of the call under one linked_id', () => {
    expect(new Set(out.map((e) => e.leg.linkedId))).toEqual(new Set(['1796162725.0']));
  });
});

describe('hold and unhold', () => {
  const out = replay('hold_unhold');
  const alice = '052a2fbb-db75-4c58-a048-00d6b4c3a9c7';
  it('alice holds and resumes: channel_hold (with the music class) and channel_unhold on her leg, between bridge and destroy', () => {
    expect(of(out, alice)).toEqual(['channel_create', 'channel_answer', 'channel_bridge', 'channel_hold', 'channel_unhold', 'channel_destroy']);
    expect(out.find((e) => e.hookEvent === 'channel_hold')!.detail).toEqual({ music_class: 'default' });
    expect(of(out, '1-16082@127.0.0.1')).not.toContain('channel_hold');
  });

  it('an unhold without a hold is no event (Asterisk reports one on a REFER)', () => {
    expect(replay('blind_transfer').some((e) => e.hookEvent === 'channel_unhold')).toBe(false);
  });
});

describe('DTMF', () => {
  it('gives one dtmf per digit (SIP INFO), with its duration, in order', () => {
    const out = replay('dtmf_info');
    const dtmf = out.filter((e) => e.hookEvent === 'dtmf');
    expect(dtmf.map((e) => e.detail)).toEqual([
      { dtmf_digit: '1', dtmf_duration_ms: 160 },
      { dtmf_digit: '2', dtmf_duration_ms: 160 },
      { dtmf_digit: '#', dtmf_duration_ms: 160 },
    ]);
    expect(new Set(dtmf.map((e) => e.eventId)).size).toBe(3);
    expect(of(out, '1-16111@127.0.0.1')).toEqual(['channel_create', 'channel_answer', 'dtmf', 'dtmf', 'dtmf', 'channel_destroy']);
  });
});

describe('an incoming SIP MESSAGE', () => {
  it("is an sms of the account whose number it was sent to, with the SMS gateway's names", () => {
    const out = replay('sip_message');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      hookEvent: 'sms',
      accountId: 'acme',
      leg: { callId: '1-16172@127.0.0.1', fromNumber: '4930123456', callerIdName: 'Carol', toNumber: '15550001', direction: 'inbound' },
      detail: { body: 'hello', address: '4930123456', date: '2026-12-01 22:06:27' },
    });
  });

  it('to a number no account has, is dropped', () => {
    const dir = new AccountDirectory();
    dir.load([{ id: 'other', realm: null, parent_id: null, accountcodes: [], numbers: ['999'] }]);
    const tracker = new CallTracker(dir, { accountVariable: 'CALLHOOK_ACCOUNT' });
    const msg = { type: 'TextMessageReceived', message: { from: 'sip:1@x', to: 'pjsip:15550001@x', body: 'hi', variables: {} } };
    expect(tracker.handle(msg)).toEqual([]);
    expect(tracker.dropped).toBe(1);
    // a message of the wrong shape is ignored
    expect(tracker.handle({ type: 'TextMessageReceived', message: 'hi' })).toEqual([]);
  });

  it.each([
    ['"Carol" <sip:4930123456@127.0.0.1>', { name: 'Carol', user: '4930123456' }],
    ['pjsip:15550001@127.0.0.1', { name: '', user: '15550001' }],
    ['<sip:%2B4930123@host;user=phone>', { name: '', user: '+4930123' }],
    ['tel:+4930123', { name: '', user: '+4930123' }],
    ['garbage', { name: '', user: '' }],
  ])('reads %s', (uri, expected) => {
    expect(sipUri(uri)).toEqual(expected);
  });
});
