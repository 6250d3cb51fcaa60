/** The real process: `node dist/cli.js` as `npm start` runs it (dist is built by pretest). */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './helpers/net.js';

const CLI = new URL('../dist/cli.js', import.meta.url).pathname;

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // 'close' comes after stdout and stderr are read to the end
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const lines = () =>
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const waitFor = async (msg: string, count = 1, ms = 10000) => {
    const end = Date.now() + ms;
    while (lines().filter((l) => l.msg === msg).length < count) {
      if (Date.now() > end) throw new Error(`no "${msg}" in log:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { child, exited, lines, waitFor, stderr: () => err, stdout: () => out };
}

describe('callhook CLI', () => {
  it('starts with SQLite and no PBX, serves the API, keeps retrying ARI, stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'callhook-cli-'));
    const port = await freePort();
    const ariPort = await freePort();
    const p = start({
      CALLHOOK_DATA_DIR: dataDir,
      CALLHOOK_PORT: String(port),
      CALLHOOK_ARI_URL: `http://127.0.0.1:${ariPort}`,
      CALLHOOK_ARI_PASSWORD: 'pbx-secret',
    });
    await p.waitFor('callhook started');
    await p.waitFor('ARI not reachable; retrying', 2);

    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    expect(statSync(join(dataDir, 'admin-token')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'callhook.db')).isFile()).toBe(true);
    const generated = p.lines().filter((l) => l.admin_token === token);
    expect(generated).toHaveLength(1);

    const health = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.json());
    expect(health).toMatchObject({ status: 'ok', ari: expect.stringMatching(/connecting|disconnected/) });
    const acct = await fetch(`http://127.0.0.1:${port}/api/v1/accounts`, {
      method: 'POST',
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { id: 'acme', name: 'Acme' } }),
    });
    expect(acct.status).toBe(201);

    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.lines().at(-1)!.msg).toBe('callhook stopped');
    expect(p.stdout()).not.toContain('pbx-secret');

    // a second start reuses the stored admin token and logs no new one
    const again = start({ CALLHOOK_DATA_DIR: dataDir, CALLHOOK_PORT: String(port), CALLHOOK_ARI_URL: `http://127.0.0.1:${ariPort}` });
    await again.waitFor('callhook started');
    expect(again.lines().some((l) => 'admin_token' in l)).toBe(false);
    const list = await fetch(`http://127.0.0.1:${port}/api/v1/accounts`, { headers: { 'x-auth-token': token } });
    expect(list.status).toBe(200);
    // one process owns the data dir: a second one at the same time is refused, the first runs on
    const third = start({ CALLHOOK_DATA_DIR: dataDir, CALLHOOK_PORT: String(await freePort()), CALLHOOK_ARI_URL: `http://127.0.0.1:${ariPort}` });
    expect(await third.exited).toBe(1);
    expect(third.lines().at(-1)).toMatchObject({
      msg: 'callhook could not start',
      err: { message: expect.stringContaining('in use by another callhook process') },
    });
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    again.child.kill('SIGINT');
    expect(await again.exited).toBe(0);
  });

  it('refuses bad configuration with exit code 2 and names the variable', async () => {
    const p = start({ CALLHOOK_PORT: 'http' });
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toMatch(/^callhook: configuration error: CALLHOOK_PORT: /);
  });
});
