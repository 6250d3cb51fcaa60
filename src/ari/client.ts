/**
 * ARI client on `ws` + `undici`: one websocket on /ari/events with subscribeAll, kept alive
 * with pings, reconnected forever with capped backoff. A frame that is not ARI JSON is logged
 * and skipped; an exception thrown by the event handler is logged and never closes the socket.
 */
import WebSocket from 'ws';
import { request } from 'undici';
import type { Logger } from 'pino';
import { parseAriFrame, type AriChannel, type AriEvent } from './events.js';
import { AppError } from '../errors.js';

export interface AriClientOptions {
  url: string;
  username: string;
  password: string;
  app: string;
  pingIntervalMs: number;
  logger: Logger;
  onEvent: (event: AriEvent) => void;
  onConnected?: () => void;
  /** reconnect backoff bounds (ms) */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export type AriState = 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface AsteriskInfo {
  system?: { version?: string; entity_id?: string };
  status?: { startup_time?: string; last_reload_time?: string };
}

export class AriClient {
  private ws: WebSocket | undefined;
  private state: AriState = 'disconnected';
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private awaitingPong = false;
  private readonly base: URL;
  private readonly auth: string;

  constructor(private readonly opts: AriClientOptions) {
    this.base = new URL(opts.url);
    this.auth = 'Basic ' + Buffer.from(`${opts.username}:${opts.password}`).toString('base64');
  }

  get status(): AriState {
    return this.state;
  }

  start(): void {
    if (this.state === 'closed') return;
    this.connect();
  }

  async close(): Promise<void> {
    this.state = 'closed';
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = undefined;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const done = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000);
      ws.once('close', () => {
        clearTimeout(done);
        resolve();
      });
      ws.close(1000, 'callhook shutting down');
    });
  }

  /** GET /ari/asterisk/info */
  getInfo(): Promise<AsteriskInfo> {
    return this.rest<AsteriskInfo>('/ari/asterisk/info');
  }

  /** GET /ari/channels */
  listChannels(): Promise<AriChannel[]> {
    return this.rest<AriChannel[]>('/ari/channels');
  }

  private async rest<T>(path: string): Promise<T> {
    const url = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
    const res = await request(url, {
      headers: { authorization: this.auth, accept: 'application/json' },
      headersTimeout: 5000,
      bodyTimeout: 5000,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      throw new AppError('internal', `ARI ${path} answered ${res.statusCode}`);
    }
    return JSON.parse(text) as T;
  }

  private eventsUrl(): string {
    const u = new URL(this.base.pathname.replace(/\/$/, '') + '/ari/events', this.base);
    u.protocol = this.base.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('app', this.opts.app);
    u.searchParams.set('subscribeAll', 'true');
    return u.toString();
  }

  private connect(): void {
    const log = this.opts.logger;
    this.state = 'connecting';
    const ws = new WebSocket(this.eventsUrl(), {
      headers: { authorization: this.auth },
      handshakeTimeout: 10000,
      perMessageDeflate: false,
    });
    this.ws = ws;
    let failure: string | undefined;

    ws.on('open', () => {
      if (this.state === 'closed') return;
      this.state = 'connected';
      log.info({ ari: this.opts.url, app: this.opts.app, after_failures: this.failures }, 'ARI connected');
      this.failures = 0;
      this.startPing(ws);
      this.opts.onConnected?.();
    });
    ws.on('unexpected-response', (_req, res) => {
      failure =
        res.statusCode === 401 ? 'ARI refused the username/password (401)' : `ARI answered HTTP ${res.statusCode}`;
      res.resume();
      ws.terminate();
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        log.warn('ARI sent a binary frame; skipped');
        return;
      }
      const frame = data.toString();
      const parsed = parseAriFrame(frame);
      if ('error' in parsed) {
        log.warn({ reason: parsed.error, frame: frame.slice(0, 200) }, 'skipped a malformed ARI frame');
        return;
      }
      try {
        this.opts.onEvent(parsed.event);
      } catch (err) {
        log.error({ err, type: parsed.event.type }, 'ARI event handler failed; event skipped');
      }
    });
    ws.on('pong', () => {
      this.awaitingPong = false;
    });
    ws.on('error', (err) => {
      failure ??= err.message;
    });
    ws.on('close', (code) => {
      clearInterval(this.pingTimer);
      if (this.ws !== ws || this.state === 'closed') return;
      const wasConnected = this.state === 'connected';
      this.state = 'disconnected';
      this.failures += 1;
      const delay = this.backoff();
      log.warn(
        { ari: this.opts.url, code, reason: failure, attempt: this.failures, retry_in_ms: delay },
        wasConnected ? 'ARI connection lost; reconnecting' : 'ARI not reachable; retrying',
      );
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    });
  }

  private startPing(ws: WebSocket): void {
    this.awaitingPong = false;
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (this.awaitingPong) {
        this.opts.logger.warn('ARI did not answer a ping; reconnecting');
        ws.terminate();
        return;
      }
      this.awaitingPong = true;
      ws.ping();
    }, this.opts.pingIntervalMs);
  }

  private backoff(): number {
    const min = this.opts.minBackoffMs ?? 500;
    const max = this.opts.maxBackoffMs ?? 30000;
    const exp = Math.min(max, min * 2 ** Math.min(this.failures - 1, 20));
    return Math.round(exp / 2 + (Math.random() * exp) / 2);
  }
}
