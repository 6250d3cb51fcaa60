/**
 * ARI client on `ws` + `undici`: one websocket on /ari/events with subscribeAll, kept alive
 * with pings, reconnected forever with capped backoff. A frame that is not ARI JSON is logged
 * and skipped; an exception thrown by the event handler is logged and never closes the socket.
 * A frame larger than `maxFrameBytes` is never read into memory: it is logged and the
 * connection reopened. The URL's userinfo (user:password@) is never used nor logged.
 */
import WebSocket from 'ws';
import { request } from 'undici';
import type { Logger } from 'pino';
import { parseAriFrame, type AriEvent } from './events.js';
import { AppError } from '../shared/errors.js';

export interface AriClientOptions {
  url: string;
  username: string;
  password: string;
  app: string;
  pingIntervalMs: number;
  /** largest websocket frame accepted (default 1 MiB); REST answers may be 64 times that */
  maxFrameBytes?: number;
  logger: Logger;
  onEvent: (event: AriEvent) => void;
  onConnected?: () => void;
  /** reconnect backoff bounds (ms) */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** counts reconnects (src/metrics/) */
  metrics?: AriMetrics;
}

export interface AriMetrics {
  /** the connection was lost, or a try to connect failed: another try follows */
  reconnect(): void;
}

export type AriState = 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface AsteriskInfo {
  system?: { version?: string; entity_id?: string };
  status?: { startup_time?: string; last_reload_time?: string };
}

const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

/** a URL as it may be logged: without its userinfo (user:password@) */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.href;
  } catch {
    // not a URL: drop whatever stands between "//" and the last "@" before the path
    return url.replace(/^([^/?#]*\/\/)[^/?#]*@/, '$1').replace(/^[^/?#@]*@/, '');
  }
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
  /** the ARI URL as it is logged */
  private readonly shownUrl: string;
  private readonly maxFrameBytes: number;

  constructor(private readonly opts: AriClientOptions) {
    this.base = new URL(opts.url);
    const userinfo = Boolean(this.base.username || this.base.password);
    this.base.username = '';
    this.base.password = '';
    this.shownUrl = this.base.href;
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.auth = 'Basic ' + Buffer.from(`${opts.username}:${opts.password}`).toString('base64');
    if (userinfo) {
      opts.logger.warn(
        { ari: this.shownUrl },
        'the ARI URL carries a user and password: ignored, CALLHOOK_ARI_USERNAME and CALLHOOK_ARI_PASSWORD authenticate',
      );
    }
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

  /** GET /ari/asterisk/info: JSON of any shape, as Asterisk answered (reconcile checks it) */
  getInfo(): Promise<unknown> {
    return this.rest('/ari/asterisk/info');
  }

  /** GET /ari/channels: JSON of any shape, meant to be a list of AriChannel (reconcile checks each) */
  listChannels(): Promise<unknown> {
    return this.rest('/ari/channels');
  }

  /** GET /ari/bridges: JSON of any shape, meant to be a list of bridges (the tracker checks each) */
  listBridges(): Promise<unknown> {
    return this.rest('/ari/bridges');
  }

  private async rest(path: string): Promise<unknown> {
    const url = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
    const res = await request(url, {
      headers: { authorization: this.auth, accept: 'application/json' },
      headersTimeout: 5000,
      bodyTimeout: 5000,
    });
    // a channel list is a few KB per live channel: 64 frames' worth is far more than any PBX has
    const limit = 64 * this.maxFrameBytes;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        res.body.destroy();
        throw new AppError('internal', `ARI ${path} answered more than ${limit} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    if (res.statusCode !== 200) {
      throw new AppError('internal', `ARI ${path} answered ${res.statusCode}`);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    } catch {
      throw new AppError('internal', `ARI ${path} answered something that is not JSON`);
    }
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
      maxPayload: this.maxFrameBytes,
    });
    this.ws = ws;
    let failure: string | undefined;

    ws.on('open', () => {
      if (this.state === 'closed') return;
      this.state = 'connected';
      log.info({ ari: this.shownUrl, app: this.opts.app, after_failures: this.failures }, 'ARI connected');
      this.failures = 0;
      this.startPing(ws);
      this.opts.onConnected?.();
    });
    ws.on('unexpected-response', (_req, res) => {
      failure = res.statusCode === 401 ? 'ARI refused the username/password (401)' : `ARI answered HTTP ${res.statusCode}`;
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
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        // ws read only the frame's header: drop the connection rather than read on
        failure = `a frame larger than ${this.maxFrameBytes} bytes`;
        log.warn({ max_frame_bytes: this.maxFrameBytes }, 'ARI sent a frame larger than CALLHOOK_ARI_MAX_FRAME_BYTES; dropped it and reconnecting');
        ws.terminate();
        return;
      }
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
        { ari: this.shownUrl, code, reason: failure, attempt: this.failures, retry_in_ms: delay },
        wasConnected ? 'ARI connection lost; reconnecting' : 'ARI not reachable; retrying',
      );
      this.opts.metrics?.reconnect();
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
