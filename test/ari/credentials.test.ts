/** A password in CALLHOOK_ARI_URL never shows in the log of a whole callhook (start, connect, reconnect). */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/daemon/config.js';
import { startDaemon, type Daemon } from '../../src/daemon/main.js';
import { FakeAri } from '../helpers/fake-ari.js';

let ari: FakeAri | undefined;
let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.close();
  await ari?.close();
  daemon = ari = undefined;
});

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('credentials in CALLHOOK_ARI_URL', () => {
  it('are never logged, neither in "callhook started" nor at (re)connects', async () => {
    ari = await FakeAri.start();
    const lines: Record<string, unknown>[] = [];
    const raw: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        raw.push(chunk.toString());
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    });
    const config = loadConfig({
      CALLHOOK_DATA_DIR: mkdtempSync(join(tmpdir(), 'callhook-cred-')),
      CALLHOOK_PORT: '0',
      CALLHOOK_ARI_URL: `http://admin:hunter2-in-url@127.0.0.1:${ari.port}`,
      CALLHOOK_ARI_USERNAME: ari.username,
      CALLHOOK_ARI_PASSWORD: ari.password,
      CALLHOOK_ADMIN_TOKEN: 'admin-token-for-tests-0123456789',
    });
    daemon = await startDaemon(config, pino({ level: 'debug' }, stream));
    await ari.waitForClient();
    ari.dropClients();
    await ari.waitForConnections(2);
    await until(() => lines.filter((l) => l.msg === 'ARI connected').length === 2);

    const started = lines.find((l) => l.msg === 'callhook started');
    expect(started?.ari).toBe(`http://127.0.0.1:${ari.port}/`);
    expect(lines.some((l) => l.msg === 'ARI connection lost; reconnecting')).toBe(true);
    const all = raw.join('');
    expect(all).not.toContain('hunter2-in-url');
    expect(all).not.toContain('admin:');
  });
});
