import { describe, expect, it } from 'vitest';
import { buildPayload, withCustomData } from '../../src/events/payload.js';
import { GREGORIAN_OFFSET, fromGregorianSeconds, toGregorianSeconds } from '../../src/shared/gregorian.js';
import type { CallEvent } from '../../src/calls/types.js';

const event: CallEvent = {
  hookEvent: 'channel_destroy',
  eventId: 'e1',
  timestampMs: Date.parse('2026-11-24T14:45:57.998Z'),
  accountId: 'acme',
  leg: {
    channelId: '1795531556.1',
    callId: '1-11659@127.0.0.1',
    otherLegCallId: 'peer-call',
    direction: 'inbound',
    isInternal: false,
    callerIdName: 'Carol',
    callerIdNumber: '4930123456',
    calleeIdName: 'Alice',
    calleeIdNumber: '201',
    fromNumber: '4930123456',
    toNumber: '15550002',
    channelVars: { CALLHOOK_ACCOUNT: '' },
    linkedId: '1795531556.0',
    hangup: { cause: 'NORMAL_CLEARING', code: 'sip:200', durationSeconds: 12, ringingSeconds: 3, billingSeconds: 9 },
  },
};

describe('Gregorian seconds', () => {
  it('is unix seconds + 62167219200, truncated', () => {
    expect(toGregorianSeconds(0)).toBe(GREGORIAN_OFFSET);
    expect(toGregorianSeconds(1795531550999)).toBe(1795531550 + 62167219200);
    expect(fromGregorianSeconds(63557035175)).toBe((63557035175 - 62167219200) * 1000);
  });
});

describe('buildPayload', () => {
  it('has every payload field of docs/api.md with its type', () => {
    const p = buildPayload(event, 'acme.example');
    expect(p).toEqual({
      hook_event: 'channel_destroy',
      call_id: '1-11659@127.0.0.1',
      channel_id: '1795531556.1',
      other_leg_call_id: 'peer-call',
      call_direction: 'inbound',
      timestamp: 1795531557 + 62167219200,
      account_id: 'acme',
      from: '4930123456@acme.example',
      to: '15550002@acme.example',
      request: '15550002@acme.example',
      caller_id_name: 'Carol',
      caller_id_number: '4930123456',
      callee_id_name: 'Alice',
      callee_id_number: '201',
      is_internal_leg: false,
      custom_channel_vars: { CALLHOOK_ACCOUNT: '' },
      linked_id: '1795531556.0',
      event_id: 'e1',
      hangup_cause: 'NORMAL_CLEARING',
      hangup_code: 'sip:200',
      duration_seconds: '12',
      ringing_seconds: '3',
      billing_seconds: '9',
    });
  });
  it('leaves out destroy fields and unknown peers on other events', () => {
    const p = buildPayload({ ...event, hookEvent: 'channel_create', leg: { ...event.leg, hangup: undefined, otherLegCallId: undefined } }, 'r');
    expect(p).not.toHaveProperty('hangup_cause');
    expect(p).not.toHaveProperty('other_leg_call_id');
    expect(p).not.toHaveProperty('billing_seconds');
  });
});

describe('buildPayload of the events that tell more than the leg', () => {
  it("adds the detail fields, never over the leg's own", () => {
    const p = buildPayload({ ...event, hookEvent: 'dtmf', detail: { dtmf_digit: '#', dtmf_duration_ms: 160, call_id: 'spoof', __proto__x: 1 } }, 'r');
    expect(p).toMatchObject({ hook_event: 'dtmf', dtmf_digit: '#', dtmf_duration_ms: 160, call_id: '1-11659@127.0.0.1' });
  });
});

describe('buildPayload on a leg with values of the wrong type', () => {
  const bad = JSON.parse(
    '{"channelId":"c1","callId":["x"],"otherLegCallId":7,"direction":"inbound","isInternal":"yes",' +
      '"callerIdName":null,"callerIdNumber":[1],"calleeIdName":{"a":1},"calleeIdNumber":201,"fromNumber":null,"toNumber":["15550001"],' +
      '"channelVars":{"__proto__":{"polluted":"yes"},"constructor":"c","prototype":"p","A":"a","B":5,"C":{"x":1},"D":null}}',
  );
  const p = buildPayload({ ...event, hookEvent: 'channel_create', leg: bad }, 'acme.example');

  it('has strings where strings belong and booleans where booleans belong', () => {
    for (const k of [
      'call_id',
      'channel_id',
      'caller_id_name',
      'caller_id_number',
      'callee_id_name',
      'callee_id_number',
      'from',
      'to',
      'request',
      'account_id',
      'event_id',
      'hook_event',
      'call_direction',
    ]) {
      expect(typeof p[k], k).toBe('string');
    }
    expect(p).toMatchObject({ call_id: '', caller_id_number: '', callee_id_number: '201', from: '', to: '', is_internal_leg: false });
    expect(p).not.toHaveProperty('other_leg_call_id');
    expect(typeof p.timestamp).toBe('number');
  });

  it('custom_channel_vars is an object of strings without __proto__/constructor/prototype', () => {
    const vars = p.custom_channel_vars as Record<string, unknown>;
    expect(Object.getOwnPropertyNames(vars)).toEqual(['A', 'B']);
    expect(vars).toEqual({ A: 'a', B: '5' });
    expect(JSON.stringify(p)).not.toMatch(/__proto__|constructor|prototype|polluted/);
  });
});

describe('withCustomData', () => {
  it('never merges __proto__/constructor/prototype keys', () => {
    const custom = JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":"x","prototype":"y","crm":"1"}');
    const p = withCustomData(buildPayload(event, 'r'), custom);
    expect(p.crm).toBe('1');
    expect(Object.getOwnPropertyNames(p)).not.toContain('__proto__');
    expect(Object.getOwnPropertyNames(p)).not.toContain('constructor');
    expect(Object.getOwnPropertyNames(p)).not.toContain('prototype');
    expect(JSON.stringify(p)).not.toContain('polluted');
  });

  it('overrides event keys, as the WIRECLOUD example says', () => {
    const p = withCustomData(buildPayload(event, 'r'), { account_id: 'my_crm_account_id', screen_pop: true });
    expect(p.account_id).toBe('my_crm_account_id');
    expect(p.screen_pop).toBe(true);
    expect(p.call_id).toBe('1-11659@127.0.0.1');
  });
});
