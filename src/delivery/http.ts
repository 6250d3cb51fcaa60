/** Sends one webhook request with undici: keep-alive pool, connect + total timeouts, guarded targets. */
import { Agent, request } from 'undici';
import { isIP } from 'node:net';
import type { EncodedRequest } from '../events/encode.js';
import type { TargetGuard } from './guard.js';

export interface HttpResult {
  status: number | undefined;
  retryAfter: string | undefined;
  /** first bytes of the response body (attempt log) */
  body: string;
  /** why the request failed without a status */
  error: string | undefined;
  durationMs: number;
}

export interface Sender {
  send(req: EncodedRequest, headers: Record<string, string>): Promise<HttpResult>;
  close(): Promise<void>;
}

const BODY_KEEP = 1024;

export class HttpSender implements Sender {
  private readonly agent: Agent;

  constructor(
    private readonly opts: { connectTimeoutMs: number; timeoutMs: number; guard: TargetGuard; connections: number },
  ) {
    this.agent = new Agent({
      connect: { timeout: opts.connectTimeoutMs, lookup: opts.guard.lookup },
      connections: opts.connections,
      keepAliveTimeout: 10_000,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
  }

  async send(req: EncodedRequest, headers: Record<string, string>): Promise<HttpResult> {
    const started = performance.now();
    const done = (r: Omit<HttpResult, 'durationMs'>): HttpResult => ({ ...r, durationMs: Math.round(performance.now() - started) });
    const host = new URL(req.url).hostname.replace(/^\[|\]$/g, '');
    const blocked = isIP(host) ? this.opts.guard.check(host) : undefined;
    if (blocked) return done({ status: undefined, retryAfter: undefined, body: '', error: blocked });
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    try {
      const res = await request(req.url, {
        method: req.method,
        headers: req.contentType ? { ...headers, 'content-type': req.contentType } : headers,
        body: req.body,
        dispatcher: this.agent,
        signal,
      });
      let body = '';
      // keep the first bytes for the attempt log; stop reading a receiver that sends more
      for await (const chunk of res.body) {
        body += (chunk as Buffer).toString('utf8');
        if (body.length >= BODY_KEEP) break;
      }
      const ra = res.headers['retry-after'];
      return done({
        status: res.statusCode,
        retryAfter: Array.isArray(ra) ? ra[0] : ra,
        body: body.slice(0, BODY_KEEP),
        error: undefined,
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
      const reason = signal.aborted
        ? `timeout after ${this.opts.timeoutMs} ms`
        : [e.code ?? e.cause?.code, e.cause?.message ?? e.message].filter(Boolean).join(': ');
      return done({ status: undefined, retryAfter: undefined, body: '', error: reason || 'request failed' });
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
