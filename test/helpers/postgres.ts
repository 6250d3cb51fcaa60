/**
 * A schema of its own in the test database for each PostgreSQL test (CALLHOOK_TEST_DATABASE_URL,
 * else the local `test` database), dropped at the end. Without a reachable server the tests
 * are skipped, except in CI (CI=true), where .ci/run provides one and they must run.
 */
import pg from 'pg';

const BASE = process.env.CALLHOOK_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const created: string[] = [];

async function withClient<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: BASE, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** true when the tests can run: the server answers, or this is CI (where they must) */
export const postgresReady: boolean = process.env.CI === 'true' || (await withClient(async () => true).catch(() => false));

/** a fresh schema, and a URL whose connections use it */
export async function freshSchema(): Promise<string> {
  const schema = `callhook_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  await withClient((c) => c.query(`CREATE SCHEMA ${schema}`));
  created.push(schema);
  const url = new URL(BASE);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** drops the schemas this test file made */
export async function dropSchemas(): Promise<void> {
  const schemas = created.splice(0);
  if (schemas.length > 0) await withClient((c) => c.query(`DROP SCHEMA ${schemas.join(', ')} CASCADE`));
}
