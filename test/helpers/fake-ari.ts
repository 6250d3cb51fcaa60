/** A fake Asterisk: the ARI event websocket plus the REST calls callhook makes. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

export function loadFixture(name: string): Record<string, unknown>[] {
  return readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export class FakeAri {
  readonly clients = new Set<WebSocket>();
  readonly rest: string[] = [];
  /** what GET /ari/channels answers */
  channels: unknown[] = [];
  /** what GET /ari/bridges answers */
  bridges: unknown = [];
  startupTime = '2026-11-24T14:00:00.000+0000';
  connections = 0;
  rejected = 0;
  /** called for every new client, e.g. to replay a stream from its start */
  onConnect: ((ws: WebSocket) => void) | undefined;
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly username: string,
    readonly password: string,
  ) {}

  static async start(opts: { username?: string; password?: string; port?: number } = {}): Promise<FakeAri> {
    const username = opts.username ?? 'callhook';
    const password = opts.password ?? 'secret';
    const server = createServer();
    const wss = new WebSocketServer({ noServer: true });
    const ari = new FakeAri(server, wss, username, password);
    server.on('request', (req, res) => {
      ari.rest.push(`${req.method} ${req.url}`);
      if (!ari.authorized(req)) {
        res.writeHead(401).end('{"message":"Authentication required"}');
        return;
      }
      const path = (req.url ?? '').split('?')[0];
      if (path === '/ari/asterisk/info') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ system: { version: '22.10.1', entity_id: '02:fc:00:00:00:01' }, status: { startup_time: ari.startupTime } }));
      } else if (path === '/ari/channels') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(ari.channels));
      } else if (path === '/ari/bridges') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(ari.bridges));
      } else {
        res.writeHead(404).end('{"message":"Resource not found"}');
      }
    });
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/ari/events' || !url.searchParams.get('app') || !ari.authorized(req)) {
        ari.rejected += 1;
        // the client hangs up as soon as it reads the 401; its reset must not surface here as an
        // uncaught error (an upgraded socket has no error listener of the HTTP server any more)
        socket.on('error', () => undefined);
        socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        ari.connections += 1;
        ari.clients.add(ws);
        ws.on('close', () => ari.clients.delete(ws));
        ari.onConnect?.(ws);
        for (const w of ari.waiters.splice(0)) w();
      });
    });
    await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', r));
    return ari;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private authorized(req: IncomingMessage): boolean {
    const expected = 'Basic ' + Buffer.from(`${this.username}:${this.password}`).toString('base64');
    return req.headers.authorization === expected;
  }

  /** resolves once `count` connections in all have been made */
  async waitForConnections(count: number, timeoutMs = 10000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.connections < count || this.clients.size === 0) {
      if (Date.now() > end) throw new Error(`only ${this.connections} ARI connections`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** resolves once a client is connected (now or later) */
  waitForClient(timeoutMs = 5000): Promise<void> {
    if (this.clients.size > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no ARI client connected')), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** sends raw frames or events to every connected client */
  send(...frames: (string | object)[]): void {
    for (const ws of this.clients) {
      for (const f of frames) ws.send(typeof f === 'string' ? f : JSON.stringify(f));
    }
  }

  /** cuts every connection as a network failure would */
  dropClients(): void {
    for (const ws of this.clients) ws.terminate();
    this.clients.clear();
  }

  async close(): Promise<void> {
    this.dropClients();
    this.wss.close();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
