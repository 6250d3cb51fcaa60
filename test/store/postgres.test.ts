/**
 * The store contract on PostgreSQL, each test in a schema of its own (helpers/postgres.ts);
 * plus what only this backend does: several processes share one outbox.
 */
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { dropSchemas, freshSchema, postgresReady } from '../helpers/postgres.js';
import { account, event, storeContract, webhook } from './contract.js';

afterAll(dropSchemas);

describe.runIf(postgresReady)('on a PostgreSQL server', () => storeContract('PostgreSQL', async () => PostgresStore.open(await freshSchema())));

describe.runIf(postgresReady)('PostgreSQL store shared by several processes', () => {
  it('two stores on one database never hand out the same delivery, and keep each leg in order', async () => {
    const url = await freshSchema();
    const [a, b] = [await PostgresStore.open(url), await PostgresStore.open(url)];
    try {
      await a.createAccount(account('a1'));
      await a.createWebhook(webhook('h1', 'a1'));
      // the same events from both (two ingesting processes): stored once
      const batch = Array.from({ length: 40 }, (_, i) => ({ event: event(`e${i}`, `leg${i % 10}`), webhookIds: ['h1'] }));
      const stored = await Promise.all([a.insertEvents(batch), b.insertEvents(batch)]);
      expect(stored[0] + stored[1]).toBe(40);
      const now = Date.now() + 1000;
      const [x, y] = await Promise.all([a.claimDeliveries(now, 10, 60_000), b.claimDeliveries(now, 10, 60_000)]);
      const ids = [...x, ...y].map((d) => d.event_id);
      // one per leg (the first of each), none twice
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('migrates once when several processes start together', async () => {
    const url = await freshSchema();
    const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open(url)));
    await Promise.all(stores.map((s) => s.close()));
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query('SELECT version FROM schema_migrations');
    await c.end();
    expect(rows.map((r) => r.version)).toEqual([1, 2]);
  });

  it('a connection the server ends in the middle of a transaction fails that transaction, not the process', async () => {
    const app = `callhook_tx_${process.pid}`;
    const url = new URL(await freshSchema());
    url.searchParams.set('application_name', app);
    const store = await PostgresStore.open(url.toString());
    try {
      const tx = (store as unknown as { tx: (work: (c: pg.PoolClient) => Promise<void>) => Promise<void> }).tx.bind(store);
      const failed = tx(async (c) => {
        await c.query('SELECT 1');
        // between two statements, with no query running: the server ends the connection
        const admin = new pg.Client({ connectionString: url.toString().replace(app, 'callhook_test_admin') });
        await admin.connect();
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app]);
        await admin.end();
        await new Promise((r) => setTimeout(r, 300));
        await c.query('SELECT 1');
      });
      await expect(failed).rejects.toThrow();
      // the broken connection was discarded: the next calls get new ones
      await store.createAccount(account('a1'));
      expect((await store.listAccounts()).map((a) => a.id)).toEqual(['a1']);
    } finally {
      await store.close();
    }
  });

  it('refuses a database it cannot reach with a clear message', async () => {
    await expect(PostgresStore.open('postgres://nobody@127.0.0.1:1/none')).rejects.toThrow(
      /^DATABASE_URL: could not open the PostgreSQL store: .*ECONNREFUSED/,
    );
  });
});
