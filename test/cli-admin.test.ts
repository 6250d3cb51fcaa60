/**
 * The admin commands as real processes (`node dist/cli.js …`, built by pretest): on SQLite in a
 * temp data dir and on PostgreSQL, against the daemon's own store; `replay` against an
 * in-process run of the pipeline; the pretty log format.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { SQLITE_MIGRATIONS } from '../src/store/sqlite/migrations.js';
import { AccountDirectory } from '../src/calls/account.js';
import { CallTracker } from '../src/calls/tracker.js';
import { Ingest } from '../src/pipeline/ingest.js';
import { formEncode } from '../src/delivery/encode.js';
import type { AriEvent } from '../src/ari/events.js';
import type { StoredEvent } from '../src/store/store.js';
import { freePort } from './helpers/net.js';
import { FakeAri, loadFixture } from './helpers/fake-ari.js';
import { ADMIN, runDaemon } from './helpers/daemon.js';
import { dropSchemas, freshSchema, postgresReady } from './helpers/postgres.js';

const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  json: any;
}

/** one `callhook …` to its end */
function cli(args: string[], env: Record<string, string>): Promise<Result> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    }),
  );
}

/** the daemon as a real process, until it logged that it started */
async function daemon(env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const waitFor = async (text: string, ms = 15000) => {
    for (const end = Date.now() + ms; !out.includes(text); await new Promise((r) => setTimeout(r, 25))) {
      if (Date.now() > end) throw new Error(`no "${text}" in:\n${out}`);
    }
  };
  await waitFor('callhook started');
  return {
    output: () => out,
    waitFor,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

const sqliteEnv = () => ({ CALLHOOK_DATA_DIR: mkdtempSync(join(tmpdir(), 'callhook-cli-admin-')), CALLHOOK_ARI_URL: 'http://127.0.0.1:1' });

describe('every command has --help (exit 0) and refuses bad usage with exit code 2', () => {
  const commands = [
    [],
    ['start'],
    ['accounts'],
    ['accounts', 'create'],
    ['accounts', 'list'],
    ['accounts', 'delete'],
    ['tokens', 'create'],
    ['tokens', 'list'],
    ['tokens', 'revoke'],
    ['webhooks', 'list'],
    ['webhooks', 'enable'],
    ['webhooks', 'disable'],
    ['deliveries', 'recover'],
    ['migrate'],
    ['replay'],
  ];
  it.each(commands)('callhook %s --help', async (...words) => {
    const r = await cli([...words, '--help'], sqliteEnv());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: callhook/);
  });

  it.each([
    [['bogus'], /unknown command 'bogus'/],
    [['accounts', 'create'], /missing required argument 'id'/],
    [['accounts', 'create', 'acme', 'Acme', '--colour', 'red'], /unknown option '--colour'/],
    [['accounts', 'create', 'not valid!', 'Acme'], /invalid data\n\s+id: Use 1-64 letters/],
    [['tokens', 'revoke', 'acme'], /missing required argument 'token-id'/],
    [['deliveries', 'recover', 'acme'], /required option '--since <time>'/],
    [['deliveries', 'recover', 'acme', '--since', 'last tuesday'], /--since: expected seconds/],
    [['replay'], /missing required argument 'file'/],
    [['replay', join(FIXTURES, 'busy.jsonl')], /replay needs --account ID/],
    [['replay', join(FIXTURES, 'busy.jsonl'), '--account', 'acme', '--format', 'xml'], /argument 'xml' is invalid. Allowed choices are json, form-data/],
    [['replay', join(FIXTURES, 'busy.jsonl'), '--account', 'acme', '--custom-data', '[1]'], /--custom-data: expected a JSON object/],
  ])('callhook %j', async (args, message) => {
    const r = await cli(args, sqliteEnv());
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });

  it('a configuration error is one too, as for the daemon', async () => {
    const r = await cli(['accounts', 'list'], { ...sqliteEnv(), CALLHOOK_LOG_FORMAT: 'xml' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^callhook: configuration error: CALLHOOK_LOG_FORMAT: /);
  });
});

describe('on SQLite (the data directory)', () => {
  it('accounts create|list|delete, as the API makes them, in text and JSON', async () => {
    const env = sqliteEnv();
    const created = await cli(
      ['accounts', 'create', 'acme', 'Acme Inc', '--realm', 'acme.example', '--accountcode', 'acme', '--number', '15550001,15550002', '--number', '15550003'],
      env,
    );
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^created account acme \(Acme Inc\)\ntoken [0-9a-f]{32}: \S{43}\n$/);
    const child = await cli(['accounts', 'create', 'acme-east', 'Acme East', '--parent', 'acme', '--json'], env);
    expect(child.json).toMatchObject({ id: 'acme-east', parent_id: 'acme', realm: null, auth_token: expect.any(String), token_id: expect.any(String) });

    // the API's checks: the id is taken, a DID belongs to one account, the parent must exist
    expect(await cli(['accounts', 'create', 'acme', 'Again'], env)).toMatchObject({ code: 1, stderr: 'callhook: account acme already exists\n' });
    const taken = await cli(['accounts', 'create', 'globex', 'Globex', '--number', '+1 555 000 3', '--parent', 'nobody'], env);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('numbers: Number +1 555 000 3 already belongs to account acme');
    expect(taken.stderr).toContain('parent_id: Value must be the id of another existing account');

    const text = await cli(['accounts', 'list'], env);
    expect(text.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+REALM\s+PARENT\s+ACCOUNTCODES\s+NUMBERS\s+CREATED$/);
    expect(text.stdout).toMatch(/\nacme\s+Acme Inc\s+acme\.example\s+-\s+acme\s+15550001,15550002,15550003\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\n/);
    const list = await cli(['accounts', 'list', '--json'], env);
    expect(list.json.map((a: { id: string }) => a.id)).toEqual(['acme', 'acme-east']);
    expect(list.json[0]).toMatchObject({ numbers: ['15550001', '15550002', '15550003'], accountcodes: ['acme'], created: expect.any(Number) });

    expect(await cli(['accounts', 'delete', 'acme-east'], env)).toMatchObject({ code: 0, stdout: 'deleted account acme-east\n' });
    expect(await cli(['accounts', 'delete', 'acme-east', '--json'], env)).toMatchObject({ code: 1, stderr: 'callhook: account acme-east not found\n' });
    expect((await cli(['accounts', 'list', '--json'], env)).json).toHaveLength(1);
  });

  it('tokens create|list|revoke: shown once, stored hashed, and they open the daemon API', async () => {
    const env = sqliteEnv();
    await cli(['accounts', 'create', 'acme', 'Acme'], env);
    const made = await cli(['tokens', 'create', 'acme'], env);
    expect(made.code).toBe(0);
    const token = made.stdout.trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(made.stderr).toMatch(/created token [0-9a-f]{32} for account acme; it is shown only this once/);
    const json = await cli(['tokens', 'create', 'acme', '--json'], env);
    expect(json.json).toMatchObject({ id: expect.any(String), account_id: 'acme', auth_token: expect.any(String), last_used: null });

    // the database holds the SHA-256 of the token, never the token itself
    const db = new Database(join(env.CALLHOOK_DATA_DIR, 'callhook.db'), { readonly: true });
    const hashes = (db.prepare('SELECT hash FROM tokens').all() as { hash: string }[]).map((r) => r.hash);
    db.close();
    expect(hashes).toContain(createHash('sha256').update(token).digest('hex'));
    for (const f of readdirSync(env.CALLHOOK_DATA_DIR)) expect(readFileSync(join(env.CALLHOOK_DATA_DIR, f)).includes(token), f).toBe(false);

    const listed = await cli(['tokens', 'list', 'acme', '--json'], env);
    expect(listed.json).toHaveLength(3); // the first one came with the account
    expect(JSON.stringify(listed.json)).not.toContain(token);
    expect((await cli(['tokens', 'list', 'acme'], env)).stdout).toMatch(/^ID\s+CREATED\s+LAST_USED\n/);
    expect(await cli(['tokens', 'list', 'nobody'], env)).toMatchObject({ code: 1, stderr: 'callhook: account nobody not found\n' });
    expect(await cli(['tokens', 'create', 'nobody'], env)).toMatchObject({ code: 1, stderr: 'callhook: account nobody not found\n' });

    // the daemon started afterwards takes the token
    const port = await freePort();
    const d = await daemon({ ...env, CALLHOOK_PORT: String(port) });
    const get = (t: string) => fetch(`http://127.0.0.1:${port}/api/v1/accounts/acme/webhooks`, { headers: { 'x-auth-token': t } });
    expect((await get(token)).status).toBe(200);
    expect((await get(json.json.auth_token)).status).toBe(200);
    // while it runs it owns the SQLite store: the CLI says so and changes nothing
    const busy = await cli(['tokens', 'revoke', 'acme', json.json.id], env);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(
      /callhook: .*callhook\.db is in use by another callhook process .*: stop the daemon for this change, or make it through the REST API/,
    );
    expect(await d.stop()).toBe(0);

    const lastUsed = (await cli(['tokens', 'list', 'acme', '--json'], env)).json.find((t: { id: string }) => t.id === json.json.id);
    expect(lastUsed.last_used).toEqual(expect.any(Number));
    expect(await cli(['tokens', 'revoke', 'acme', json.json.id], env)).toMatchObject({ code: 0, stdout: `revoked token ${json.json.id} of account acme\n` });
    expect(await cli(['tokens', 'revoke', 'acme', json.json.id], env)).toMatchObject({ code: 1 });
    const again = await daemon({ ...env, CALLHOOK_PORT: String(port) });
    expect((await get(json.json.auth_token)).status).toBe(401);
    expect((await get(token)).status).toBe(200);
    expect(await again.stop()).toBe(0);
  });

  it('webhooks list|enable|disable and deliveries recover act on the store as the API does', async () => {
    const env = sqliteEnv();
    const token = (await cli(['accounts', 'create', 'acme', 'Acme', '--json'], env)).json.auth_token as string;
    // two webhooks through the daemon's API
    const port = await freePort();
    const d = await daemon({ ...env, CALLHOOK_PORT: String(port), CALLHOOK_ALLOW_TARGETS: '127.0.0.0/8' });
    const put = async (name: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/accounts/acme/webhooks`, {
        method: 'PUT',
        headers: { 'x-auth-token': token, 'content-type': 'application/json' },
        body: JSON.stringify({ data: { name, uri: `http://127.0.0.1:9/${name}`, hook: 'all' } }),
      });
      return ((await res.json()) as { data: { id: string } }).data.id;
    };
    const crm = await put('crm');
    const billing = await put('billing');
    expect(await d.stop()).toBe(0);

    // crm failed for days and callhook disabled it, with a failed delivery; billing is fine
    const db = join(env.CALLHOOK_DATA_DIR, 'callhook.db');
    let store = new SqliteStore(db);
    const now = Date.now();
    await store.setWebhookHealth(
      crm,
      {
        state: 'failing',
        failing_since: now - 3 * 86_400_000,
        last_error: 'connect ECONNREFUSED',
        next_probe: now + 30_000,
        probe_delay: 30_000,
        failover_down: false,
      },
      now,
    );
    await store.disableWebhook(crm, 'failing for 72 hours', now, true);
    const event: StoredEvent = {
      id: 'e'.repeat(32),
      account_id: 'acme',
      hook_event: 'channel_create',
      leg: 'leg-1',
      call_id: 'call-1',
      payload: '{}',
      created: now - 60_000,
    };
    await store.insertEvents([{ event, webhookIds: [crm, billing] }]);
    const [claimed] = await store.claimDeliveries(Date.now() + 1000, 10, 60_000);
    expect(claimed).toBeDefined();
    await store.recordAttempts([
      {
        attempt: {
          delivery_id: claimed!.id,
          webhook_id: billing,
          account_id: 'acme',
          event_id: event.id,
          hook_event: 'channel_create',
          call_id: 'call-1',
          uri: 'http://127.0.0.1:9/billing',
          method: 'POST',
          status_code: 404,
          response_body: '',
          duration_ms: 3,
          try_number: 1,
          retries_left: 0,
          result: 'failure',
          reason: 'HTTP 404',
          created: now,
        },
        update: { id: claimed!.id, status: 'failed', tries: 1, next_at: now, last_error: 'HTTP 404' },
      },
    ]);
    await store.close();

    const listed = await cli(['webhooks', 'list', 'acme', '--json'], env);
    expect(listed.code).toBe(0);
    const byName = Object.fromEntries(listed.json.map((h: { name: string }) => [h.name, h]));
    expect(byName.crm).toMatchObject({ id: crm, enabled: false, health: 'disabled', disabled_reason: 'failing for 72 hours', pending: 1 });
    expect(byName.billing).toMatchObject({ id: billing, enabled: true, health: 'healthy', pending: 0 });
    expect(JSON.stringify(listed.json)).not.toContain('whsec_');
    const text = await cli(['webhooks', 'list', 'acme'], env);
    expect(text.stdout).toMatch(/^ID\s+NAME\s+HOOK\s+STATE\s+PENDING\s+TARGET\s+REASON\n/);
    expect(text.stdout).toMatch(new RegExp(`${crm}\\s+crm\\s+all\\s+disabled\\s+1\\s+POST http://127.0.0.1:9/crm \\(form-data\\)\\s+failing for 72 hours`));
    expect((await cli(['webhooks', 'list', 'acme', billing, '--json'], env)).json).toHaveLength(1);
    expect(await cli(['webhooks', 'list', 'acme', 'f'.repeat(32)], env)).toMatchObject({
      code: 1,
      stderr: `callhook: webhook ${'f'.repeat(32)} of account acme not found\n`,
    });

    // enable: the reason goes, the health is reset, the waiting delivery is due now
    const enabled = await cli(['webhooks', 'enable', 'acme', crm, '--json'], env);
    expect(enabled.json).toMatchObject({ id: crm, enabled: true, disabled_reason: null, health: 'healthy', failing_since: null, next_probe: null });
    store = new SqliteStore(db);
    expect((await store.webhookById(crm))!.health).toMatchObject({ state: 'healthy', probe_delay: 0 });
    await store.close();

    // disable one (no reason: its owner did it), then enable every disabled one of the account
    expect((await cli(['webhooks', 'disable', 'acme', billing], env)).stdout).toMatch(
      new RegExp(`^disabled webhook ${billing} \\(billing\\) of account acme at `),
    );
    expect((await cli(['webhooks', 'list', 'acme', billing, '--json'], env)).json[0]).toMatchObject({ enabled: false, disabled_reason: null });
    expect(await cli(['webhooks', 'enable', 'acme'], env)).toMatchObject({ code: 0, stdout: 'enabled 1 webhook of account acme\n' });
    expect((await cli(['webhooks', 'list', 'acme', '--json'], env)).json.every((h: { enabled: boolean }) => h.enabled)).toBe(true);

    // recover: billing's failed delivery goes out again; one since the future finds none
    expect((await cli(['deliveries', 'recover', 'acme', billing, '--since', '2099-01-01T00:00:00Z', '--json'], env)).json).toMatchObject({ recovered: 0 });
    const recovered = await cli(['deliveries', 'recover', 'acme', '--since', '1h', '--json'], env);
    expect(recovered.json).toMatchObject({ recovered: 1, webhooks: expect.arrayContaining([{ webhook_id: billing, name: 'billing', recovered: 1 }]) });
    store = new SqliteStore(db);
    expect((await store.listDeliveries({ webhook_id: billing, limit: 10 })).items.map((x) => x.status)).toEqual(['pending']);
    await store.close();
    expect((await cli(['deliveries', 'recover', 'acme', billing, '--since', String(Math.floor(now / 1000) - 3600)], env)).stdout).toMatch(
      /\n0 failed deliveries since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ pending again\n$/,
    );
  });

  it('migrate brings a new data directory to the schema and reports its version', async () => {
    const env = sqliteEnv();
    const first = await cli(['migrate', '--json'], env);
    const n = SQLITE_MIGRATIONS.length;
    expect(first.json).toEqual({ store: 'sqlite', schema_version: n, latest: n, applied: Array.from({ length: n }, (_, i) => i + 1) });
    expect(await cli(['migrate'], env)).toMatchObject({ code: 0, stdout: `sqlite store: schema version ${n} (nothing to apply)\n` });
  });
});

describe.runIf(postgresReady)('on PostgreSQL (DATABASE_URL), beside a running daemon', () => {
  afterAll(dropSchemas);

  it('accounts, tokens and webhooks commands; the daemon takes their changes at once', async () => {
    const url = await freshSchema();
    const env = { DATABASE_URL: url, CALLHOOK_DATA_DIR: mkdtempSync(join(tmpdir(), 'callhook-cli-pg-')) };
    const ari = await FakeAri.start();
    const run = await runDaemon(ari, { DATABASE_URL: url });
    try {
      const created = await cli(['accounts', 'create', 'acme', 'Acme', '--number', '15550001', '--json'], env);
      expect(created.code).toBe(0);
      // the daemon knows the account (its API reads the accounts again on a miss) and takes the token
      const token = (await cli(['tokens', 'create', 'acme'], env)).stdout.trim();
      expect((await run.api('GET', '/api/v1/accounts/acme', token)).status).toBe(200);
      expect((await run.api('GET', '/api/v1/accounts/acme', created.json.auth_token)).status).toBe(200);
      // a DID the daemon's API gave away is refused to the CLI
      const hook = await run.api('PUT', '/api/v1/accounts/acme/webhooks', token, { data: { name: 'crm', uri: 'http://127.0.0.1:9/crm', hook: 'all' } });
      expect(hook.status).toBe(201);
      expect((await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'globex', name: 'Globex', numbers: ['15550002'] } })).status).toBe(201);
      const taken = await cli(['accounts', 'create', 'initech', 'Initech', '--number', '15550002'], env);
      expect(taken).toMatchObject({ code: 2, stderr: expect.stringContaining('Number 15550002 already belongs to account globex') });
      expect((await cli(['accounts', 'list', '--json'], env)).json.map((a: { id: string }) => a.id)).toEqual(['acme', 'globex']);

      const tokens = (await cli(['tokens', 'list', 'acme', '--json'], env)).json as { id: string; last_used: number | null }[];
      expect(tokens).toHaveLength(2);
      expect(tokens.every((t) => t.last_used !== null)).toBe(true);

      expect((await cli(['webhooks', 'list', 'acme', '--json'], env)).json).toMatchObject([{ id: hook.json.data.id, name: 'crm', enabled: true }]);
      await cli(['webhooks', 'disable', 'acme', hook.json.data.id], env);
      expect((await run.api('GET', `/api/v1/accounts/acme/webhooks/${hook.json.data.id}`, token)).json.data).toMatchObject({
        enabled: false,
        health: 'disabled',
      });
      await cli(['webhooks', 'enable', 'acme', hook.json.data.id], env);
      expect((await run.api('GET', `/api/v1/accounts/acme/webhooks/${hook.json.data.id}`, token)).json.data).toMatchObject({
        enabled: true,
        health: 'healthy',
      });

      const revokeId = tokens.find((t) => t.id !== created.json.token_id)!.id;
      expect((await cli(['tokens', 'revoke', 'acme', revokeId], env)).code).toBe(0);
      expect((await run.api('GET', '/api/v1/accounts/acme', token)).status).toBe(401);

      expect((await cli(['migrate', '--json'], env)).json).toMatchObject({ store: 'postgresql', applied: [] });
      expect((await cli(['deliveries', 'recover', 'acme', '--since', '1d', '--json'], env)).json).toMatchObject({ recovered: 0 });
      expect((await cli(['accounts', 'delete', 'globex'], env)).code).toBe(0);
      // (GET …/accounts/globex would answer 500 until the daemon reads the accounts again, within 2 s: left to the API)
      expect((await run.api('GET', '/api/v1/accounts', ADMIN)).json.data.map((a: { id: string }) => a.id)).toEqual(['acme']);
    } finally {
      await run.daemon.close();
      await ari.close();
    }
  });

  it('migrate reports the version of a new schema', async () => {
    const r = await cli(['migrate'], { DATABASE_URL: await freshSchema() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^postgresql store: schema version (\d+) \(applied migrations 1, .*\1\)\n$/);
  });
});

describe('replay', () => {
  /** what the daemon's own Ingest stores for a stream: the payloads in order */
  async function inProcess(frames: unknown[], realm: string): Promise<unknown[]> {
    const accounts = new AccountDirectory('acme');
    accounts.load([{ id: 'acme', realm, parent_id: null, numbers: [], accountcodes: [] }]);
    const stored: StoredEvent[] = [];
    const store = {
      activeWebhooks: async () => [],
      insertEvents: async (items: { event: StoredEvent }[]) => (stored.push(...items.map((i) => i.event)), items.length),
    };
    const ingest = new Ingest({
      tracker: new CallTracker(accounts, { accountVariable: 'CALLHOOK_ACCOUNT' }),
      accounts,
      store,
      logger: pino({ level: 'silent' }),
      defaultRealm: 'unused',
      onStored: () => {},
    });
    for (const f of frames) ingest.push(f as AriEvent);
    await ingest.drain();
    return stored.map((e) => JSON.parse(e.payload));
  }
  const lines = (r: Result) =>
    r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, any>);
  const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.jsonl'));

  it.each(fixtures)('%s: the payloads an in-process run of the pipeline stores', async (name) => {
    const r = await cli(['replay', join(FIXTURES, name), '--account', 'acme', '--realm', 'acme.example'], sqliteEnv());
    expect(r.code).toBe(0);
    const expected = await inProcess(loadFixture(name), 'acme.example');
    expect(expected.length).toBeGreaterThan(0);
    expect(lines(r)).toEqual(expected);
    expect(r.stderr).toMatch(new RegExp(`^replayed .*${name}: \\d+ ARI events, ${expected.length} call events\\n$`));
  });

  // test/pipeline.test.ts's scenarios: the hook events of each leg, in order
  it.each([
    ['ivr_answered.jsonl', { '1-11627@127.0.0.1': ['channel_create', 'channel_answer', 'channel_destroy'] }],
    [
      'dial_answered.jsonl',
      {
        '1-11659@127.0.0.1': ['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy'],
        '005fcac4-dca8-4723-824a-742d9727d1b6': ['channel_create', 'channel_answer', 'channel_bridge', 'channel_destroy'],
      },
    ],
    [
      'cancel.jsonl',
      { '1-26524@127.0.0.2': ['channel_create', 'channel_destroy'], '7fad3392-d014-4aba-b643-20ec5b5d2f50': ['channel_create', 'channel_destroy'] },
    ],
    [
      'busy.jsonl',
      { '1-26284@127.0.0.2': ['channel_create', 'channel_destroy'], '19ceaa14-54f2-4e22-8404-9c5ffa86c598': ['channel_create', 'channel_destroy'] },
    ],
  ])('%s: the legs and events the pipeline test expects', async (name, legs) => {
    const r = await cli(['replay', join(FIXTURES, name), '--account', 'acme'], sqliteEnv());
    const perLeg: Record<string, string[]> = {};
    for (const p of lines(r)) (perLeg[p.call_id] ??= []).push(p.hook_event);
    expect(perLeg).toEqual(legs);
  });

  it('dial_answered.jsonl: the outbound channel_create with every field the pipeline test checks', async () => {
    const r = await cli(['replay', join(FIXTURES, 'dial_answered.jsonl'), '--account', 'acme', '--realm', 'acme.example'], sqliteEnv());
    const all = lines(r);
    expect(all.find((p) => p.hook_event === 'channel_create' && p.call_direction === 'outbound')).toEqual({
      hook_event: 'channel_create',
      call_id: '005fcac4-dca8-4723-824a-742d9727d1b6',
      channel_id: '1795531556.2',
      other_leg_call_id: '1-11659@127.0.0.1',
      call_direction: 'outbound',
      timestamp: Math.floor(Date.parse('2026-11-24T14:45:56.488Z') / 1000) + 62167219200,
      account_id: 'acme',
      from: '4930123456@acme.example',
      to: '201@acme.example',
      request: '201@acme.example',
      caller_id_name: 'Carol',
      caller_id_number: '4930123456',
      callee_id_name: 'Alice',
      callee_id_number: '201',
      is_internal_leg: false,
      custom_channel_vars: { CALLHOOK_ACCOUNT: '' },
      // the dialed leg belongs to the call of the leg that dialed it
      linked_id: '1795531556.1',
      event_id: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(all.find((p) => p.hook_event === 'channel_destroy' && p.call_direction === 'inbound')).toMatchObject({
      hangup_cause: 'NORMAL_CLEARING',
      duration_seconds: '2',
      ringing_seconds: '0',
      billing_seconds: '2',
    });
  });

  it('--format form-data and --custom-data show the form body a webhook gets; bad lines are skipped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'callhook-replay-'));
    const file = join(dir, 'broken.jsonl');
    writeFileSync(file, '{broken\n' + readFileSync(join(FIXTURES, 'ivr_answered.jsonl'), 'utf8'));
    const r = await cli(
      ['replay', file, '--account', 'acme', '--format', 'form-data', '--custom-data', '{"account_id": "crm-7", "screen_pop": true}'],
      sqliteEnv(),
    );
    expect(r.code).toBe(0);
    const bodies = r.stdout.split('\n').filter(Boolean);
    const expected = (await inProcess(loadFixture('ivr_answered.jsonl'), '127.0.0.1')) as Record<string, string>[];
    expect(bodies).toEqual(expected.map((p) => formEncode({ ...p, account_id: 'crm-7', screen_pop: true })));
    expect(new URLSearchParams(bodies[0]).get('account_id')).toBe('crm-7');
    expect(r.stderr).toContain(`${file}:1: not JSON; skipped`);
    expect(r.stderr).toMatch(/15 ARI events, 3 call events, 1 lines skipped/);
  });

  it('--webhooks: the requests the configured webhooks would get, with their custom_data, filters and formats', async () => {
    const env = sqliteEnv();
    const store = new SqliteStore(join(env.CALLHOOK_DATA_DIR, 'callhook.db'));
    const now = Date.now();
    await store.createAccount({
      id: 'acme',
      name: 'Acme',
      realm: 'acme.example',
      parent_id: null,
      accountcodes: ['acme'],
      numbers: ['15550002'],
      created: now,
      updated: now,
    });
    await store.createAccount({
      id: 'globex',
      name: 'Globex',
      realm: null,
      parent_id: null,
      accountcodes: [],
      numbers: ['15550100'],
      created: now,
      updated: now,
    });
    const { newWebhook } = await import('../src/hooks/model.js');
    const base = { retries: 2, enabled: true, headers: {}, include_internal_legs: false, include_subaccounts: false, failover_uri: null };
    const json = newWebhook(
      'acme',
      {
        ...base,
        name: 'json',
        uri: 'http://crm.example/json',
        hook: 'all',
        http_verb: 'put',
        format: 'json',
        custom_data: { account_id: 'my_crm', screen_pop: true },
        event_filter: null,
      },
      now,
    );
    const get = newWebhook(
      'acme',
      {
        ...base,
        name: 'get',
        uri: 'http://crm.example/get?x=1',
        hook: 'channel_destroy',
        http_verb: 'get',
        format: 'form-data',
        custom_data: {},
        event_filter: null,
      },
      now,
    );
    const filtered = newWebhook(
      'acme',
      { ...base, name: 'other', uri: 'http://crm.example/no', hook: 'all', http_verb: 'post', format: 'form-data', custom_data: {}, event_filter: '1999*' },
      now,
    );
    for (const h of [json, get, filtered]) await store.createWebhook(h);
    await store.close();

    const r = await cli(['replay', join(FIXTURES, 'busy.jsonl'), '--webhooks'], env);
    expect(r.code).toBe(0);
    const reqs = lines(r);
    expect(reqs.filter((q) => q.webhook_id === json.id)).toHaveLength(4);
    expect(reqs.filter((q) => q.webhook_id === get.id).map((q) => q.hook_event)).toEqual(['channel_destroy', 'channel_destroy']);
    expect(reqs.some((q) => q.webhook_id === filtered.id)).toBe(false);
    const put = reqs.find((q) => q.webhook_id === json.id)!;
    expect(put).toMatchObject({ method: 'PUT', url: 'http://crm.example/json', content_type: 'application/json', hook_event: 'channel_create' });
    expect(JSON.parse(put.body)).toMatchObject({
      account_id: 'my_crm',
      screen_pop: true,
      hook_event: 'channel_create',
      event_id: put.event_id,
      to: '15550002@acme.example',
    });
    const q = reqs.find((x) => x.webhook_id === get.id)!;
    expect(q).toMatchObject({ method: 'GET', body: null, content_type: null });
    expect(new URL(q.url).searchParams.get('x')).toBe('1');
    expect(new URL(q.url).searchParams.get('account_id')).toBe('acme');
    expect(r.stderr).toMatch(/35 ARI events, 4 call events, 6 webhook requests/);
    // the same event ids as a replay without webhooks
    const plain = lines(await cli(['replay', join(FIXTURES, 'busy.jsonl'), '--account', 'acme'], env));
    expect(new Set(reqs.map((x) => x.event_id))).toEqual(new Set(plain.map((p) => p.event_id)));
  });
});

describe('CALLHOOK_LOG_FORMAT=pretty', () => {
  it('the daemon logs readable lines, not JSON, without the secrets', async () => {
    const env = {
      ...sqliteEnv(),
      CALLHOOK_PORT: String(await freePort()),
      CALLHOOK_LOG_FORMAT: 'pretty',
      CALLHOOK_ARI_PASSWORD: 'pbx-secret-123',
      CALLHOOK_ADMIN_TOKEN: 'admin-secret-0123456789',
    };
    const d = await daemon(env);
    await d.waitFor('ARI not reachable; retrying');
    expect(await d.stop()).toBe(0);
    const out = d.output();
    const lines = out.split('\n').filter(Boolean);
    expect(lines.find((l) => l.includes('callhook started'))).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: callhook started$/);
    expect(out).toMatch(/\] WARN: \[ari\] ARI not reachable; retrying\n/);
    expect(out).toMatch(/\n {4}store: "sqlite"\n/);
    expect(lines.some((l) => l.startsWith('{'))).toBe(false);
    expect(out).not.toContain('pbx-secret-123');
    expect(out).not.toContain('admin-secret-0123456789');
    expect(lines.at(-1)).toMatch(/INFO: callhook stopped$/);
  });

  it('redacts the same fields as the JSON logs', async () => {
    const script = `import { createLogger } from ${JSON.stringify(new URL('../dist/daemon/log.js', import.meta.url).href)};
      for (const f of ['json', 'pretty']) createLogger('info', f).info({ password: 'pw-1', ari: { password: 'pw-2' }, secret: 's-1', hook: { secret: 's-2' }, auth_token: 't-1', req: { headers: { authorization: 'Bearer t-2' } } }, 'logged ' + f);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => child.on('close', r));
    const [json, ...pretty] = out.split('\n').filter(Boolean);
    expect(JSON.parse(json!)).toMatchObject({
      msg: 'logged json',
      password: '[redacted]',
      ari: { password: '[redacted]' },
      hook: { secret: '[redacted]' },
      req: { headers: { authorization: '[redacted]' } },
    });
    expect(pretty[0]).toMatch(/INFO: logged pretty$/);
    expect(pretty.join('\n')).toContain('password: "[redacted]"');
    for (const s of ['pw-1', 'pw-2', 's-1', 's-2', 't-1', 't-2']) expect(out).not.toContain(s);
  });
});

beforeAll(() => {
  // dist/ is built by pretest (npm test); a direct vitest run needs npm run build first
  readFileSync(CLI);
});
