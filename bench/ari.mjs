// The benchmark's fake Asterisk: ARI websocket + the REST calls callhook makes, streaming
// synthetic two-leg calls (create, dial, ring, answer, bridge, hang up: 15 ARI events and
// 8 call events per call) at full speed or at a fixed rate.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

export const ARI_EVENTS_PER_CALL = 15;
export const CALL_EVENTS_PER_CALL = 8;

/**
 * The frame (index into callFrames) whose arrival makes callhook emit each call event: the
 * latency of a webhook is measured from the moment that frame was sent. As with real
 * Asterisk, an inbound leg's create waits for the snapshot with its SIP Call-ID (the first
 * Varset), a dialed leg's for its Dial; a channel_bridge comes when the second channel enters.
 */
const TRIGGER = {
  A: { channel_create: 1, channel_answer: 9, channel_bridge: 11, channel_destroy: 13 },
  B: { channel_create: 4, channel_answer: 7, channel_bridge: 11, channel_destroy: 14 },
};
/** the call number and leg of a payload's call_id */
export function legOf(callId) {
  const m = /^bench-(b-)?(\d+)/.exec(callId);
  return m ? { n: Number(m[2]), leg: m[1] ? 'B' : 'A' } : undefined;
}
export const triggerFrame = (leg, hookEvent) => TRIGGER[leg]?.[hookEvent];

const iso = (ms) => new Date(ms).toISOString().replace('Z', '+0000');

function chan(id, name, state, protocolId, caller, connected, exten, created, accountcode) {
  return {
    id,
    name,
    state,
    protocol_id: protocolId,
    caller: { name: caller[0], number: caller[1] },
    connected: { name: connected[0], number: connected[1] },
    accountcode,
    dialplan: { context: 'from-trunk', exten, priority: 1, app_name: 'Dial', app_data: 'PJSIP/alice,20' },
    creationtime: iso(created),
    language: 'en',
  };
}

const TIME = '@@now@@';

/**
 * The 15 frames of call number n, serialised ahead of the stream: each as the text before and
 * after its ARI timestamp, which is "now" when the frame is sent. Both legs carry `accountcode`,
 * which callhook resolves to the account listing it.
 */
export function callFrames(n, accountcode = 'bench') {
  const a = `1800000000.${2 * n}`;
  const b = `1800000000.${2 * n + 1}`;
  const aCall = `bench-${n}@127.0.0.2`;
  const bCall = `bench-b-${n}`;
  const created = Date.now();
  const A = (state, pid = aCall, conn = ['', '']) => chan(a, `PJSIP/trunk-${n}`, state, pid, ['Carol', '4930123456'], conn, '15550002', created, accountcode);
  const B = (state, pid = bCall) => chan(b, `PJSIP/alice-${n}`, state, pid, ['Alice', '201'], ['Carol', '4930123456'], '15550002', created, accountcode);
  const ev = (type, extra) => JSON.stringify({ type, timestamp: TIME, ...extra, asterisk_id: '02:fc:00:00:00:99', application: 'callhook' }).split(TIME);
  return [
    ev('ChannelCreated', { channel: A('Ring', '') }),
    ev('ChannelVarset', { variable: 'SIPDOMAIN', value: '127.0.0.1', channel: A('Ring') }),
    ev('ChannelDialplan', { dialplan_app: 'Dial', dialplan_app_data: 'PJSIP/alice,20', channel: A('Ring') }),
    ev('ChannelCreated', { channel: B('Down', '') }),
    ev('Dial', { dialstatus: '', forward: '', dialstring: 'alice', caller: A('Ring'), peer: B('Down') }),
    ev('ChannelStateChange', { channel: B('Ringing') }),
    ev('Dial', { dialstatus: 'RINGING', forward: '', dialstring: '', caller: A('Ring'), peer: B('Ringing') }),
    ev('ChannelStateChange', { channel: B('Up') }),
    ev('Dial', { dialstatus: 'ANSWER', forward: '', dialstring: '', caller: A('Ring'), peer: B('Up') }),
    ev('ChannelStateChange', { channel: A('Up', aCall, ['Alice', '201']) }),
    ev('ChannelEnteredBridge', { bridge: { id: `br-${n}`, channels: [b], bridge_type: 'mixing' }, channel: B('Up') }),
    ev('ChannelEnteredBridge', { bridge: { id: `br-${n}`, channels: [a, b], bridge_type: 'mixing' }, channel: A('Up', aCall, ['Alice', '201']) }),
    ev('ChannelHangupRequest', { cause: 16, channel: A('Up', aCall, ['Alice', '201']) }),
    ev('ChannelDestroyed', { cause: 16, cause_txt: 'Normal Clearing', channel: A('Up', aCall, ['Alice', '201']) }),
    ev('ChannelDestroyed', { cause: 16, cause_txt: 'Normal Clearing', channel: B('Up') }),
  ];
}

/**
 * The frames of calls [first, first+count), serialised before they are streamed so that the
 * stream costs the generator little more than the socket writes; ten calls interleaved at a
 * time, as on a busy PBX. Each frame's key is `${call}:${index in callFrames}`. The calls'
 * accountcode is 'bench' unless `accountcode` says otherwise.
 */
export function prepareCalls(first, count, { accountcode = 'bench' } = {}) {
  const calls = [];
  for (let n = first; n < first + count; n++) calls.push(callFrames(n, accountcode));
  const frames = [];
  for (let g = 0; g < count; g += 10) {
    const group = Math.min(10, count - g);
    for (let i = 0; i < ARI_EVENTS_PER_CALL; i++) {
      for (let c = g; c < g + group; c++) frames.push({ key: `${first + c}:${i}`, head: calls[c][i][0], tail: calls[c][i][1] });
    }
  }
  return frames;
}

export async function startFakeAri() {
  let client;
  let waiting = [];
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url.startsWith('/ari/asterisk/info'))
      res.end(JSON.stringify({ system: { version: 'bench', entity_id: '02:fc:00:00:00:99' }, status: { startup_time: '2026-01-01T00:00:00.000+0000' } }));
    else res.end('[]');
  });
  const wss = new WebSocketServer({ server, path: '/ari/events', perMessageDeflate: false });
  wss.on('connection', (ws) => {
    client = ws;
    for (const w of waiting.splice(0)) w();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;

  /**
   * Sends frames made by prepareCalls. rate = ARI events per second, or 0 for full speed (bounded
   * by the socket: it waits while more than 4 MB are buffered). With `sentAt` (a Map) it records
   * when each frame was sent, under the frame's key.
   */
  async function stream(frames, rate = 0, sentAt = undefined) {
    let lastMs = 0;
    let lastIso = '';
    const send = (f) => {
      const now = Date.now();
      if (now !== lastMs) {
        lastMs = now;
        lastIso = iso(now);
      }
      sentAt?.set(f.key, now);
      client.send(f.head + lastIso + f.tail);
    };
    const started = Date.now();
    let sent = 0;
    while (sent < frames.length) {
      if (rate > 0) {
        const due = Math.floor(((Date.now() - started) / 1000) * rate);
        while (sent < Math.min(due, frames.length)) send(frames[sent++]);
        await new Promise((r) => setTimeout(r, 1));
      } else {
        const end = Math.min(frames.length, sent + 1000);
        while (sent < end) send(frames[sent++]);
        while (client.bufferedAmount > 4 << 20) await new Promise((r) => setTimeout(r, 1));
        await new Promise((r) => setImmediate(r));
      }
    }
    return { frames: frames.length, ms: Date.now() - started };
  }

  return {
    url: `http://127.0.0.1:${port}`,
    connected: () => (client ? Promise.resolve() : new Promise((r) => waiting.push(r))),
    stream,
    close: () => {
      client?.terminate();
      wss.close();
      return new Promise((r) => server.close(r));
    },
  };
}
