/**
 * ARI event sequences in Asterisk 22's shape (see test/fixtures/*.jsonl, recorded from a real
 * PBX), for the call flows not recorded yet: the caller cancels while the phone rings, and
 * the phone answers busy. Rules they follow, as observed on Asterisk 22.10: protocol_id is
 * empty in ChannelCreated; a dialed leg is created Down and its Dial event carries the
 * dialstring; a caller's CANCEL ends as cause 127 with tech_cause 487, a 486 as cause 17
 * with tech_cause 486; ChannelDestroyed often says cause 0.
 */
type Ev = Record<string, unknown>;

const ASTERISK_ID = '02:fc:00:00:00:01';
const BASE = Date.parse('2026-11-24T15:00:00.000Z');

function at(ms: number): string {
  return new Date(BASE + ms).toISOString().replace('Z', '+0000');
}

interface ChanOpts {
  id: string;
  name: string;
  state: string;
  protocolId: string;
  caller: [string, string];
  connected?: [string, string];
  exten: string;
  createdMs: number;
  context?: string;
  accountcode?: string;
}

function channel(c: ChanOpts): Ev {
  return {
    id: c.id,
    name: c.name,
    state: c.state,
    protocol_id: c.protocolId,
    caller: { name: c.caller[0], number: c.caller[1] },
    connected: { name: c.connected?.[0] ?? '', number: c.connected?.[1] ?? '' },
    accountcode: c.accountcode ?? 'acme',
    dialplan: { context: c.context ?? 'from-trunk', exten: c.exten, priority: 1, app_name: '', app_data: '' },
    creationtime: at(c.createdMs),
    language: 'en',
    channelvars: { CALLHOOK_ACCOUNT: '' },
  };
}

function ev(type: string, ms: number, extra: Ev): Ev {
  return { type, timestamp: at(ms), ...extra, asterisk_id: ASTERISK_ID, application: 'callhook' };
}

/** trunk call to `did`, Dial(PJSIP/alice) until `endMs`; `how` decides how it ends */
export function dialScenario(how: 'cancel' | 'busy', did = '15550002'): Ev[] {
  const callerId = '1-20001@127.0.0.1';
  const aliceCallId = '7c0e6d2a-5a4b-4f0e-9d56-0a1b2c3d4e5f';
  const trunk = (state: string, protocolId = callerId, connected?: [string, string]) =>
    channel({ id: '1795535000.10', name: 'PJSIP/trunk-0000000a', state, protocolId, caller: ['Carol', '4930123456'], connected, exten: did, createdMs: 0 });
  const alice = (state: string, protocolId = aliceCallId) =>
    channel({ id: '1795535000.11', name: 'PJSIP/alice-0000000b', state, protocolId, caller: ['Alice', '201'], connected: ['Carol', '4930123456'], exten: did, createdMs: 2 });
  const out: Ev[] = [
    ev('ChannelCreated', 0, { channel: trunk('Ring', '') }),
    ev('ChannelVarset', 1, { variable: 'SIPDOMAIN', value: '127.0.0.1', channel: trunk('Ring') }),
    ev('ChannelDialplan', 1, { dialplan_app: 'Dial', dialplan_app_data: 'PJSIP/alice,20', channel: trunk('Ring') }),
    ev('ChannelCreated', 2, { channel: { ...alice('Down', ''), connected: { name: '', number: '' } } }),
    ev('ChannelVarset', 2, { variable: 'DIALEDPEERNUMBER', value: 'alice', channel: alice('Down') }),
    ev('ChannelDialplan', 2, { dialplan_app: 'AppDial', dialplan_app_data: '(Outgoing Line)', channel: alice('Down') }),
    ev('Dial', 3, { dialstatus: '', forward: '', dialstring: 'alice', caller: trunk('Ring'), peer: alice('Down') }),
    ev('ChannelConnectedLine', 3, { channel: trunk('Ring', callerId, ['Alice', '201']) }),
    ev('ChannelStateChange', 4, { channel: alice('Ringing') }),
    ev('Dial', 4, { dialstatus: 'RINGING', forward: '', dialstring: '', caller: trunk('Ring'), peer: alice('Ringing') }),
  ];
  if (how === 'cancel') {
    // the caller gives up after 3.2 s of ringing
    out.push(
      ev('ChannelHangupRequest', 3200, { cause: 127, tech_cause: 487, channel: trunk('Ring', callerId, ['Alice', '201']) }),
      ev('Dial', 3201, { dialstatus: 'CANCEL', forward: '', dialstring: '', caller: trunk('Ring'), peer: alice('Ringing') }),
      ev('ChannelHangupRequest', 3201, { channel: alice('Ringing') }),
      ev('ChannelDestroyed', 3202, { cause: 0, cause_txt: 'Unknown', channel: alice('Ringing') }),
      ev('ChannelDestroyed', 3203, { cause: 127, cause_txt: 'Interworking, unspecified', tech_cause: 487, channel: trunk('Ring', callerId, ['Alice', '201']) }),
    );
  } else {
    // alice answers 486 Busy Here after 1.1 s; the dialplan then hangs up the caller
    out.push(
      ev('ChannelHangupRequest', 1100, { cause: 17, tech_cause: 486, channel: alice('Ringing') }),
      ev('Dial', 1101, { dialstatus: 'BUSY', forward: '', dialstring: '', caller: trunk('Ring'), peer: alice('Ringing') }),
      ev('ChannelDestroyed', 1102, { cause: 17, cause_txt: 'User busy', tech_cause: 486, channel: alice('Ringing') }),
      ev('ChannelVarset', 1102, { variable: 'DIALSTATUS', value: 'BUSY', channel: trunk('Ring', callerId, ['Alice', '201']) }),
      ev('ChannelHangupRequest', 1103, { cause: 17, soft: true, channel: trunk('Ring', callerId, ['Alice', '201']) }),
      ev('ChannelDestroyed', 1104, { cause: 0, cause_txt: 'Unknown', channel: trunk('Ring', callerId, ['Alice', '201']) }),
    );
  }
  return out;
}
