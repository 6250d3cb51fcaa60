/**
 * A real callhook process against hostile clients (bounded in count and time, loopback only):
 * a flood of slow connections, a client holding a body open at shutdown, file modes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './helpers/net.js';

const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const ADMIN = 'admin-token-for-hardening-tests-0123';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];
const sockets: Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** callhook under `umask 022`, as most shells run it */
async function callhook(env: Record<string, string>) {
  const port = await freePort();
  const dataDir = env.CALLHOOK_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'callhook-hard-'));
  const child = spawn('sh', ['-c', `umask 022 && exec "${process.execPath}" "${CLI}"`], {
    env: {
      PATH: process.env.PATH ?? '',
      CALLHOOK_PORT: String(port),
      CALLHOOK_DATA_DIR: dataDir,
      CALLHOOK_ARI_URL: `http://127.0.0.1:${await freePort()}`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  for (
    let i = 0;
    !(await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  ) {
    if (i > 500) throw new Error(`callhook did not start:\n${out}`);
    await sleep(10);
  }
  return { port, dataDir, child, exited, log: () => out };
}

const open = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => undefined);
    s.once('error', reject);
    sockets.push(s);
  });

describe('a flood of slow clients', () => {
  it('600 connections trickling their headers: /health keeps answering, the slow ones are closed, nothing runs out', async () => {
    const c = await callhook({ CALLHOOK_ADMIN_TOKEN: ADMIN, CALLHOOK_API_MAX_CONNECTIONS: '100', CALLHOOK_API_HEADERS_TIMEOUT_MS: '2000', LOG_LEVEL: 'warn' });
    const slow: Socket[] = [];
    for (let i = 0; i < 600; i++) {
      const s = await open(c.port);
      s.write('GET /api/v1/accounts HTTP/1.1\r\nHost: x\r\n');
      slow.push(s);
    }
    const trickle = setInterval(() => slow.forEach((s) => !s.destroyed && s.write('X-Slow: 1\r\n')), 300);
    try {
      // /health answers all the while (a new connection pushes out the oldest slow one)
      for (let i = 0; i < 20; i++) {
        const r = await fetch(`http://127.0.0.1:${c.port}/health`, { signal: AbortSignal.timeout(2000) });
        expect(r.status).toBe(200);
        await sleep(100);
      }
      // the header timeout closes the rest
      await sleep(3500);
      const stillOpen = slow.filter((s) => !s.destroyed && !s.readableEnded).length;
      expect(stillOpen).toBe(0);
    } finally {
      clearInterval(trickle);
    }
    const health = await (await fetch(`http://127.0.0.1:${c.port}/health`)).json();
    expect(health.status).toBe('ok');
  }, 30_000);
});

describe('shutdown', () => {
  it('SIGTERM while a client holds a request body open: stopped within the grace period and a few seconds', async () => {
    const c = await callhook({ CALLHOOK_ADMIN_TOKEN: ADMIN, CALLHOOK_SHUTDOWN_GRACE_MS: '1000', LOG_LEVEL: 'info' });
    const s = await open(c.port);
    s.write(`POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${ADMIN}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"data":`);
    const trickle = setInterval(() => !s.destroyed && s.write(' '), 100);
    await sleep(300);
    const t0 = Date.now();
    c.child.kill('SIGTERM');
    const code = await c.exited;
    clearInterval(trickle);
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(c.log()).toContain('callhook stopped');
  });
});

describe('file modes', () => {
  it('under umask 022: the data directory 0700, the database files 0600; a readable admin-token is narrowed with a warning', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'callhook-modes-')), 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'admin-token'), `${ADMIN}\n`, { mode: 0o644 });
    chmodSync(join(dataDir, 'admin-token'), 0o644);
    const c = await callhook({ CALLHOOK_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    // a write, so that the log files exist
    const r = await fetch(`http://127.0.0.1:${c.port}/api/v1/accounts`, {
      method: 'POST',
      headers: { 'x-auth-token': ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { id: 'acme', name: 'Acme' } }),
    });
    expect(r.status).toBe(201);
    const mode = (f: string) => statSync(join(dataDir, f)).mode & 0o777;
    expect(mode('.')).toBe(0o700);
    for (const f of ['callhook.db', 'callhook.db-wal', 'callhook.db-shm', 'callhook.db.lock', 'admin-token']) expect([f, mode(f)]).toEqual([f, 0o600]);
    expect(c.log()).toContain('narrowed the permissions of a file that others could read');
    c.child.kill('SIGTERM');
    expect(await c.exited).toBe(0);
  });
});
