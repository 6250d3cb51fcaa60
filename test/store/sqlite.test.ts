import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
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
});
