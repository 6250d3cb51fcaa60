/** Many distinct calls made from one recorded call, for load and crash tests. */
import { loadFixture } from './fake-ari.js';
import { CallTracker } from '../../src/calls/tracker.js';
import { AccountDirectory, type AccountEntry } from '../../src/calls/account.js';
import type { AriEvent } from '../../src/ari/events.js';

/** `count` copies of dial_answered.jsonl with their own channel, SIP Call-ID and bridge ids */
export function manyCalls(count: number): string[] {
  const lines = loadFixture('dial_answered.jsonl').map((e) => JSON.stringify(e));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = String(i).padStart(5, '0');
    for (const l of lines) {
      out.push(
        l
          .replaceAll('1795531556.', `17955${n}.`)
          .replaceAll('1-11659@', `1-${n}@`)
          .replaceAll('005fcac4-dca8-4723-824a-742d9727d1b6', `005fcac4-dca8-4723-824a-${n.padStart(12, '0')}`)
          .replaceAll('44b765f3-2eee-49ca-9354-8c8f2457a62e', `44b765f3-2eee-49ca-9354-${n.padStart(12, '0')}`),
      );
    }
  }
  return out;
}

/** the call events callhook must deliver for these frames: event_id → channel and hook_event */
export function expectedEvents(frames: string[], accounts: AccountEntry[]): Map<string, { channel: string; hook: string }> {
  const dir = new AccountDirectory();
  dir.load(accounts);
  const tracker = new CallTracker(dir, { accountVariable: 'CALLHOOK_ACCOUNT' });
  const out = new Map<string, { channel: string; hook: string }>();
  for (const f of frames) for (const e of tracker.handle(JSON.parse(f) as AriEvent)) out.set(e.eventId, { channel: e.leg.channelId, hook: e.hookEvent });
  return out;
}
