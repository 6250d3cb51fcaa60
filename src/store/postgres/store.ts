/**
 * The PostgreSQL store (`pg`, DATABASE_URL): for several callhook processes sharing one
 * outbox. A claim takes rows with FOR UPDATE SKIP LOCKED and leases them in the table
 * (`locked_until`), so two processes never send the same delivery at once; events have their
 * deterministic id as primary key, so two processes ingesting the same ARI store each once.
 */
import pg from 'pg';
import { deliveryId } from '../../shared/ids.js';
import { AppError } from '../../shared/errors.js';
import type { Webhook } from '../../hooks/model.js';
import type { LegChanges } from '../../calls/types.js';
import type {
  Account,
  Attempt,
  AttemptInput,
  AttemptQuery,
  Delivery,
  DeliveryQuery,
  DeliveryUpdate,
  DueDelivery,
  Page,
  PageResult,
  PruneResult,
  Slots,
  Store,
  StoredEvent,
  StoredLeg,
  Token,
} from '../store.js';
import {
  ACCOUNT_LEFTOVERS,
  EDITABLE_COLUMNS,
  HEALTH_COLUMNS,
  HEALTH_RESET,
  WEBHOOK_COLUMNS,
  accountParams,
  healthParams,
  pageOf,
  toAccount,
  toWebhook,
  webhookParams,
  type Row,
} from '../rows.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';
import { CLAIMABLE_COLUMNS, claimsInTurn, toClaimable } from '../turns.js';
import type { HealthState, WebhookHealth } from '../../hooks/health.js';

/** BIGINT (times, ids, counts) read as numbers: every value callhook keeps fits in 2^53 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** the advisory lock key under which one process at a time migrates */
const MIGRATION_LOCK = 0x63616c6c; // "call"

const COLUMNS = WEBHOOK_COLUMNS.split(', ');
const WEBHOOK_VALUES = COLUMNS.map((_, i) => `$${i + 1}`).join(', ');
const webhookArgs = (h: Webhook): unknown[] => {
  const p = webhookParams(h);
  return COLUMNS.map((c) => p[c]);
};

/** what an edit writes ($3 on; $1 and $2 are the id and account) */
const EDITABLE = EDITABLE_COLUMNS;

const SEND_NOW_IF_DISABLED =
  "UPDATE deliveries SET next_at = $1 WHERE status = 'pending' AND next_at > $1 AND webhook_id IN (SELECT id FROM webhooks WHERE NOT enabled AND (id = $2 OR account_id = $3))";

/**
 * A webhook's deliveries that may go out now, oldest due first: pending, due, not leased, and
 * each the first pending one of its leg (the later ones of a leg wait for it), locked for this
 * transaction; the ones another process is claiming are skipped. Then leased, with their event.
 * The first of its leg is looked up per row (a subquery on the leg's index): as an anti-join
 * the planner, misjudging a freshly filled table, compared each row with all pending ones.
 */
const CLAIM = `
  WITH picked AS (
    SELECT d.seq FROM deliveries d
    WHERE d.webhook_id = $1 AND d.status = 'pending' AND d.next_at <= $2 AND d.locked_until <= $2
      AND d.seq = (SELECT MIN(p.seq) FROM deliveries p WHERE p.webhook_id = d.webhook_id AND p.leg = d.leg AND p.status = 'pending')
    ORDER BY d.next_at, d.seq
    LIMIT $3
    FOR UPDATE OF d SKIP LOCKED
  ), leased AS (
    UPDATE deliveries d SET locked_until = $4 FROM picked WHERE d.seq = picked.seq
    RETURNING d.seq, d.id, d.event_id, d.webhook_id, d.tries, d.next_at
  )
  SELECT l.id, l.event_id, l.webhook_id, l.tries, e.payload, e.hook_event, e.call_id, e.account_id, e.created AS event_created
  FROM leased l JOIN events e ON e.id = l.event_id
  ORDER BY l.next_at, l.seq`;

export class PostgresStore implements Store {
  private claimRound = 0;

  private constructor(private readonly pool: pg.Pool) {}

  /** connects, checks the server answers, and migrates */
  static async open(url: string): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, max: 8, types });
    // an idle connection the server dropped is replaced on the next query; the error is not fatal
    pool.on('error', () => {});
    const store = new PostgresStore(pool);
    try {
      await store.migrate();
    } catch (err) {
      await pool.end();
      const e = err as Error & { code?: string };
      const code = e.code && !e.message.includes(e.code) ? `${e.code} ` : '';
      throw new AppError('config', `DATABASE_URL: could not open the PostgreSQL store: ${code}${e.message}`, { cause: err });
    }
    return store;
  }

  /** the migrations applied to this database, oldest first (callhook migrate) */
  async schemaMigrations(): Promise<{ version: number; applied: number }[]> {
    const r = await this.pool.query<{ version: number; applied: string | number }>('SELECT version, applied FROM schema_migrations ORDER BY version');
    return r.rows.map((row) => ({ version: Number(row.version), applied: Number(row.applied) }));
  }

  private async migrate(): Promise<void> {
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)');
      const done = new Set((await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      for (const [i, sql] of POSTGRES_MIGRATIONS.entries()) {
        if (done.has(i + 1)) continue;
        await c.query(sql);
        await c.query('INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)', [i + 1, Date.now()]);
      }
    });
  }

  /**
   * runs `work` in one transaction on one connection. A connection the server ends meanwhile
   * (a restart, a failover) reports it as an 'error' event, which without a listener would end
   * the process; here the transaction fails with it instead and the connection is discarded.
   */
  private async tx<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let lost: Error | undefined;
    const onLost = (err: Error) => (lost = err);
    c.on('error', onLost);
    try {
      await c.query('BEGIN');
      const out = await work(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      if (!lost) await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.off('error', onLost);
      c.release(lost);
    }
  }

  private async rows<T = Row>(sql: string, args: unknown[] = []): Promise<T[]> {
    return (await this.pool.query(sql, args)).rows as T[];
  }

  private async changes(sql: string, args: unknown[]): Promise<number> {
    return (await this.pool.query(sql, args)).rowCount ?? 0;
  }

  async createAccount(a: Account): Promise<void> {
    const p = accountParams(a);
    await this.pool.query(
      'INSERT INTO accounts (id, name, realm, parent_id, accountcodes, numbers, created, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [p.id, p.name, p.realm, p.parent_id, p.accountcodes, p.numbers, p.created, p.updated],
    );
  }
  async getAccount(id: string): Promise<Account | undefined> {
    const [r] = await this.rows('SELECT * FROM accounts WHERE id = $1', [id]);
    return r && toAccount(r);
  }
  async listAccounts(): Promise<Account[]> {
    return (await this.rows('SELECT * FROM accounts ORDER BY id')).map(toAccount);
  }
  async updateAccount(a: Account): Promise<void> {
    const p = accountParams(a);
    await this.pool.query('UPDATE accounts SET name = $2, realm = $3, parent_id = $4, accountcodes = $5, numbers = $6, updated = $7 WHERE id = $1', [
      p.id,
      p.name,
      p.realm,
      p.parent_id,
      p.accountcodes,
      p.numbers,
      p.updated,
    ]);
  }
  async deleteAccount(id: string): Promise<boolean> {
    return this.tx(async (c) => {
      const deleted = ((await c.query('DELETE FROM accounts WHERE id = $1', [id])).rowCount ?? 0) > 0;
      if (deleted) for (const sql of ACCOUNT_LEFTOVERS) await c.query(sql.replaceAll('?', '$1'), [id]);
      return deleted;
    });
  }

  async createToken(t: Token, hash: string): Promise<void> {
    await this.pool.query('INSERT INTO tokens (id, account_id, hash, created) VALUES ($1, $2, $3, $4)', [t.id, t.account_id, hash, t.created]);
  }
  async findToken(hash: string): Promise<Token | undefined> {
    const [r] = await this.rows<Token>('UPDATE tokens SET last_used = $2 WHERE hash = $1 RETURNING id, account_id, created, last_used', [hash, Date.now()]);
    return r;
  }
  async listTokens(accountId: string): Promise<Token[]> {
    return this.rows<Token>('SELECT id, account_id, created, last_used FROM tokens WHERE account_id = $1 ORDER BY created, id', [accountId]);
  }
  async deleteToken(accountId: string, tokenId: string): Promise<boolean> {
    return (await this.changes('DELETE FROM tokens WHERE account_id = $1 AND id = $2', [accountId, tokenId])) > 0;
  }

  async createWebhook(h: Webhook): Promise<void> {
    await this.pool.query(`INSERT INTO webhooks (${WEBHOOK_COLUMNS}) VALUES (${WEBHOOK_VALUES})`, webhookArgs(h));
  }
  async getWebhook(accountId: string, id: string): Promise<Webhook | undefined> {
    const [r] = await this.rows(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE account_id = $1 AND id = $2`, [accountId, id]);
    return r && toWebhook(r);
  }
  async webhookById(id: string): Promise<Webhook | undefined> {
    const [r] = await this.rows(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1`, [id]);
    return r && toWebhook(r);
  }
  async listWebhooks(accountId: string, page: Page): Promise<PageResult<Webhook>> {
    const rows = (
      await this.rows(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE account_id = $1 AND id >= $2 ORDER BY id LIMIT $3`, [
        accountId,
        page.start_key ?? '',
        page.limit + 1,
      ])
    ).map(toWebhook);
    return pageOf(rows, page.limit, (h) => h.id);
  }
  async updateWebhook(h: Webhook): Promise<void> {
    const p = webhookParams(h);
    const args = EDITABLE.map((c) => p[c]);
    const at = (c: string) => `$${EDITABLE.indexOf(c) + 3}`;
    await this.tx(async (c) => {
      if (h.enabled) await c.query(SEND_NOW_IF_DISABLED, [h.updated, h.id, null]);
      // re-enabled, or given another uri: it starts healthy
      await c.query(`UPDATE webhooks SET ${HEALTH_RESET} WHERE id = $1 AND health <> 'healthy' AND ((NOT enabled AND $2::boolean) OR uri <> $3)`, [
        h.id,
        h.enabled,
        h.uri,
      ]);
      // enabled, or disabled by its owner (no reason): it stops collecting for later
      await c.query(
        `UPDATE webhooks SET ${EDITABLE.map((c) => `${c} = ${at(c)}`).join(', ')},
           paused = CASE WHEN ${at('enabled')}::boolean OR ${at('disabled_reason')}::text IS NULL THEN FALSE ELSE paused END
         WHERE id = $1 AND account_id = $2`,
        [h.id, h.account_id, ...args],
      );
    });
  }
  async deleteWebhook(accountId: string, id: string): Promise<boolean> {
    return (await this.changes('DELETE FROM webhooks WHERE account_id = $1 AND id = $2', [accountId, id])) > 0;
  }
  async activeWebhooks(accountIds: string[]): Promise<Webhook[]> {
    if (accountIds.length === 0) return [];
    return (await this.rows(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE (enabled OR paused) AND account_id = ANY($1)`, [accountIds])).map(toWebhook);
  }
  async disableWebhook(id: string, reason: string, at: number, collect = false, seenUpdated = Number.MAX_SAFE_INTEGER): Promise<boolean> {
    return (
      (await this.changes('UPDATE webhooks SET enabled = FALSE, paused = $2, disabled_reason = $3, updated = $4 WHERE id = $1 AND enabled AND updated <= $5', [
        id,
        collect,
        reason,
        at,
        seenUpdated,
      ])) > 0
    );
  }
  async reenableWebhooks(accountId: string, at: number): Promise<number> {
    return this.tx(async (c) => {
      await c.query(SEND_NOW_IF_DISABLED, [at, null, accountId]);
      await c.query(`UPDATE webhooks SET ${HEALTH_RESET} WHERE account_id = $1 AND NOT enabled AND health <> 'healthy'`, [accountId]);
      const r = await c.query(
        'UPDATE webhooks SET enabled = TRUE, paused = FALSE, disabled_reason = NULL, updated = $1 WHERE account_id = $2 AND NOT enabled',
        [at, accountId],
      );
      return r.rowCount ?? 0;
    });
  }

  async setWebhookHealth(id: string, health: WebhookHealth, now: number, from?: HealthState): Promise<boolean> {
    const p = healthParams(health);
    return this.tx(async (c) => {
      const r = await c.query(
        `UPDATE webhooks SET ${HEALTH_COLUMNS.map((col, i) => `${col} = $${i + 3}`).join(', ')} WHERE id = $1 AND ($2::text IS NULL OR health = $2)`,
        [id, from ?? null, ...HEALTH_COLUMNS.map((col) => p[col])],
      );
      const saved = (r.rowCount ?? 0) > 0;
      if (saved && from === 'failing' && health.state === 'healthy') {
        await c.query("UPDATE deliveries SET next_at = $2 WHERE webhook_id = $1 AND status = 'pending' AND next_at > $2", [id, now]);
      }
      return saved;
    });
  }
  async rotateSecret(accountId: string, id: string, secret: string, previousUntil: number, now: number): Promise<boolean> {
    return (
      (await this.changes(
        'UPDATE webhooks SET previous_secret = secret, secret = $3, previous_secret_until = $4, updated = $5 WHERE account_id = $1 AND id = $2',
        [accountId, id, secret, previousUntil, now],
      )) > 0
    );
  }
  async pendingByWebhook(ids: string[]): Promise<Map<string, number>> {
    const rows = await this.rows<{ webhook_id: string; n: number }>(
      "SELECT webhook_id, COUNT(*) AS n FROM deliveries WHERE webhook_id = ANY($1) AND status = 'pending' GROUP BY webhook_id",
      [ids],
    );
    const out = new Map(ids.map((id) => [id, 0]));
    for (const r of rows) out.set(r.webhook_id, r.n);
    return out;
  }
  async countFailing(): Promise<number> {
    return (await this.rows<{ n: number }>("SELECT COUNT(*) AS n FROM webhooks WHERE enabled AND health = 'failing'"))[0]!.n;
  }
  async countWebhooksByHealth(): Promise<Record<'healthy' | 'failing' | 'disabled', number>> {
    const out = { healthy: 0, failing: 0, disabled: 0 };
    const rows = await this.rows<{ health: keyof typeof out; n: number }>(
      "SELECT CASE WHEN enabled THEN health ELSE 'disabled' END AS health, COUNT(*) AS n FROM webhooks GROUP BY 1",
    );
    for (const r of rows) if (r.health in out) out[r.health] += r.n;
    return out;
  }

  /** the events in one statement, then the deliveries of the new ones in another, and the legs */
  async insertEvents(items: { event: StoredEvent; webhookIds: string[] }[], legs?: LegChanges): Promise<number> {
    const now = Date.now();
    const col = <K extends keyof StoredEvent>(k: K) => items.map((i) => i.event[k]);
    return this.tx(async (c) => {
      let fresh = 0;
      if (items.length > 0) {
        const inserted = await c.query<{ id: string }>(
          `INSERT INTO events (id, account_id, hook_event, leg, call_id, payload, created)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
           ON CONFLICT (id) DO NOTHING RETURNING id`,
          [col('id'), col('account_id'), col('hook_event'), col('leg'), col('call_id'), col('payload'), col('created')],
        );
        const isNew = new Set(inserted.rows.map((r) => r.id));
        fresh = isNew.size;
        const d = { id: [] as string[], event: [] as string[], hook: [] as string[], leg: [] as string[] };
        for (const { event: ev, webhookIds } of items) {
          if (!isNew.has(ev.id)) continue;
          isNew.delete(ev.id); // the same event twice in one batch: its deliveries once
          for (const hookId of webhookIds) {
            d.id.push(deliveryId(ev.id, hookId));
            d.event.push(ev.id);
            d.hook.push(hookId);
            d.leg.push(ev.leg);
          }
        }
        if (d.id.length > 0) {
          // in the order of the batch (seq keeps each leg's order); a webhook deleted since the
          // ingest looked it up gets none
          await c.query(
            `INSERT INTO deliveries (id, event_id, webhook_id, leg, status, tries, next_at, created, updated)
             SELECT t.id, t.event_id, t.webhook_id, t.leg, 'pending', 0, $5, $5, $5
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(id, event_id, webhook_id, leg, n)
             JOIN webhooks w ON w.id = t.webhook_id
             ORDER BY t.n
             ON CONFLICT (id) DO NOTHING`,
            [d.id, d.event, d.hook, d.leg, now],
          );
        }
      }
      if (legs) {
        if (legs.upserts.length > 0) {
          await c.query(
            `INSERT INTO legs (id, state, updated) SELECT id, state, $3 FROM unnest($1::text[], $2::text[]) AS t(id, state)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated = excluded.updated`,
            [legs.upserts.map((l) => l.id), legs.upserts.map((l) => l.state), now],
          );
        }
        if (legs.deletes.length > 0) await c.query('DELETE FROM legs WHERE id = ANY($1)', [legs.deletes]);
      }
      return fresh;
    });
  }
  async claimDeliveries(now: number, limit: number, leaseMs: number, slots?: Slots): Promise<DueDelivery[]> {
    return this.tx(async (c) => {
      const hooks = (await c.query(`SELECT ${CLAIMABLE_COLUMNS} FROM webhooks WHERE enabled ORDER BY id`)).rows.map(toClaimable);
      const out: DueDelivery[] = [];
      const take = async (hook: string, n: number, target: DueDelivery['target']) => {
        const rows = (await c.query<Omit<DueDelivery, 'target'>>(CLAIM, [hook, now, n, now + leaseMs])).rows;
        for (const d of rows) out.push({ ...d, target });
        return rows.length;
      };
      for (const h of claimsInTurn(hooks, this.claimRound++, now, () => limit - out.length, slots && ((h) => slots.room(h)))) {
        // the probe's turn is taken first (the row lock makes a claim of another process wait
        // and then find it taken), so no other claim probes the webhook while this probe is out
        let taken = 0;
        if (h.probe) {
          const turn = await c.query('UPDATE webhooks SET next_probe = $2 WHERE id = $1 AND (next_probe IS NULL OR next_probe <= $3)', [
            h.hook.id,
            now + leaseMs,
            now,
          ]);
          if (turn.rowCount === 1 && (taken = await take(h.hook.id, 1, 'probe')) === 0) {
            await c.query('UPDATE webhooks SET next_probe = $2 WHERE id = $1', [h.hook.id, now]);
          }
        }
        if (h.rest > 0) taken += await take(h.hook.id, h.rest, h.target);
        slots?.took(h.hook, taken);
      }
      return out;
    });
  }
  async releaseDeliveries(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.pool.query('UPDATE deliveries SET locked_until = 0 WHERE id = ANY($1)', [ids]);
  }
  async recordAttempts(items: { attempt: AttemptInput; update?: DeliveryUpdate }[]): Promise<void> {
    if (items.length === 0) return;
    const cols = [
      'delivery_id',
      'webhook_id',
      'account_id',
      'event_id',
      'hook_event',
      'call_id',
      'uri',
      'method',
      'status_code',
      'response_body',
      'duration_ms',
      'try_number',
      'retries_left',
      'result',
      'reason',
      'created',
    ] as const;
    const casts = ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'int', 'text', 'int', 'int', 'int', 'text', 'text', 'bigint'];
    const updates = items.filter((i) => i.update);
    await this.tx(async (c) => {
      await c.query(
        `INSERT INTO attempts (${cols.join(', ')}) SELECT * FROM unnest(${casts.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`,
        cols.map((k) => items.map((i) => i.attempt[k])),
      );
      if (updates.length === 0) return;
      await c.query(
        `UPDATE deliveries d SET status = u.status, tries = u.tries, next_at = u.next_at, last_error = u.last_error, updated = u.at, locked_until = 0
         FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::text[], $6::bigint[]) AS u(id, status, tries, next_at, last_error, at)
         WHERE d.id = u.id`,
        [
          updates.map((i) => i.update!.id),
          updates.map((i) => i.update!.status),
          updates.map((i) => i.update!.tries),
          updates.map((i) => i.update!.next_at),
          updates.map((i) => i.update!.last_error),
          updates.map((i) => i.attempt.created),
        ],
      );
    });
  }
  async listAttempts(q: AttemptQuery): Promise<PageResult<Attempt>> {
    const where = ['account_id = $1'];
    const args: unknown[] = [q.account_id];
    const add = (cond: string, v: unknown) => (args.push(v), where.push(cond.replace('?', `$${args.length}`)));
    if (q.webhook_id) add('webhook_id = ?', q.webhook_id);
    if (q.created_from !== undefined) add('created >= ?', q.created_from);
    if (q.created_to !== undefined) add('created <= ?', q.created_to);
    if (q.start_key) add('id <= ?', Number(q.start_key));
    args.push(q.limit + 1);
    const rows = await this.rows<Attempt>(`SELECT * FROM attempts WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${args.length}`, args);
    return pageOf(rows, q.limit, (a) => a.id);
  }
  async countPending(): Promise<number> {
    return (await this.rows<{ n: number }>("SELECT COUNT(*) AS n FROM deliveries WHERE status = 'pending'"))[0]!.n;
  }
  async oldestPending(): Promise<number | undefined> {
    const [r] = await this.rows<{ at: number | null }>("SELECT MIN(created) AS at FROM deliveries WHERE status = 'pending'");
    return r?.at ?? undefined;
  }
  async nextDueAt(after: number): Promise<number | undefined> {
    const [r] = await this.rows<{ at: number | null }>("SELECT MIN(next_at) AS at FROM deliveries WHERE status = 'pending' AND next_at > $1", [after]);
    return r?.at ?? undefined;
  }
  async failuresSince(webhookId: string, since: number): Promise<number> {
    return (
      await this.rows<{ n: number }>("SELECT COUNT(*) AS n FROM attempts WHERE webhook_id = $1 AND result = 'failure' AND created >= $2", [webhookId, since])
    )[0]!.n;
  }
  async listDeliveries(q: DeliveryQuery): Promise<PageResult<Delivery>> {
    const where = ['d.webhook_id = $1'];
    const args: unknown[] = [q.webhook_id];
    if (q.status) {
      args.push(q.status);
      where.push(`d.status = $${args.length}`);
    }
    if (q.start_key) {
      args.push(Number(q.start_key));
      where.push(`d.seq <= $${args.length}`);
    }
    args.push(q.limit + 1);
    const rows = await this.rows<Delivery & { seq: number }>(
      `SELECT d.seq, d.id, d.event_id, d.webhook_id, e.hook_event, e.call_id, d.status, d.tries, d.next_at, d.last_error, d.created, d.updated
       FROM deliveries d JOIN events e ON e.id = d.event_id WHERE ${where.join(' AND ')} ORDER BY d.seq DESC LIMIT $${args.length}`,
      args,
    );
    return pageOf(
      rows,
      q.limit,
      (d) => d.seq,
      ({ seq: _seq, ...d }) => d,
    );
  }
  async retryDelivery(webhookId: string, id: string, now: number): Promise<boolean> {
    return (
      (await this.changes(
        "UPDATE deliveries SET status = 'pending', next_at = $3, updated = $3, locked_until = 0 WHERE webhook_id = $1 AND id = $2 AND status <> 'pending'",
        [webhookId, id, now],
      )) > 0
    );
  }
  async recoverDeliveries(webhookId: string, since: number, now: number): Promise<number> {
    return this.changes(
      "UPDATE deliveries SET status = 'pending', next_at = $3, updated = $3, locked_until = 0 WHERE webhook_id = $1 AND status = 'failed' AND created >= $2",
      [webhookId, since, now],
    );
  }
  async prune(before: number): Promise<PruneResult> {
    const now = Date.now();
    return this.tx(async (c) => {
      const n = async (sql: string, args: unknown[]) => (await c.query(sql, args)).rowCount ?? 0;
      return {
        expired: await n(
          "UPDATE deliveries SET status = 'failed', last_error = 'expired: its webhook stayed disabled past the retention', updated = $2 WHERE status = 'pending' AND created < $1 AND webhook_id IN (SELECT id FROM webhooks WHERE NOT enabled)",
          [before, now],
        ),
        attempts: await n('DELETE FROM attempts WHERE created < $1', [before]),
        deliveries: await n("DELETE FROM deliveries WHERE status <> 'pending' AND updated < $1", [before]),
        events: await n('DELETE FROM events e WHERE created < $1 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)', [before]),
      };
    });
  }

  async loadLegs(): Promise<StoredLeg[]> {
    return this.rows<StoredLeg>('SELECT id, state FROM legs ORDER BY updated');
  }
  async getSetting(key: string): Promise<string | undefined> {
    return (await this.rows<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]))[0]?.value;
  }
  async setSetting(key: string, value: string): Promise<void> {
    await this.pool.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  async ping(): Promise<void> {
    await this.pool.query("INSERT INTO settings (key, value) VALUES ('ready_check', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [
      String(Date.now()),
    ]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
