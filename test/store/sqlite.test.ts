import { describe, expect, it } from 'vitest';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { account, storeContract, webhook } from './contract.js';

storeContract('SQLite', async () => new SqliteStore(join(mkdtempSync(join(tmpdir(), 'callhook-store-')), 'callhook.db')));

describe('SQLite store on disk', () => {
  it('keeps everything across a reopen and does not re-run migrations', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'callhook-store-')), 'callhook.db');
    const a = new SqliteStore(file);
    await a.createAccount(account('a1'));
    await a.createWebhook(webhook('h1', 'a1'));
    await a.insertEvents([{ event: { id: 'e1', account_id: 'a1', hook_event: 'channel_create', leg: 'l', call_id: 'c', payload: '{}', created: 1 }, webhookIds: ['h1'] }]);
    await a.close();
    const b = new SqliteStore(file);
    expect(await b.getWebhook('a1', 'h1')).toBeDefined();
    expect(await b.claimDeliveries(Date.now() + 1000, 10, 1000)).toHaveLength(1);
    await b.close();
  });

  it('is owned by one process at a time: a second opener is refused until the first closes', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'callhook-store-')), 'callhook.db');
    const a = new SqliteStore(file);
    expect(() => new SqliteStore(file)).toThrow(/in use by another callhook process/);
    await a.close();
    const b = new SqliteStore(file);
    expect(await b.countPending()).toBe(0);
    await b.close();
  });

  it('copies the write-ahead log into the database file from its checkpointer thread', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'callhook-store-')), 'callhook.db');
    const store = new SqliteStore(file);
    await store.createAccount(account('a1'));
    await store.createWebhook(webhook('h1', 'a1'));
    const before = statSync(file).size;
    // about 2 MB: far below the writer's own checkpoint threshold (10 000 pages)
    const payload = JSON.stringify({ filler: 'x'.repeat(2000) });
    for (let b = 0; b < 10; b++) {
      const items = Array.from({ length: 100 }, (_, i) => ({
        event: { id: `e${b}-${i}`, account_id: 'a1', hook_event: 'channel_create', leg: `l${i}`, call_id: 'c', payload, created: 1 },
        webhookIds: ['h1'],
      }));
      await store.insertEvents(items);
    }
    const end = Date.now() + 5000;
    while (statSync(file).size < before + 2_000_000 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(statSync(file).size).toBeGreaterThan(before + 2_000_000);
    expect(await store.countPending()).toBe(1000);
    await store.close();
  });
});
