/**
 * Sends one webhook request with undici's dispatcher API (no response stream: the first bytes
 * of the body are kept, the rest is not read): keep-alive pool, connect + total timeouts,
 * guarded targets.
 */
import { Agent, type Dispatcher } from 'undici';
import { isIP } from 'node:net';
import type { EncodedRequest } from './encode.js';
import type { TargetGuard } from './guard.js';
import { signatureHeaders } from './sign.js';

export interface HttpResult {
  status: number | undefined;
  retryAfter: string | undefined;
  /** first bytes of the response body (attempt log) */
  body: string;
  /** why the request failed without a status */
  error: string | undefined;
  durationMs: number;
}

/** what a request is signed with (Standard Webhooks): the webhook's secrets and the message id */
export interface Signing {
  secrets: string[];
  id: string;
}

export interface Sender {
  /** sends one request; with `sign` it carries the signature headers, timestamped as it goes out */
  send(req: EncodedRequest, headers: Record<string, string>, sign?: Signing): Promise<HttpResult>;
  close(): Promise<void>;
}

const BODY_KEEP = 1024;

/** a webhook URL split for the dispatcher, with what the guard says of its host if it is an IP */
interface Target {
  origin: string;
  path: string;
  blocked: string | undefined;
}

export class HttpSender implements Sender {
  private readonly agent: Agent;
  /** the few URLs webhooks have, parsed once */
  private readonly targets = new Map<string, Target>();

  constructor(private readonly opts: { connectTimeoutMs: number; timeoutMs: number; guard: TargetGuard; connections: number }) {
    this.agent = new Agent({
      connect: { timeout: opts.connectTimeoutMs, lookup: opts.guard.lookup },
      connections: opts.connections,
      keepAliveTimeout: 10_000,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
  }

  private target(url: string): Target {
    let t = this.targets.get(url);
    if (!t) {
      const u = new URL(url);
      const host = u.hostname.replace(/^\[|\]$/g, '');
      t = { origin: u.origin, path: u.pathname + u.search, blocked: isIP(host) ? this.opts.guard.check(host) : undefined };
      if (this.targets.size >= 1000) this.targets.clear();
      this.targets.set(url, t);
    }
    return t;
  }

  send(req: EncodedRequest, headers: Record<string, string>, sign?: Signing): Promise<HttpResult> {
    const started = performance.now();
    return new Promise((resolve) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined = undefined;
      const finish = (r: Omit<HttpResult, 'durationMs'>) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({ ...r, durationMs: Math.round(performance.now() - started) });
      };
      const target = this.target(req.url);
      if (target.blocked) return finish({ status: undefined, retryAfter: undefined, body: '', error: target.blocked });

      let status: number | undefined;
      let retryAfter: string | undefined;
      let body = '';
      let controller: Dispatcher.DispatchController | undefined;
      let timedOut = false;
      timer = setTimeout(() => {
        timedOut = true;
        controller?.abort(new Error('timeout'));
      }, this.opts.timeoutMs);
      const failed = (err: Error) => {
        // a receiver that sends more than we keep: its answer is in, the rest is not read
        if (status !== undefined && body.length >= BODY_KEEP) return finish({ status, retryAfter, body, error: undefined });
        const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
        const reason = timedOut
          ? `timeout after ${this.opts.timeoutMs} ms`
          : [e.code ?? e.cause?.code, e.cause?.message ?? e.message].filter(Boolean).join(': ');
        finish({ status: undefined, retryAfter: undefined, body: '', error: reason || 'request failed' });
      };
      try {
        this.agent.dispatch(
          {
            origin: target.origin,
            path: target.path,
            method: req.method,
            headers: {
              ...headers,
              ...(req.contentType && { 'content-type': req.contentType }),
              ...(sign && signatureHeaders(sign.secrets, sign.id, Math.floor(Date.now() / 1000), req.signed)),
            },
            body: req.body,
          },
          {
            onRequestStart: (c) => {
              controller = c;
              if (timedOut) c.abort(new Error('timeout'));
            },
            onResponseStart: (_c, statusCode, h) => {
              status = statusCode;
              const ra = h['retry-after'];
              retryAfter = Array.isArray(ra) ? ra[0] : ra;
            },
            onResponseData: (c, chunk) => {
              body += chunk.toString('utf8');
              if (body.length >= BODY_KEEP) {
                body = body.slice(0, BODY_KEEP);
                c.abort(new Error('response body not read past its first bytes'));
              }
            },
            onResponseEnd: () => finish({ status, retryAfter, body, error: undefined }),
            onResponseError: (_c, err) => failed(err),
          },
        );
      } catch (err) {
        failed(err as Error);
      }
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
