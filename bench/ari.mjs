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

function chan(id, name, state, protocolId, caller, connected, exten, created) {
  return {
    id,
    name,
    state,
    protocol_id: protocolId,
    caller: { name: caller[0], number: caller[1] },
    connected: { name: connected[0], number: connected[1] },
    accountcode: 'bench',
    dialplan: { context: 'from-trunk', exten, priority: 1, app_name: 'Dial', app_data: 'PJSIP/alice,20' },
    creationtime: iso(created),
    language: 'en',
  };
}

/** the 15 frames of call number n; each frame is built when it is sent (timestamps are "now") */
export function callFrames(n) {
  const a = `1800000000.${2 * n}`;
  const b = `1800000000.${2 * n + 1}`;
  const aCall = `bench-${n}@127.0.0.2`;
  const bCall = `bench-b-${n}`;
  const created = Date.now();
  const A = (state, pid = aCall, conn = ['', '']) => chan(a, `PJSIP/trunk-${n}`, state, pid, ['Carol', '4930123456'], conn, '15550002', created);
  const B = (state, pid = bCall) => chan(b, `PJSIP/alice-${n}`, state, pid, ['Alice', '201'], ['Carol', '4930123456'], '15550002', created);
  const ev = (type, now, extra) => JSON.stringify({ type, timestamp: iso(now), ...extra, asterisk_id: '02:fc:00:00:00:99', application: 'callhook' });
  return [
    (t) => ev('ChannelCreated', t, { channel: A('Ring', '') }),
    (t) => ev('ChannelVarset', t, { variable: 'SIPDOMAIN', value: '127.0.0.1', channel: A('Ring') }),
    (t) => ev('ChannelDialplan', t, { dialplan_app: 'Dial', dialplan_app_data: 'PJSIP/alice,20', channel: A('Ring') }),
    (t) => ev('ChannelCreated', t, { channel: B('Down', '') }),
    (t) => ev('Dial', t, { dialstatus: '', forward: '', dialstring: 'alice', caller: A('Ring'), peer: B('Down') }),
    (t) => ev('ChannelStateChange', t, { channel: B('Ringing') }),
    (t) => ev('Dial', t, { dialstatus: 'RINGING', forward: '', dialstring: '', caller: A('Ring'), peer: B('Ringing') }),
    (t) => ev('ChannelStateChange', t, { channel: B('Up') }),
    (t) => ev('Dial', t, { dialstatus: 'ANSWER', forward: '', dialstring: '', caller: A('Ring'), peer: B('Up') }),
    (t) => ev('ChannelStateChange', t, { channel: A('Up', aCall, ['Alice', '201']) }),
    (t) => ev('ChannelEnteredBridge', t, { bridge: { id: `br-${n}`, channels: [b], bridge_type: 'mixing' }, channel: B('Up') }),
    (t) => ev('ChannelEnteredBridge', t, { bridge: { id: `br-${n}`, channels: [a, b], bridge_type: 'mixing' }, channel: A('Up', aCall, ['Alice', '201']) }),
    (t) => ev('ChannelHangupRequest', t, { cause: 16, channel: A('Up', aCall, ['Alice', '201']) }),
    (t) => ev('ChannelDestroyed', t, { cause: 16, cause_txt: 'Normal Clearing', channel: A('Up', aCall, ['Alice', '201']) }),
    (t) => ev('ChannelDestroyed', t, { cause: 16, cause_txt: 'Normal Clearing', channel: B('Up') }),
  ];
}

export async function startFakeAri() {
  let client;
  let waiting = [];
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url.startsWith('/ari/asterisk/info')) res.end(JSON.stringify({ system: { version: 'bench', entity_id: '02:fc:00:00:00:99' }, status: { startup_time: '2026-01-01T00:00:00.000+0000' } }));
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
   * Streams calls [first, first+count). rate = ARI events per second, or 0 for full speed
   * (bounded by the socket: it waits while more than 4 MB are buffered). With `sentAt` (a Map)
   * it records when each frame was sent, keyed `${call}:${frame}`.
   */
  async function stream(first, count, rate = 0, sentAt = undefined) {
    const frames = [];
    for (let n = first; n < first + count; n++) {
      frames.push(...callFrames(n).map((f, i) => (sentAt ? (t) => (sentAt.set(`${n}:${i}`, t), f(t)) : f)));
    }
    // interleave calls a little, as a busy PBX does: 10 calls at a time
    const order = [];
    for (let g = 0; g < count; g += 10) {
      const group = Math.min(10, count - g);
      for (let i = 0; i < ARI_EVENTS_PER_CALL; i++) for (let c = 0; c < group; c++) order.push(frames[(g + c) * ARI_EVENTS_PER_CALL + i]);
    }
    const started = Date.now();
    let sent = 0;
    while (sent < order.length) {
      if (rate > 0) {
        const due = Math.floor(((Date.now() - started) / 1000) * rate);
        while (sent < Math.min(due, order.length)) client.send(order[sent++](Date.now()));
        await new Promise((r) => setTimeout(r, 1));
      } else {
        const end = Math.min(order.length, sent + 1000);
        while (sent < end) client.send(order[sent++](Date.now()));
        while (client.bufferedAmount > 4 << 20) await new Promise((r) => setTimeout(r, 1));
        await new Promise((r) => setImmediate(r));
      }
    }
    return { frames: order.length, ms: Date.now() - started };
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
