/** A sample call event for POST …/webhooks/{id}/test: a made-up inbound leg, marked as a test. */
import { randomBytes } from 'node:crypto';
import { HOOK_EVENTS, type EventDetail, type HookEvent } from '../calls/types.js';
import { buildPayload, type Payload } from '../events/payload.js';
import { noticePayload } from '../events/notice.js';
import type { HookType } from './model.js';

/** the event a test send of a hook type that takes several shows */
const SAMPLE_OF = { all: 'channel_create', voice_call: 'channel_create', voice_status: 'channel_answer', voice_dtmf: 'dtmf', sms_mo: 'sms' } as const;

/** what a sample of the events that carry more than the leg shows */
const SAMPLE_DETAIL: Partial<Record<HookEvent, EventDetail>> = {
  channel_transfer: {
    transfer_type: 'blind',
    transferor_call_id: 'test-transferor@callhook',
    transferee_call_id: 'test-transferee@callhook',
    transfer_to: '202',
    transfer_result: 'Success',
  },
  channel_hold: { music_class: 'default' },
  dtmf: { dtmf_digit: '1', dtmf_duration_ms: 160 },
  sms: { body: 'callhook test', address: '15550000', date: '2026-01-01 00:00:00' },
};

export function samplePayload(hook: HookType, accountId: string, realm: string, now = Date.now()): Payload {
  const id = randomBytes(8).toString('hex');
  if (hook === 'notifications') {
    const facts = {
      kind: 'failing' as const,
      webhookId: `test-${id}`,
      accountId,
      name: 'callhook test',
      uri: 'https://crm.example.com/calls',
      reason: 'HTTP 503',
      since: now,
      pending: 0,
      at: now,
    };
    return { ...noticePayload(facts, `test-${id}`), call_id: `test-${id}@callhook`, test: true };
  }
  const hookEvent: HookEvent = (HOOK_EVENTS as readonly string[]).includes(hook) ? (hook as HookEvent) : SAMPLE_OF[hook as keyof typeof SAMPLE_OF];
  const payload = buildPayload(
    {
      hookEvent,
      eventId: `test-${id}`,
      timestampMs: now,
      accountId,
      leg: {
        channelId: `test-${id}`,
        callId: `test-${id}@callhook`,
        otherLegCallId: undefined,
        direction: 'inbound',
        isInternal: false,
        callerIdName: 'callhook test',
        callerIdNumber: '15550000',
        calleeIdName: '',
        calleeIdNumber: '',
        fromNumber: '15550000',
        toNumber: '15550001',
        channelVars: {},
        linkedId: `test-${id}`,
        ...(hookEvent === 'channel_destroy'
          ? { hangup: { cause: 'NORMAL_CLEARING', code: undefined, durationSeconds: 0, ringingSeconds: 0, billingSeconds: 0 } }
          : {}),
      },
      ...(SAMPLE_DETAIL[hookEvent] ? { detail: SAMPLE_DETAIL[hookEvent] } : {}),
    },
    realm,
  );
  return { ...payload, test: true };
}
