/** A whole callhook (startDaemon) on a temp data dir, talking to a fake ARI. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/daemon/config.js';
import { startDaemon, type Daemon } from '../../src/daemon/main.js';
import type { FakeAri } from './fake-ari.js';

export const ADMIN = 'admin-token-for-tests-0123456789';

export interface Running {
  daemon: Daemon;
  dataDir: string;
  api(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: any }>;
}

export async function runDaemon(ari: FakeAri, env: Record<string, string> = {}, dataDir = mkdtempSync(join(tmpdir(), 'callhook-daemon-'))): Promise<Running> {
  const config = loadConfig({
    CALLHOOK_DATA_DIR: dataDir,
    CALLHOOK_PORT: '0',
    CALLHOOK_ARI_URL: ari.url,
    CALLHOOK_ARI_USERNAME: ari.username,
    CALLHOOK_ARI_PASSWORD: ari.password,
    CALLHOOK_ALLOW_TARGETS: '127.0.0.0/8',
    CALLHOOK_ADMIN_TOKEN: ADMIN,
    CALLHOOK_RETRY_BASE_MS: '50',
    CALLHOOK_RETRY_MAX_MS: '200',
    CALLHOOK_POLL_MS: '50',
    CALLHOOK_PROBE_BASE_MS: '50',
    CALLHOOK_PROBE_MAX_MS: '200',
    ...env,
  });
  const daemon = await startDaemon(config, pino({ level: 'silent' }));
  const api: Running['api'] = async (method, path, token, body) => {
    const res = await fetch(daemon.url + path, {
      method,
      headers: { 'x-auth-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  return { daemon, dataDir, api };
}
