/** buildApp() on a fresh SQLite store, for app.inject() tests. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { AccountDirectory } from '../../src/calls/account.js';

export const ADMIN = 'admin-token-for-tests-0123456789';

export interface TestApi {
  app: FastifyInstance;
  store: SqliteStore;
  call(method: InjectOptions['method'], url: string, token?: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** creates an account as admin and returns its token */
  account(id: string, extra?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export async function testApi(): Promise<TestApi> {
  const store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'callhook-api-')), 'callhook.db'));
  const app = await buildApp({ store, accounts: new AccountDirectory(), adminToken: ADMIN, logger: pino({ level: 'silent' }) });
  const call: TestApi['call'] = async (method, url, token, body) => {
    const res = await app.inject({
      method,
      url,
      headers: token ? { 'x-auth-token': token } : {},
      ...(body === undefined
        ? {}
        : typeof body === 'string'
          ? { payload: body, headers: { 'x-auth-token': token ?? '', 'content-type': 'application/json' } }
          : { payload: body as object }),
    });
    return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : undefined };
  };
  return {
    app,
    store,
    call,
    account: async (id, extra = {}) => {
      const r = await call('POST', '/api/v1/accounts', ADMIN, { data: { id, name: id, ...extra } });
      if (r.status !== 201) throw new Error(JSON.stringify(r.json));
      return r.json.data.auth_token as string;
    },
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}
