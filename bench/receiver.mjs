// The benchmark's webhook receiver, a process of its own. Counts requests per path and notes
// when each webhook of /hook arrived (with its call_id and hook_event, for the latency).
// Controlled over IPC: {cmd: 'stats' | 'reset' | 'down' | 'up' | 'samples'}; arrivals are noted
// after {cmd: 'reset', track: true} only (the latency run): at full speed the receiver does no
// more for callhook's requests than for the baseline's, it counts them (and keeps samples).
//
// The scenarios (bench/scenarios.mjs) run receivers of their own, whose paths have a behaviour
// set by {cmd: 'route', path, status, delay: [minMs, maxMs], log}: the status they answer (503
// for an outage, then 200 again), an optional delay before the answer (a slow receiver), and a
// log of each request as it arrived: [ms, call_id, hook_event, status answered]. {cmd: 'routes'}
// reports each route's requests in flight (waiting out the delay), answers by status, and with
// withLog its log. /hook and the paths without a route behave as above.

import { createServer } from 'node:http';

const port = Number(process.argv[2]);
let counts = {};
let arrivals = [];
let track = false;
let samples = [];
let server;
/** path → { status, delay, log, entries, inflight, answered } */
const routes = new Map();

function answerRoute(route, chunks, res) {
  const body = route.log ? Buffer.concat(chunks).toString() : '';
  const status = route.status;
  if (route.log) route.entries.push([Date.now(), /"call_id":"([^"]*)"/.exec(body)?.[1], /"hook_event":"([^"]*)"/.exec(body)?.[1], status]);
  const reply = () => {
    route.inflight--;
    route.answered[status] = (route.answered[status] ?? 0) + 1;
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? 'ok' : 'unavailable');
  };
  route.inflight++;
  const [min, max] = route.delay ?? [0, 0];
  if (max > 0) setTimeout(reply, min + Math.random() * (max - min));
  else reply();
}

function listen() {
  server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const path = req.url.split('?')[0];
      counts[path] = (counts[path] ?? 0) + 1;
      const route = routes.size > 0 ? routes.get(path) : undefined;
      if (route) return answerRoute(route, chunks, res);
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
    case 'route': {
      const route = routes.get(msg.path) ?? { log: false, entries: [], inflight: 0, answered: {} };
      route.status = msg.status ?? 200;
      route.delay = msg.delay;
      route.log = Boolean(msg.log);
      routes.set(msg.path, route);
      process.send({ ok: true, at: Date.now() });
      break;
    }
    case 'routes':
      process.send({
        routes: Object.fromEntries(
          [...routes].map(([path, r]) => [path, { inflight: r.inflight, answered: r.answered, log: msg.withLog ? r.entries : undefined }]),
        ),
      });
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
