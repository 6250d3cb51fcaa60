/** Reconnects, callhook restarts and Asterisk restarts in the middle of calls (in-process callhook, fake ARI). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeAri, loadFixture } from '../helpers/fake-ari.js';
import { Receiver } from '../helpers/receiver.js';
import { ADMIN, runDaemon, type Running } from '../helpers/daemon.js';

let ari: FakeAri;
let receiver: Receiver;
let run: Running;

const events = loadFixture('dial_answered.jsonl');
const cut = events.findIndex((e) => e.type === 'ChannelEnteredBridge');
const firstHalf = events.slice(0, cut);
const secondHalf = events.slice(cut);
/** the channels as Asterisk would list them at the cut */
const liveAtCut = () => {
  const last = new Map<string, unknown>();
  for (const e of firstHalf) if (e.channel) last.set((e.channel as { id: string }).id, e.channel);
  return [...last.values()];
};

beforeEach(async () => {
  ari = await FakeAri.start();
  receiver = await Receiver.start();
  run = await runDaemon(ari);
  const token = (await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'Acme', accountcodes: ['acme'] } })).json.data.auth_token;
  await run.api('PUT', '/api/v1/accounts/acme/webhooks', token, { data: { uri: receiver.url('/crm'), hook: 'all', format: 'json' } });
  await ari.waitForClient();
});
afterEach(async () => {
  await run.daemon.close();
  await ari.close();
  await receiver.close();
});

const got = () => receiver.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>);
const perLeg = () => {
  const m: Record<string, string[]> = {};
  for (const p of got()) (m[p.channel_id as string] ??= []).push(p.hook_event as string);
  return m;
};
const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met: ${JSON.stringify(perLeg())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
const destroys = () => got().filter((p) => p.hook_event === 'channel_destroy');

describe('reconciling with Asterisk', () => {
  it('socket cut mid-call and the call ended meanwhile: each leg gets exactly one reconciled destroy', async () => {
    ari.channels = liveAtCut();
    ari.send(...firstHalf);
    await until(() => got().length === 4);
    ari.channels = [];
    ari.dropClients();
    await until(() => destroys().length === 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(perLeg()).toEqual({
      '1795531556.1': ['channel_create', 'channel_answer', 'channel_destroy'],
      '1795531556.2': ['channel_create', 'channel_answer', 'channel_destroy'],
    });
    for (const d of destroys()) expect(d).toMatchObject({ reconciled: true, hangup_cause: 'NORMAL_CLEARING' });
    expect(ari.connections).toBe(2);
  });

  it('socket cut mid-call, call still up: nothing is ended, the rest arrives normally', async () => {
    ari.channels = liveAtCut();
    ari.send(...firstHalf);
    await until(() => got().length === 4);
    ari.dropClients();
    await ari.waitForConnections(2);
    await new Promise((r) => setTimeout(r, 300));
    ari.send(...secondHalf);
    await until(() => destroys().length === 2);
    expect(destroys().every((d) => d.reconciled === undefined)).toBe(true);
    expect(Object.values(perLeg())).toEqual([
      ['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy'],
      ['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy'],
    ]);
  });

  it('callhook restarted mid-call: answer and destroy stay right, nothing is sent twice', async () => {
    ari.channels = liveAtCut();
    ari.send(...firstHalf);
    await until(() => got().length === 4);
    await run.daemon.close();
    run = await runDaemon(ari, {}, run.dataDir);
    await ari.waitForConnections(2);
    await new Promise((r) => setTimeout(r, 300));
    ari.send(...secondHalf);
    await until(() => destroys().length === 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(Object.values(perLeg())).toEqual([
      ['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy'],
      ['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy'],
    ]);
    const inbound = destroys().find((d) => d.call_direction === 'inbound')!;
    expect(inbound).toMatchObject({ hangup_cause: 'NORMAL_CLEARING', duration_seconds: '2', billing_seconds: '2' });
  });

  it('an Asterisk restart ends every open leg once', async () => {
    ari.channels = liveAtCut();
    ari.send(...firstHalf);
    await until(() => got().length === 4);
    ari.startupTime = '2026-11-24T16:00:00.000+0000';
    ari.channels = [];
    ari.dropClients();
    await until(() => destroys().length === 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(destroys()).toHaveLength(2);
    for (const d of destroys()) expect(d.reconciled).toBe(true);
  });
});
