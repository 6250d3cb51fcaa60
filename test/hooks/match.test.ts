import { describe, expect, it } from 'vitest';
import { hookWants, typeWants } from '../../src/hooks/match.js';
import type { CallEvent, HookEvent } from '../../src/calls/types.js';
import { webhook } from '../store/contract.js';

const ev = (extra: Partial<CallEvent['leg']> = {}, hookEvent: CallEvent['hookEvent'] = 'channel_create'): CallEvent => ({
  hookEvent,
  eventId: 'e',
  timestampMs: 0,
  accountId: 'a1',
  leg: {
    channelId: 'c',
    callId: 'c',
    otherLegCallId: undefined,
    direction: 'inbound',
    isInternal: false,
    callerIdName: '',
    callerIdNumber: '+4930123456',
    calleeIdName: '',
    calleeIdNumber: '',
    fromNumber: '+4930123456',
    toNumber: '15550001',
    channelVars: {},
    linkedId: 'c',
    ...extra,
  },
});

describe('hookWants', () => {
  it('matches the hook type or all', () => {
    expect(hookWants(webhook('h', 'a1', { hook: 'channel_create' }), ev())).toBe(true);
    expect(hookWants(webhook('h', 'a1', { hook: 'channel_answer' }), ev())).toBe(false);
    expect(hookWants(webhook('h', 'a1', { hook: 'all' }), ev({}, 'channel_destroy'))).toBe(true);
  });
  it('delivers internal legs only to hooks that ask for them', () => {
    expect(hookWants(webhook('h', 'a1'), ev({ isInternal: true }))).toBe(false);
    expect(hookWants(webhook('h', 'a1', { include_internal_legs: true }), ev({ isInternal: true }))).toBe(true);
  });
  it('delivers a sub-account event to a parent hook only with include_subaccounts', () => {
    expect(hookWants(webhook('h', 'parent'), ev())).toBe(false);
    expect(hookWants(webhook('h', 'parent', { include_subaccounts: true }), ev())).toBe(true);
  });
  it('applies event_filter to from and to, numbers and patterns', () => {
    expect(hookWants(webhook('h', 'a1', { event_filter: '15550001' }), ev())).toBe(true);
    expect(hookWants(webhook('h', 'a1', { event_filter: '4930123456' }), ev())).toBe(true);
    expect(hookWants(webhook('h', 'a1', { event_filter: '+49*' }), ev())).toBe(true);
    expect(hookWants(webhook('h', 'a1', { event_filter: '1555000?' }), ev())).toBe(true);
    expect(hookWants(webhook('h', 'a1', { event_filter: '15550002' }), ev())).toBe(false);
    expect(hookWants(webhook('h', 'a1', { event_filter: '44*' }), ev())).toBe(false);
  });
});

describe("seven.io's event types", () => {
  const ev = (hookEvent: HookEvent, direction: 'inbound' | 'outbound' = 'inbound') =>
    ({ hookEvent, leg: { direction } }) as Pick<CallEvent, 'hookEvent' | 'leg'>;
  it.each([
    ['voice_call', ev('channel_create'), true],
    ['voice_call', ev('channel_create', 'outbound'), false],
    ['voice_call', ev('channel_answer'), false],
    ['voice_status', ev('channel_answer'), true],
    ['voice_status', ev('channel_transfer'), true],
    ['voice_status', ev('channel_destroy'), true],
    ['voice_status', ev('channel_create'), false],
    ['voice_status', ev('dtmf'), false],
    ['voice_dtmf', ev('dtmf'), true],
    ['voice_dtmf', ev('channel_hold'), false],
    ['sms_mo', ev('sms'), true],
    ['all', ev('sms'), true],
    ['notifications', ev('channel_create'), false],
    ['channel_hold', ev('channel_hold'), true],
    ['channel_hold', ev('channel_unhold'), false],
  ] as const)('%s takes %o: %s', (type, e, wanted) => {
    expect(typeWants(type, e)).toBe(wanted);
  });
});
