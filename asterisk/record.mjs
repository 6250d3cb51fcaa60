#!/usr/bin/env node
// Records the ARI event stream of the test PBX as JSON lines (one event per line, as sent):
//   node asterisk/record.mjs OUT.jsonl [ARI_URL] [user:password]
// Stops on SIGINT/SIGTERM.
import WebSocket from 'ws';
import { createWriteStream } from 'node:fs';

const [out, base = 'http://127.0.0.1:8088', auth = 'callhook:callhook'] = process.argv.slice(2);
if (!out) {
  console.error('usage: record.mjs OUT.jsonl [ARI_URL] [user:password]');
  process.exit(2);
}
const url = new URL('/ari/events?app=recorder&subscribeAll=true', base.replace(/^http/, 'ws'));
const file = createWriteStream(out);
const ws = new WebSocket(url, { headers: { authorization: 'Basic ' + Buffer.from(auth).toString('base64') } });
ws.on('open', () => console.error(`recording ${url} → ${out}`));
ws.on('message', (data) => file.write(data.toString() + '\n'));
ws.on('error', (err) => {
  console.error(err.message);
  process.exit(1);
});
const stop = () => ws.close() || file.end(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
