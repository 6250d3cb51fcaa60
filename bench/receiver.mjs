// The benchmark's webhook receiver, a process of its own. Counts requests per path and the
// latency from the ARI event (its BENCH_TS channel variable, set when the fake ARI sent it)
// to receipt. Controlled over IPC: {cmd: 'stats' | 'reset' | 'down' | 'up' | 'samples'}.
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
let counts = {};
let latencies = [];
let samples = [];
let server;

function listen() {
  server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const path = req.url.split('?')[0];
      counts[path] = (counts[path] ?? 0) + 1;
      if (path === '/hook') {
        const body = Buffer.concat(chunks).toString();
        const ts = /"BENCH_TS":"(\d+)"/.exec(body);
        if (ts) latencies.push(Date.now() - Number(ts[1]));
        if (samples.length < 5000) samples.push(body);
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
      process.send({ counts, latencies: msg.withLatencies ? latencies : undefined, rss: process.memoryUsage().rss });
      break;
    case 'reset':
      counts = {};
      latencies = [];
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
