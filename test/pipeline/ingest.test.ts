/** Ingest against a store that fails for a while (nothing is dropped, order and leg state are kept), and an event it cannot build. */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Ingest } from '../../src/pipeline/ingest.js';
import { CallTracker } from '../../src/calls/tracker.js';
import { AccountDirectory } from '../../src/calls/account.js';
import type { AriEvent } from '../../src/ari/events.js';
import type { LegChanges } from '../../src/calls/types.js';
import type { StoredEvent } from '../../src/store/store.js';
import type { Webhook } from '../../src/hooks/model.js';
import { loadFixture } from '../helpers/fake-ari.js';

/** a store that throws on its first `failures` writes, and keeps what the others bring */
function flakyStore(failures: number, hooks: Webhook[] = []) {
  const written: { events: StoredEvent[]; legs: LegChanges | undefined }[] = [];
  let calls = 0;
  return {
    written,
    get calls() {
      return calls;
    },
    activeWebhooks: async () => hooks,
    insertEvents: async (items: { event: StoredEvent }[], legs?: LegChanges) => {
      calls += 1;
      if (calls <= failures) throw new Error('connection terminated unexpectedly');
      written.push({ events: items.map((i) => i.event), legs });
      return items.length;
    },
  };
}

function ingestWith(store: ReturnType<typeof flakyStore>, maxQueued?: number) {
  const accounts = new AccountDirectory();
  accounts.load([{ id: 'acme', realm: 'acme.example', parent_id: null, numbers: ['15550001', '15550002'], accountcodes: ['acme'] }]);
  const logged: Record<string, unknown>[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  const ingest = new Ingest({
    tracker: new CallTracker(accounts, { accountVariable: 'CALLHOOK_ACCOUNT' }),
    accounts,
    store,
    logger,
    defaultRealm: 'x',
    onStored: () => {},
    maxQueued,
  });
  return { ingest, logged };
}

describe('Ingest when a write or an event fails', () => {
  it('writes the same events again, in order, with what came meanwhile behind them', async () => {
    const store = flakyStore(2);
    const { ingest, logged } = ingestWith(store);
    const frames = loadFixture('dial_answered.jsonl') as unknown as AriEvent[];
    const half = Math.floor(frames.length / 2);
    for (const f of frames.slice(0, half)) ingest.push(f);
    await new Promise((r) => setTimeout(r, 20)); // the first write fails meanwhile
    for (const f of frames.slice(half)) ingest.push(f);
    await ingest.drain();

    expect(store.calls).toBeGreaterThanOrEqual(3);
    const events = store.written.flatMap((w) => w.events);
    const perLeg: Record<string, string[]> = {};
    for (const e of events) (perLeg[e.call_id] ??= []).push(e.hook_event);
    expect(perLeg).toEqual({
      '1-11659@127.0.0.1': ['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy'],
      '005fcac4-dca8-4723-824a-742d9727d1b6': ['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy'],
    });
    expect(new Set(events.map((e) => e.id)).size).toBe(8);
    // every ARI event counted as committed once, and both legs' end written
    expect(ingest.committed).toBe(frames.length);
    expect(store.written.flatMap((w) => w.legs?.deletes ?? []).sort()).toEqual(['1795531556.1', '1795531556.2']);
    expect(logged.map((l) => [l.msg, l.retry_in_ms])).toEqual([
      ['could not store call events; trying again', 100],
      ['could not store call events; trying again', 200],
    ]);
  });

  it('keeps at most maxQueued call events waiting for the store, dropping the oldest and counting them', async () => {
    const store = flakyStore(2);
    const { ingest, logged } = ingestWith(store, 5);
    for (const f of loadFixture('dial_answered.jsonl') as unknown as AriEvent[]) ingest.push(f);
    await ingest.drain();
    const events = store.written.flatMap((w) => w.events);
    expect(ingest.lost).toBe(3);
    expect(events).toHaveLength(5);
    // the newest five of the eight: both destroys among them
    expect(events.filter((e) => e.hook_event === 'channel_destroy')).toHaveLength(2);
    expect(logged.at(-1)).toMatchObject({ msg: 'could not store call events; trying again', events_lost: 3 });
  });

  it('skips an event it cannot build, without writing the others again', async () => {
    // a webhook of channel_answer whose filter cannot be read: only that event fails to build
    const broken = {
      hook: 'channel_answer',
      account_id: 'acme',
      include_subaccounts: false,
      include_internal_legs: true,
      get event_filter(): string {
        throw new Error('unreadable filter');
      },
    };
    const store = flakyStore(0, [broken as unknown as Webhook]);
    const { ingest, logged } = ingestWith(store);
    for (const f of loadFixture('ivr_answered.jsonl') as unknown as AriEvent[]) ingest.push(f);
    await ingest.drain();
    expect(store.written.flatMap((w) => w.events.map((e) => e.hook_event))).toEqual(['channel_create', 'channel_destroy']);
    expect(store.calls).toBe(store.written.length);
    expect(logged.map((l) => [l.msg, l.hook_event])).toEqual([['could not build a call event; skipped', 'channel_answer']]);
  });

  it('when stopping, tries a failing store once more, then says what it could not store', async () => {
    const store = flakyStore(Infinity);
    const { ingest, logged } = ingestWith(store);
    for (const f of loadFixture('ivr_answered.jsonl') as unknown as AriEvent[]) ingest.push(f);
    await ingest.close();
    expect(store.calls).toBe(2);
    expect(logged.at(-1)).toMatchObject({ msg: 'could not store call events before stopping; they are lost', event_ids: expect.any(Array) });
    expect((logged.at(-1)!.event_ids as string[]).length).toBe(3);
  });

  it('never throws on an ARI event that is not an object', async () => {
    const store = flakyStore(0);
    const { ingest } = ingestWith(store);
    for (const junk of [null, undefined, 5, 'x', [], { type: null }]) expect(() => ingest.push(junk as unknown as AriEvent)).not.toThrow();
    await ingest.drain();
    expect(ingest.received).toBe(6);
    expect(store.written.flatMap((w) => w.events)).toEqual([]);
  });
});
