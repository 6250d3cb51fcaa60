/** API tokens: random, shown once, stored as SHA-256 hashes, compared in constant time. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../shared/errors.js';
import type { Store } from '../store/store.js';
import type { AccountDirectory } from '../calls/account.js';
import { WindowLimiter } from './limiter.js';

export type Principal = { admin: true } | { admin: false; accountId: string };

/** who may call a route: the admin token, a token of the route's :account_id (or an ancestor's, or admin), any valid token, or anyone */
export type Access = 'admin' | 'account' | 'token' | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

function tokenOf(req: FastifyRequest): string | undefined {
  const header = req.headers['x-auth-token'];
  const direct = Array.isArray(header) ? header[0] : header;
  if (direct) return direct.trim();
  const auth = req.headers.authorization;
  const m = auth ? /^Bearer\s+(.+)$/i.exec(auth) : null;
  return m?.[1]?.trim();
}

export class Auth {
  /** failed authentications per client address and minute */
  private readonly failures: WindowLimiter;

  constructor(
    private readonly store: Pick<Store, 'findToken'>,
    private readonly accounts: AccountDirectory,
    private readonly adminHash: string,
    /** reads the accounts again from the store (another process sharing it may have added one) */
    private readonly reload: () => Promise<void>,
    failuresPerMinute = 20,
  ) {
    this.failures = new WindowLimiter(failuresPerMinute, 60_000);
  }

  async principal(req: FastifyRequest): Promise<Principal> {
    const now = Date.now();
    const wait = this.failures.blockedFor(req.ip, now);
    if (wait > 0) throw new AppError('rate_limited', 'too many failed authentications from this address; try again later', { retryAfterSec: wait / 1000 });
    const token = tokenOf(req);
    if (!token) throw new AppError('unauthorized', 'missing X-Auth-Token (or Authorization: Bearer) header');
    const hash = hashToken(token);
    if (sameHash(hash, this.adminHash)) return { admin: true };
    const found = await this.store.findToken(hash);
    if (!found) {
      // the token itself is never logged
      const tripped = this.failures.hit(req.ip, now);
      req.log[tripped ? 'warn' : 'info'](
        { client: req.ip, url: req.url.split('?')[0] },
        tripped ? 'failed authentications: this address is blocked for a minute' : 'failed authentication',
      );
      throw new AppError('unauthorized', 'invalid credentials');
    }
    return { admin: false, accountId: found.account_id };
  }

  async admin(req: FastifyRequest): Promise<void> {
    const p = await this.principal(req);
    if (!p.admin) throw new AppError('forbidden', 'this needs the admin token');
  }

  /** The caller may act on an account: admin, the account itself, or an ancestor account. */
  async account(req: FastifyRequest, accountId: string): Promise<Principal> {
    const p = await this.principal(req);
    const allowed = () => this.accounts.get(accountId) !== undefined && (p.admin || this.accounts.lineage(accountId).includes(p.accountId));
    // not in this process's directory: perhaps just created through another process's API
    if (!allowed()) await this.reload();
    if (p.admin) {
      if (!allowed()) throw new AppError('not_found', `account ${accountId} not found`);
      return p;
    }
    if (!allowed()) {
      throw new AppError('forbidden', 'this token does not grant access to this account');
    }
    return p;
  }
}

/**
 * Auth as a hook: every route declares its `config.access`, and the check runs on request,
 * before the body is read, so an unauthenticated client never gets its body parsed.
 */
export function authHook(app: FastifyInstance, auth: Auth): void {
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    if (!route.config?.access) throw new Error(`route ${String(route.method)} ${route.url} declares no access`);
  });
  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config.access;
    if (access === 'admin') {
      await auth.admin(req);
      req.principal = { admin: true };
    } else if (access === 'account') {
      req.principal = await auth.account(req, (req.params as { account_id: string }).account_id);
    } else if (access === 'token') {
      req.principal = await auth.principal(req);
    }
  });
}
