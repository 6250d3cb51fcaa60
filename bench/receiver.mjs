// The benchmark's webhook receiver, a process of its own. Counts requests per path and notes
// when each webhook of /hook arrived (with its call_id and hook_event, for the latency).
// Controlled over IPC: {cmd: 'stats' | 'reset' | 'down' | 'up' | 'samples'}; arrivals are noted
// after {cmd: 'reset', track: true} only (the latency run): at full speed the receiver does no
// more for callhook's requests than for the baseline's, it counts them (and keeps samples).

import { createServer } from 'node:http';

const port = Number(process.argv[2]);
let counts = {};
let arrivals = [];
let track = false;
let samples = [];
let server;

function listen() {
  server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const path = req.url.split('?')[0];
      counts[path] = (counts[path] ?? 0) + 1;
      if (path === '/hook' && (track || samples.length < 5000)) {
        const body = Buffer.concat(chunks).toString();
        if (samples.length < 5000) samples.push(body);
        if (track) arrivals.push([Date.now(), /"call_id":"([^"]*)"/.exec(body)?.[1], /"hook_event":"([^"]*)"/.exec(body)?.[1]]);
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  server.keepAliveTimeout = 30000;
  return new Promise((r) => server.listen(port, '127.0.0.1', r));
}

process.on('message', async (msg) => {
  switch (msg.cmd) {
    case 'stats':
      process.send({ counts, arrivals: msg.withArrivals ? arrivals : undefined });
      break;
    case 'reset':
      counts = {};
      arrivals = [];
      track = Boolean(msg.track);
      process.send({ ok: true });
      break;
    case 'samples':
      process.send({ samples });
      break;
    case 'down':
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      process.send({ ok: true });
      break;
    case 'up':
      await listen();
      process.send({ ok: true });
      break;
  }
});

await listen();
process.send({ ready: true });
