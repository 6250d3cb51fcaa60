/**
 * End to end: the real Asterisk 22 test PBX (asterisk/), callhook as a real process with its
 * real config, calls placed with sipp, a local receiver. Runs when the PBX is provisioned
 * (`sudo bash asterisk/pbx.sh start`); in CI (CI=true) a PBX that cannot start fails the run.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Receiver, type Received } from '../helpers/receiver.js';
import { freePort } from '../helpers/net.js';
import { ARI_URL, crashPbx, ensurePbx, hangupAll, killSipp, placeCall, sipListening, startPbx, stopPbx, type PbxState } from './pbx.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { startStasisApp, type StasisApp } from './stasis-app.js';

const ADMIN = 'e2e-admin-token-0123456789abcdef';
const pbx: PbxState = await ensurePbx();
if (!pbx.ok) {
  if (process.env.CI === 'true') throw new Error(`e2e: ${pbx.reason}`);
  console.warn(`\n  e2e tests skipped: ${pbx.reason}\n`);
}

type Payload = Record<string, any>;

let receiver: Receiver;
let callhook: ChildProcess;
let api: string;
let stasis: StasisApp;
/** callhook reaches ARI through this proxy, so tests can cut the socket */
let proxy: TcpProxy;
let health: () => Promise<Payload>;
const tokens: Record<string, string> = {};

async function call(method: string, path: string, token: string, body?: unknown): Promise<any> {
  const res = await fetch(api + path, {
    method,
    headers: { 'x-auth-token': token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json.data;
}

const payloads = (path: string): Payload[] => receiver.requests.filter((r: Received) => r.path === path).map((r) => JSON.parse(r.body));

/** waits until `path` got `destroys` channel_destroy events since the scenario began */
async function settle(path: string, destroys: number, ms = 20000): Promise<Payload[]> {
  const end = Date.now() + ms;
  while (payloads(path).filter((p) => p.hook_event === 'channel_destroy').length < destroys) {
    if (Date.now() > end) throw new Error(`${path}: ${JSON.stringify(payloads(path).map((p) => [p.hook_event, p.channel_id]))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
  return payloads(path);
}

/** waits (at most 5 s) until `path` got `n` webhooks of `hookEvent` since the scenario began */
async function arrived(path: string, hookEvent: string, n: number): Promise<void> {
  for (let i = 0; payloads(path).filter((p) => p.hook_event === hookEvent).length < n; i++) {
    if (i > 200) throw new Error(`${path}: no ${n} × ${hookEvent}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

type Leg = [Payload, ...Payload[]];

/** events per leg (channel_id), in the order received */
function legs(events: Payload[]): Leg[] {
  const map = new Map<string, Leg>();
  for (const e of events) map.set(e.channel_id, [...(map.get(e.channel_id) ?? []), e] as Leg);
  return [...map.values()];
}
const kinds = (leg: Leg) => leg.map((e) => e.hook_event);
const destroyOf = (leg: Leg) => leg.find((e) => e.hook_event === 'channel_destroy')!;

const CARRIER = { ip: '127.0.0.2', from: '4930123456', name: 'Carol' };
const carrierCalls = (to: string, scenario = 'caller', pauseMs = 1500) => ({
  scenario,
  ip: CARRIER.ip,
  pauseMs,
  call: { to, from: CARRIER.from, name: CARRIER.name },
});
const phone = (who: 'alice' | 'bob' | 'gina', scenario: string, pauseMs = 500) => ({
  scenario,
  ip: { alice: '127.0.0.11', bob: '127.0.0.12', gina: '127.0.0.13' }[who],
  pauseMs,
});

describe.skipIf(!pbx.ok)('calls on a real Asterisk 22', () => {
  beforeAll(async () => {
    await hangupAll();
    receiver = await Receiver.start();
    proxy = await TcpProxy.start(8088);
    const port = await freePort();
    health = () => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.json() as Promise<Payload>);
    api = `http://127.0.0.1:${port}/api/v1`;
    callhook = spawn(process.execPath, [new URL('../../dist/cli.js', import.meta.url).pathname], {
      env: {
        PATH: process.env.PATH ?? '',
        CALLHOOK_ARI_URL: proxy.url,
        CALLHOOK_ARI_USERNAME: 'callhook',
        CALLHOOK_ARI_PASSWORD: 'callhook',
        CALLHOOK_PORT: String(port),
        CALLHOOK_DATA_DIR: mkdtempSync(join(tmpdir(), 'callhook-e2e-')),
        CALLHOOK_ADMIN_TOKEN: ADMIN,
        CALLHOOK_ALLOW_TARGETS: '127.0.0.0/8',
        CALLHOOK_RETRY_BASE_MS: '100',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    for (let i = 0; ; i++) {
      const h = await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.json() as Promise<Payload>,
        () => undefined,
      );
      if (h?.ari === 'connected') break;
      if (i > 200) throw new Error('callhook did not connect to ARI');
      await new Promise((r) => setTimeout(r, 50));
    }
    const accounts = {
      acme: { name: 'Acme', realm: 'acme.example', numbers: ['15550001', '15550002', '15550003', '15550004', '15550005', '15550006'], accountcodes: ['acme'] },
      globex: { name: 'Globex', realm: 'globex.example', numbers: ['15550100'], accountcodes: ['globex'] },
    };
    for (const [id, data] of Object.entries(accounts)) tokens[id] = (await call('POST', '/accounts', ADMIN, { data: { id, ...data } })).auth_token;
    const hook = (account: string, path: string, extra: Payload = {}) =>
      call('PUT', `/accounts/${account}/webhooks`, tokens[account]!, { data: { name: path, uri: receiver.url(path), hook: 'all', format: 'json', ...extra } });
    await hook('acme', '/acme');
    await hook('acme', '/acme-internal', { include_internal_legs: true });
    await hook('globex', '/globex');
    stasis = await startStasisApp(ARI_URL, 'callhook', 'callhook');
  }, 60000);

  afterAll(async () => {
    await stasis?.close();
    await killSipp();
    callhook?.kill('SIGTERM');
    await proxy?.close();
    await receiver?.close();
    if (pbx.started) await stopPbx();
  });

  // each scenario starts with callhook following ARI (a restart scenario leaves it reconnecting)
  // and no call of an earlier scenario still up: a call placed before callhook is back would be
  // found by reconciling, without its bridge; legs still open would count against this scenario
  beforeEach(async () => {
    const end = Date.now() + 30000;
    for (let h = await health(); h.ari !== 'connected' || h.open_legs !== 0; h = await health()) {
      if (Date.now() > end) throw new Error(`callhook not ready for the next call: ${JSON.stringify(h)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    receiver.requests.length = 0;
  }, 40000);

  it('inbound call answered by the PBX itself (IVR)', async () => {
    expect(await placeCall(carrierCalls('15550001', 'caller', 1500))).toEqual([0]);
    const [leg] = legs(await settle('/acme', 1));
    expect(kinds(leg!)).toEqual(['channel_create', 'channel_answer', 'channel_destroy']);
    expect(leg![0]).toMatchObject({
      call_direction: 'inbound',
      from: '4930123456@acme.example',
      to: '15550001@acme.example',
      account_id: 'acme',
      caller_id_name: 'Carol',
    });
    expect(leg![0].call_id).toMatch(/@127\.0\.0\.2$/);
    expect(destroyOf(leg!)).toMatchObject({ hangup_cause: 'NORMAL_CLEARING', billing_seconds: expect.stringMatching(/^[12]$/) });
    expect(Math.abs(destroyOf(leg!).timestamp - (Math.floor(Date.now() / 1000) + 62167219200))).toBeLessThan(30);
  });

  it('inbound call dialed to a phone that answers: two legs, bridged, matching durations', async () => {
    expect(await placeCall(carrierCalls('15550002', 'caller', 2000), [phone('alice', 'phone_answer', 1000)])).toEqual([0, 0]);
    const [caller, alice] = legs(await settle('/acme', 2));
    expect(kinds(caller!)).toEqual(['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy']);
    expect(kinds(alice!)).toEqual(['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy']);
    expect(alice![0]).toMatchObject({
      call_direction: 'outbound',
      from: '4930123456@acme.example',
      to: '201@acme.example',
      callee_id_name: 'Alice',
      other_leg_call_id: caller![0].call_id,
    });
    expect(destroyOf(caller!).other_leg_call_id).toBe(alice![0].call_id);
    const [c, a] = [destroyOf(caller!), destroyOf(alice!)];
    expect(Math.abs(Number(c.billing_seconds) - Number(a.billing_seconds))).toBeLessThanOrEqual(1);
    expect(Number(c.billing_seconds)).toBeGreaterThanOrEqual(1);
    expect(Number(c.ringing_seconds)).toBeGreaterThanOrEqual(1);
    expect(Number(c.duration_seconds)).toBe(Number(c.ringing_seconds) + Number(c.billing_seconds));
  });

  it('the caller hangs up while the phone rings', async () => {
    expect(await placeCall(carrierCalls('15550002', 'caller_cancel', 2000), [phone('alice', 'phone_ring', 0)])).toEqual([0, 0]);
    const [caller, alice] = legs(await settle('/acme', 2));
    expect(kinds(caller!)).toEqual(['channel_create', 'channel_destroy']);
    expect(kinds(alice!)).toEqual(['channel_create', 'channel_destroy']);
    expect(destroyOf(caller!)).toMatchObject({ hangup_cause: 'ORIGINATOR_CANCEL', hangup_code: 'sip:487', billing_seconds: '0' });
    expect(destroyOf(alice!)).toMatchObject({ hangup_cause: 'ORIGINATOR_CANCEL', billing_seconds: '0' });
  });

  it('the phone answers busy (486)', async () => {
    expect(await placeCall(carrierCalls('15550002'), [phone('alice', 'phone_busy', 500)])).toEqual([0, 0]);
    for (const leg of legs(await settle('/acme', 2))) {
      expect(kinds(leg)).toEqual(['channel_create', 'channel_destroy']);
      expect(destroyOf(leg)).toMatchObject({ hangup_cause: 'USER_BUSY', hangup_code: 'sip:486', billing_seconds: '0' });
    }
  });

  it('nobody answers: Dial times out', async () => {
    expect(await placeCall(carrierCalls('15550003'), [phone('alice', 'phone_ring', 0)])).toEqual([0, 0]);
    for (const leg of legs(await settle('/acme', 2))) {
      expect(kinds(leg)).toEqual(['channel_create', 'channel_destroy']);
      expect(destroyOf(leg)).toMatchObject({ hangup_cause: 'NO_ANSWER', billing_seconds: '0' });
    }
  });

  it('a ring group: alice answers, bob’s leg is cancelled', async () => {
    expect(await placeCall(carrierCalls('15550004'), [phone('alice', 'phone_answer', 500), phone('bob', 'phone_ring', 0)])).toEqual([0, 0, 0]);
    const all = legs(await settle('/acme', 3));
    const byTo = (n: string) => all.find((l) => l[0].to === `${n}@acme.example`)!;
    expect(kinds(byTo('201'))).toEqual(['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy']);
    expect(kinds(byTo('202'))).toEqual(['channel_create', 'channel_destroy']);
    expect(destroyOf(byTo('202')).hangup_cause).toBe('ANSWERED_ELSEWHERE');
  });

  it('a phone calls out to the carrier: direction per leg, from/to', async () => {
    const alice = { scenario: 'caller', ip: '127.0.0.11', pauseMs: 1000, call: { to: '15559999', from: '201', name: 'Alice' } };
    expect(await placeCall(alice, [{ scenario: 'phone_answer', ip: CARRIER.ip, pauseMs: 300 }])).toEqual([0, 0]);
    const [phoneLeg, trunkLeg] = legs(await settle('/acme', 2));
    expect(phoneLeg![0]).toMatchObject({ call_direction: 'inbound', from: '201@acme.example', to: '15559999@acme.example' });
    expect(trunkLeg![0]).toMatchObject({ call_direction: 'outbound', from: '201@acme.example', to: '15559999@acme.example' });
    expect(kinds(trunkLeg!)).toEqual(['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy']);
  });

  it('a call originated through ARI is outbound', async () => {
    const answering = placeCall({ scenario: 'phone_answer', ip: '127.0.0.11', pauseMs: 300 });
    await sipListening('127.0.0.11');
    const res = await fetch(`${ARI_URL}/ari/channels?endpoint=PJSIP/alice&context=originate&extension=s&priority=1&callerId=Operator%20%3C100%3E`, {
      method: 'POST',
      headers: { authorization: 'Basic ' + Buffer.from('callhook:callhook').toString('base64') },
    });
    expect(res.status).toBe(200);
    expect(await answering).toEqual([0]);
    const [leg] = legs(await settle('/acme', 1));
    expect(kinds(leg!)).toEqual(['channel_create', 'channel_answer', 'channel_destroy']);
    expect(leg![0]).toMatchObject({ call_direction: 'outbound', account_id: 'acme' });
  });

  it('Local channels are internal legs, delivered only to hooks that include them', async () => {
    expect(await placeCall(carrierCalls('15550005', 'caller', 1000), [phone('alice', 'phone_answer', 300)])).toEqual([0, 0]);
    const internal = legs(await settle('/acme-internal', 4));
    expect(internal.map((l) => l[0].is_internal_leg).sort()).toEqual([false, false, true, true]);
    const plain = legs(await settle('/acme', 2));
    expect(plain).toHaveLength(2);
    expect(plain.every((l) => l[0].is_internal_leg === false)).toBe(true);
  });

  it('two tenants on the shared trunk: each account gets only its own calls', async () => {
    expect(await placeCall(carrierCalls('15550100', 'caller', 1000), [phone('gina', 'phone_answer', 300)])).toEqual([0, 0]);
    const globex = legs(await settle('/globex', 2));
    expect(globex.flat().every((p) => p.account_id === 'globex' && p.from.endsWith('@globex.example'))).toBe(true);
    expect(payloads('/acme')).toEqual([]);
    expect(await placeCall(carrierCalls('15550001', 'caller', 500))).toEqual([0]);
    await settle('/acme', 1);
    expect(payloads('/globex')).toHaveLength(8);
  });

  it('observes a call that an ari-client Stasis application answers, without disturbing it', async () => {
    const before = stasis.answered.length;
    expect(await placeCall(carrierCalls('15550006', 'caller', 1000))).toEqual([0]);
    const [leg] = legs(await settle('/acme', 1));
    expect(stasis.answered.length).toBe(before + 1);
    expect(stasis.answered.at(-1)).toBe(leg![0].channel_id);
    expect(kinds(leg!)).toEqual(['channel_create', 'channel_answer', 'channel_destroy']);
  });
  it('ARI socket cut mid-call, the call ends meanwhile: each leg gets exactly one destroy, no ghost legs', async () => {
    const call = placeCall(carrierCalls('15550002', 'caller', 2500), [phone('alice', 'phone_answer', 200)]);
    await arrived('/acme', 'channel_answer', 2);
    proxy.cut(5000); // the call ends while callhook cannot reach ARI
    expect(await call).toEqual([0, 0]);
    const all = legs(await settle('/acme', 2, 30000));
    expect(all).toHaveLength(2);
    for (const leg of all) {
      expect(kinds(leg).filter((k) => k === 'channel_destroy')).toHaveLength(1);
      expect(destroyOf(leg)).toMatchObject({ reconciled: true });
    }
    expect((await health()).open_legs).toBe(0);
  });

  /**
   * an answered call is up and bridged (both legs' channel_bridge are in: crashing between the
   * answers and the bridge would leave no bridge to report); `restart` takes Asterisk down and up again
   */
  const restartMidCall = async (restart: () => Promise<void>) => {
    void placeCall(carrierCalls('15550002', 'caller', 20000), [phone('alice', 'phone_answer', 200)]);
    await arrived('/acme', 'channel_bridge', 2);
    await restart();
    await killSipp();
    await startPbx();
    const all = legs(await settle('/acme', 2, 60000));
    expect(all).toHaveLength(2);
    for (const leg of all) expect(kinds(leg)).toEqual(['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy']);
    expect((await health()).open_legs).toBe(0);
    return all;
  };

  it('Asterisk restarts mid-call: every open leg ends exactly once', async () => {
    // a clean stop may or may not get its hangups out over ARI before it exits; either way once
    await restartMidCall(stopPbx);
  }, 90000);

  it('Asterisk crashes mid-call: the new startup_time ends every open leg, reconciled', async () => {
    for (const leg of await restartMidCall(crashPbx)) expect(destroyOf(leg)).toMatchObject({ reconciled: true });
  }, 90000);
});
