import { describe, expect, it } from 'vitest';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Worker } from 'node:worker_threads';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { account, attempt, event, storeContract, webhook } from './contract.js';

storeContract('SQLite', async () => new SqliteStore(join(mkdtempSync(join(tmpdir(), 'callhook-store-')), 'callhook.db')));

describe('SQLite store on disk', () => {
  it('keeps everything across a reopen and does not re-run migrations', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'callhook-store-')), 'callhook.db');
    const a = new SqliteStore(file);
    await a.createAccount(account('a1'));
    await a.createWebhook(webhook('h1', 'a1'));
    await a.insertEvents([
      { event: { id: 'e1', account_id: 'a1', hook_event: 'channel_create', leg: 'l', call_id: 'c', payload: '{}', created: 1 }, webhookIds: ['h1'] },
    ]);
    await a.close();
    const b = new SqliteStore(file);
    expect(await b.getWebhook('a1', 'h1')).toBeDefined();
    expect(await b.claimDeliveries(Date.now() + 1000, 10, 1000)).toHaveLength(1);
    await b.close();
  });

  it('migrates a store of migration 4 with pending deliveries: the first one of each leg is claimable, the rest wait', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'callhook-store-')), 'callhook.db');
    const old = new Database(file);
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)');
    SQLITE_MIGRATIONS.slice(0, 4).forEach((sql, i) => {
      old.exec(sql);
      old.prepare('INSERT INTO schema_migrations (version, applied) VALUES (?, 1)').run(i + 1);
    });
    old.exec(`
      INSERT INTO accounts (id, name, accountcodes, numbers, created, updated) VALUES ('a1', 'a1', '[]', '[]', 1, 1);
      INSERT INTO webhooks (id, account_id, name, uri, hook, http_verb, format, retries, enabled, custom_data, headers, include_internal_legs, include_subaccounts, secret, created, updated)
        VALUES ('h1', 'a1', 'h1', 'http://127.0.0.1:9/', 'all', 'post', 'json', 2, 1, '{}', '{}', 0, 0, 'whsec_x', 1, 1);
      INSERT INTO events (id, account_id, hook_event, leg, call_id, payload, created) VALUES
        ('e1', 'a1', 'channel_create', 'legA', 'c', '{}', 1), ('e2', 'a1', 'channel_answer', 'legA', 'c', '{}', 2),
        ('e3', 'a1', 'channel_create', 'legB', 'c', '{}', 3), ('e0', 'a1', 'channel_create', 'legB', 'c', '{}', 0);
      INSERT INTO deliveries (id, event_id, webhook_id, leg, status, tries, next_at, created, updated) VALUES
        ('d0', 'e0', 'h1', 'legB', 'succeeded', 1, 0, 0, 0), ('d1', 'e1', 'h1', 'legA', 'pending', 0, 1, 1, 1),
        ('d2', 'e2', 'h1', 'legA', 'pending', 0, 2, 2, 2), ('d3', 'e3', 'h1', 'legB', 'pending', 0, 3, 3, 3);
    `);
    old.close();
    const store = new SqliteStore(file);
    expect((await store.claimDeliveries(Date.now(), 10, 60_000)).map((d) => d.id)).toEqual(['d1', 'd3']);
    const now = Date.now();
    await store.recordAttempts([{ attempt: attempt('d1', now), update: { id: 'd1', status: 'succeeded', tries: 1, next_at: now, last_error: null } }]);
    expect((await store.claimDeliveries(now, 10, 60_000)).map((d) => d.id)).toEqual(['d2']);
    await store.close();
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

  it('counts pending deliveries on the checkpointer thread, and on its own connection once that thread is gone', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'callhook-store-')), 'callhook.db');
    const store = new SqliteStore(file);
    await store.createAccount(account('a1'));
    await store.createWebhook(webhook('h1', 'a1'));
    const add = (from: number, n: number) =>
      store.insertEvents(Array.from({ length: n }, (_, i) => ({ event: event(`e${from + i}`, `l${from + i}`), webhookIds: ['h1'] })));
    await add(0, 3);
    // asked together, answered each by its own number; what was just committed is counted
    expect(await Promise.all([store.countPending(), store.countPending()])).toEqual([3, 3]);
    await add(3, 2);
    expect(await store.countPending()).toBe(5);
    const worker = (store as unknown as { checkpointer: Worker }).checkpointer;
    const oldest = await store.oldestPending();
    expect(oldest).toBeGreaterThan(0);
    await worker.terminate();
    await add(5, 1);
    expect(await store.countPending()).toBe(6);
    expect(await store.oldestPending()).toBe(oldest);
    await store.close();
  });
});
