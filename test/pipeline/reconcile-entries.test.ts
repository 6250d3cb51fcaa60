/** reconcile() with what GET /ari/channels and /ari/asterisk/info may answer when they answer badly. */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { reconcile } from '../../src/pipeline/reconcile.js';
import { CallTracker } from '../../src/calls/tracker.js';
import type { CallEvent } from '../../src/calls/types.js';
import { AccountDirectory } from '../../src/calls/account.js';
import type { AriEvent } from '../../src/ari/events.js';
import { loadFixture } from '../helpers/fake-ari.js';

function setup(info: unknown, channels: unknown, bridges: unknown = []) {
  const accounts = new AccountDirectory();
  accounts.load([{ id: 'acme', realm: null, parent_id: null, numbers: [], accountcodes: ['acme'] }]);
  const tracker = new CallTracker(accounts, { accountVariable: 'CALLHOOK_ACCOUNT' });
  const pushed: CallEvent[] = [];
  const logged: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  const settings = new Map<string, string>();
  const deps = {
    ari: { getInfo: async () => info as never, listChannels: async () => channels as never, listBridges: async () => bridges as never },
    tracker,
    ingest: { pushCallEvents: (evs: CallEvent[]) => void pushed.push(...evs) },
    store: { getSetting: async (k: string) => settings.get(k), setSetting: async (k: string, v: string) => void settings.set(k, v) },
    logger,
  };
  return { deps, tracker, pushed, logged };
}

const live = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: `PJSIP/trunk-${id}`,
  state: 'Up',
  protocol_id: `call-${id}`,
  caller: { name: 'Carol', number: '4930123456' },
  connected: { name: '', number: '' },
  accountcode: 'acme',
  dialplan: { context: 'from-trunk', exten: '15550001', priority: 1 },
  channelvars: {},
  ...extra,
});

describe('reconcile with a bad answer from Asterisk', () => {
  it('skips a malformed entry of GET /ari/channels (logged) and takes up the others', async () => {
    const channels = [
      live('1.1'),
      null,
      42,
      { id: '1.3', name: 'PJSIP/x', state: 'Up' },
      live('1.4', { caller: 'nobody' }),
      live('1.5', { id: ['1.5'] }),
      live('1.2'),
    ];
    const { deps, pushed, logged, tracker } = setup({ system: { version: '22.10.1', entity_id: 'x' }, status: { startup_time: 't0' } }, channels);
    await reconcile(deps);
    const created = pushed.filter((e) => e.hookEvent === 'channel_create').map((e) => e.leg.channelId);
    expect(created).toEqual(['1.1', '1.2']);
    expect(tracker.openLegs).toBe(2);
    const skipped = logged.filter((l) => l.msg === 'skipped a malformed channel in GET /ari/channels');
    expect(skipped.map((l) => l.index)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a malformed entry with the id of a leg callhook follows does not end that leg', async () => {
    const frames = loadFixture('ivr_answered.jsonl') as unknown as AriEvent[];
    const { deps, pushed, tracker } = setup({ status: { startup_time: 't0' } }, []);
    for (const f of frames.slice(0, 5)) tracker.handle(f);
    expect(tracker.openLegs).toBe(1);
    const id = (frames[0]!.channel as { id: string }).id;
    deps.ari.listChannels = async () => [{ id, name: 7 }] as never;
    await new Promise((r) => setTimeout(r, 5)); // the leg was seen before the reconcile began
    await reconcile(deps);
    expect(pushed).toEqual([]);
    expect(tracker.openLegs).toBe(1);
  });

  it('a channel list that is not a list ends nothing and throws nothing', async () => {
    const frames = loadFixture('ivr_answered.jsonl') as unknown as AriEvent[];
    const { deps, pushed, tracker, logged } = setup({ status: { startup_time: 't0' } }, { message: 'oops' });
    for (const f of frames.slice(0, 5)) tracker.handle(f);
    await new Promise((r) => setTimeout(r, 5));
    await reconcile(deps);
    expect(pushed).toEqual([]);
    expect(tracker.openLegs).toBe(1);
    expect(logged.some((l) => l.msg === 'GET /ari/channels did not answer a list; call legs not reconciled')).toBe(true);
  });

  it('an info answer of the wrong shape is read as "no startup time"', async () => {
    for (const info of [null, 'x', { status: null }, { status: { startup_time: 5 } }, { system: [1] }]) {
      const { deps, pushed } = setup(info, [live('2.1')]);
      await reconcile(deps);
      expect(pushed.map((e) => e.hookEvent)).toEqual(['channel_create', 'channel_answer']);
    }
  });

  it('a bridge that formed while callhook was not listening gives both legs their channel_bridge, marked reconciled, once', async () => {
    const info = { system: { entity_id: 'x' }, status: { startup_time: 's1' } };
    const { deps, pushed, tracker } = setup(
      info,
      [live('2.1'), live('2.2')],
      [{ id: 'b1', channels: ['2.1', '2.2'] }, { id: 'b2', channels: ['2.1'] }, 'junk', { channels: 5 }],
    );
    await reconcile(deps);
    const bridges = pushed.filter((e) => e.hookEvent === 'channel_bridge');
    expect(bridges.map((e) => [e.leg.callId, e.leg.otherLegCallId, e.detail])).toEqual([
      ['call-2.1', 'call-2.2', { reconciled: true }],
      ['call-2.2', 'call-2.1', { reconciled: true }],
    ]);
    // the bridge is known now: a second reconcile (or the live ChannelEnteredBridge) gives no second one
    expect(tracker.reconcileBridges([{ id: 'b1', channels: ['2.2', '2.1'] }], Date.now())).toEqual([]);
  });

  it('a bridge list that is no list reconciles no bridge (logged)', async () => {
    const { deps, logged } = setup({ status: { startup_time: 's1' } }, [live('3.1')], { oops: true });
    await reconcile(deps);
    expect(logged.some((l) => l.msg === 'GET /ari/bridges did not answer a list; bridges not reconciled')).toBe(true);
  });
});
