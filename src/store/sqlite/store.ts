/** The embedded SQLite store (better-sqlite3, WAL). */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../shared/threads.js';
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
  DeliveryStatus,
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
import { SQLITE_MIGRATIONS } from './migrations.js';
import { CLAIMABLE_COLUMNS, claimsInTurn, toClaimable } from '../turns.js';
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
import type { HealthState, WebhookHealth } from '../../hooks/health.js';

/** the writer checkpoints itself only when the log grows past this many pages (the checkpointer stopped or fell behind) */
const BACKSTOP_PAGES = 10_000;
/**
 * the checkpointer looks for new commits this often. A page the writer changes again and again
 * (the last page of a table or an index) is copied once per checkpoint: every 5 ms it cost that
 * thread twice the CPU of every 50 ms (bench/README.md)
 */
const CHECKPOINT_INTERVAL_MS = 50;
/** a scan of every pending delivery: with a large backlog it takes tens of ms, so the checkpointer's thread runs it */
const COUNT_PENDING = "SELECT COUNT(*) AS n FROM deliveries WHERE status = 'pending'";
/**
 * when the oldest pending delivery was stored (NULL: none is): the first by seq, which is the
 * order they were stored in. MIN(seq) is read from a pending index (the rowid is in every
 * index), not by walking the table from its first row past the finished ones
 */
const OLDEST_PENDING =
  "SELECT (SELECT created FROM deliveries WHERE seq = (SELECT MIN(seq) FROM deliveries INDEXED BY deliveries_pending_next WHERE status = 'pending')) AS at";
/** the scans the checkpointer's thread runs for this store */
const SCANS = { count: COUNT_PENDING, oldest: OLDEST_PENDING };
type Scan = keyof typeof SCANS;

/**
 * One process owns a SQLite store (its delivery leases live in that process's memory): an
 * exclusive lock on FILE.lock, held while the store is open and dropped by the OS when the
 * process dies however it dies.
 */
/**
 * The database holds signing secrets and custom header values: its files are 0600 whatever the
 * umask (SQLite gives the -wal and -shm files the mode of the database file), created so or
 * narrowed if an earlier version left them wider.
 */
function privateFiles(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}.lock`]) if (existsSync(f)) chmodSync(f, 0o600);
}

function own(file: string): Database.Database {
  const lock = new Database(`${file}.lock`, { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('CREATE TABLE IF NOT EXISTS owner (pid INTEGER NOT NULL); DELETE FROM owner;');
    lock.prepare('INSERT INTO owner (pid) VALUES (?)').run(process.pid);
    return lock;
  } catch (err) {
    lock.close();
    throw new AppError('config', `${file} is in use by another callhook process (one process owns a SQLite store)`, { cause: err });
  }
}

/**
 * The rowid of a table's first row created between @before and @now (past the last row if
 * none is). A row dated in the future (an event stamped by a PBX whose clock ran ahead) does
 * not hold back the prune of the rows after it.
 */
function firstRowFrom(table: string, rowid: string): string {
  return `COALESCE((SELECT ${rowid} FROM ${table} WHERE created >= @before AND created <= @now ORDER BY ${rowid} LIMIT 1), 9223372036854775807)`;
}

const STATUS_LITERAL: Record<DeliveryStatus, string> = { pending: 'pending', succeeded: 'succeeded', failed: 'failed' };

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly stmt: Record<string, Database.Statement>;
  private claimRound = 0;
  private readonly checkpointer: Worker | undefined;
  /** countPending and oldestPending calls waiting for the checkpointer's answer, by request number */
  private readonly counting = new Map<number, (n: number | null | undefined) => void>();
  private countRequests = 0;
  private readonly lock: Database.Database | undefined;
  /** claimed deliveries by id → their seq and until when (leases are this process's: it owns the file) */
  private readonly leases = new Map<string, { seq: number; until: number }>();

  constructor(file: string) {
    if (file !== ':memory:') {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      privateFiles(`${file}.lock`);
      privateFiles(file);
      this.lock = own(file);
    }
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    if (file !== ':memory:') {
      this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
      this.db.pragma(`journal_size_limit = ${64 * 2 ** 20}`);
      this.checkpointer = startWorker(import.meta.url, 'checkpoint-worker', { file, queries: SCANS, intervalMs: CHECKPOINT_INTERVAL_MS });
      this.checkpointer.unref();
      // without its checkpointer the writer checkpoints as SQLite does by default
      this.checkpointer.on('error', () => this.db.open && this.db.pragma('wal_autocheckpoint = 1000'));
      this.checkpointer.on('message', ({ count, n }: { count: number; n: number | null | undefined }) => {
        this.counting.get(count)?.(n);
        this.counting.delete(count);
        if (this.counting.size === 0) this.checkpointer?.unref();
      });
      this.checkpointer.on('exit', () => {
        for (const answer of this.counting.values()) answer(undefined);
        this.counting.clear();
      });
    }
    const p = (sql: string) => this.db.prepare(sql);
    this.stmt = {
      insertAccount: p(
        'INSERT INTO accounts (id, name, realm, parent_id, accountcodes, numbers, created, updated) VALUES (@id, @name, @realm, @parent_id, @accountcodes, @numbers, @created, @updated)',
      ),
      getAccount: p('SELECT * FROM accounts WHERE id = ?'),
      listAccounts: p('SELECT * FROM accounts ORDER BY id'),
      updateAccount: p(
        'UPDATE accounts SET name = @name, realm = @realm, parent_id = @parent_id, accountcodes = @accountcodes, numbers = @numbers, updated = @updated WHERE id = @id',
      ),
      deleteAccount: p('DELETE FROM accounts WHERE id = ?'),
      insertToken: p('INSERT INTO tokens (id, account_id, hash, created) VALUES (?, ?, ?, ?)'),
      findToken: p('SELECT id, account_id, created, last_used FROM tokens WHERE hash = ?'),
      touchToken: p('UPDATE tokens SET last_used = ? WHERE id = ?'),
      listTokens: p('SELECT id, account_id, created, last_used FROM tokens WHERE account_id = ? ORDER BY created, id'),
      deleteToken: p('DELETE FROM tokens WHERE account_id = ? AND id = ?'),
      insertWebhook: p(
        `INSERT INTO webhooks (${WEBHOOK_COLUMNS}) VALUES (${WEBHOOK_COLUMNS.split(', ')
          .map((c) => `@${c}`)
          .join(', ')})`,
      ),
      getWebhook: p(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE account_id = ? AND id = ?`),
      webhookById: p(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?`),
      listWebhooks: p(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE account_id = ? AND id >= ? ORDER BY id LIMIT ?`),
      updateWebhook: p(
        `UPDATE webhooks SET ${EDITABLE_COLUMNS.map((c) => `${c} = @${c}`).join(', ')},
           paused = CASE WHEN @enabled = 1 OR @disabled_reason IS NULL THEN 0 ELSE paused END
         WHERE account_id = @account_id AND id = @id`,
      ),
      // a webhook re-enabled, or given another uri, starts healthy (run before the edit is saved)
      resetHealth: p(`UPDATE webhooks SET ${HEALTH_RESET} WHERE id = @id AND health != 'healthy' AND ((enabled = 0 AND @enabled = 1) OR uri != @uri)`),
      resetHealthOfDisabled: p(`UPDATE webhooks SET ${HEALTH_RESET} WHERE account_id = ? AND enabled = 0 AND health != 'healthy'`),
      setHealth: p(`UPDATE webhooks SET ${HEALTH_COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id AND (@from IS NULL OR health = @from)`),
      // a recovered webhook's backlog goes out now (through the pending deliveries of that webhook)
      sendNow: p("UPDATE deliveries INDEXED BY deliveries_pending_leg SET next_at = @now WHERE webhook_id = @id AND status = 'pending' AND next_at > @now"),
      probeGuard: p('UPDATE webhooks SET next_probe = ? WHERE id = ?'),
      rotateSecret: p(
        'UPDATE webhooks SET previous_secret = secret, secret = @secret, previous_secret_until = @until, updated = @now WHERE account_id = @account_id AND id = @id',
      ),
      pendingOf: p("SELECT COUNT(*) AS n FROM deliveries INDEXED BY deliveries_pending_leg WHERE webhook_id = ? AND status = 'pending'").pluck(),
      countFailing: p("SELECT COUNT(*) FROM webhooks WHERE enabled = 1 AND health = 'failing'").pluck(),
      byHealth: p("SELECT CASE WHEN enabled = 1 THEN health ELSE 'disabled' END AS health, COUNT(*) AS n FROM webhooks GROUP BY 1"),
      ping: p("INSERT INTO settings (key, value) VALUES ('ready_check', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
      deleteWebhook: p('DELETE FROM webhooks WHERE account_id = ? AND id = ?'),
      disableWebhook: p('UPDATE webhooks SET enabled = 0, paused = ?, disabled_reason = ?, updated = ? WHERE id = ? AND enabled = 1 AND updated <= ?'),
      reenable: p('UPDATE webhooks SET enabled = 1, paused = 0, disabled_reason = NULL, updated = ? WHERE account_id = ? AND enabled = 0'),
      insertEvent: p('INSERT OR IGNORE INTO events (id, account_id, hook_event, leg, call_id, payload, created) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      insertDelivery: p(
        // ready: the first pending delivery of its leg to its hook (the only one a claim may take;
        // migration 5's triggers move the mark on). VALUES, not INSERT … SELECT: a SELECT that
        // reads the table it inserts into goes through a temporary table (4× the time)
        `INSERT OR IGNORE INTO deliveries (id, event_id, webhook_id, leg, status, tries, next_at, created, updated, ready)
         VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?,
           NOT EXISTS (SELECT 1 FROM deliveries WHERE webhook_id = ? AND leg = ? AND status = 'pending'))`,
      ),
      enabledHooks: p(`SELECT ${CLAIMABLE_COLUMNS} FROM webhooks WHERE enabled = 1`),
      webhookExists: p('SELECT 1 FROM webhooks WHERE id = ?').pluck(),
      // a re-enabled webhook's waiting deliveries go out now, not after their last backoff (run
      // before the webhook is enabled: for one webhook, or every disabled one of an account)
      sendNowIfDisabled: p(
        "UPDATE deliveries SET next_at = @now WHERE status = 'pending' AND next_at > @now AND webhook_id IN (SELECT id FROM webhooks WHERE enabled = 0 AND (id = @id OR account_id = @account_id))",
      ),
      // the ready deliveries of a webhook in claim order (read from the index alone), then one
      // by one those taken
      dueSeqs: p(`
        SELECT seq FROM deliveries
        WHERE webhook_id = @hook AND status = 'pending' AND ready = 1 AND next_at <= @now
        ORDER BY next_at, seq
        LIMIT @limit`).pluck(),
      dueRow: p(`
        SELECT d.id, d.event_id, d.webhook_id, d.tries, e.payload, e.hook_event, e.call_id, e.account_id, e.created AS event_created
        FROM deliveries d
        JOIN events e ON e.id = d.event_id
        WHERE d.seq = ?`),
      nextDue: p("SELECT MIN(next_at) AS at FROM deliveries WHERE status = 'pending' AND next_at > ?"),
      countPending: p(COUNT_PENDING).pluck(),
      oldestPending: p(OLDEST_PENDING).pluck(),
      failures: p("SELECT COUNT(*) AS n FROM attempts WHERE webhook_id = ? AND result = 'failure' AND created >= ?"),
      retryOne: p(
        "UPDATE deliveries SET status = 'pending', next_at = @now, updated = @now WHERE webhook_id = @webhook_id AND id = @id AND status != 'pending'",
      ),
      recover: p(
        "UPDATE deliveries SET status = 'pending', next_at = @now, updated = @now WHERE webhook_id = @webhook_id AND status = 'failed' AND created >= @since",
      ),
      expire: p(
        // through the pending deliveries of each disabled webhook, not its whole history
        "UPDATE deliveries INDEXED BY deliveries_pending_leg SET status = 'failed', last_error = 'expired: its webhook stayed disabled past the retention', updated = @now WHERE status = 'pending' AND created < @before AND webhook_id IN (SELECT id FROM webhooks WHERE enabled = 0)",
      ),
      // Rows are stored in the order of their time, so the old ones are those before the first
      // row of @before or later: each prune reads those, not the whole table (a scan of months
      // of rows blocked the thread every hour). A row a few ms out of order waits for the next.
      pruneAttempts: p(`DELETE FROM attempts WHERE created < @before AND id < ${firstRowFrom('attempts', 'id')}`),
      pruneDeliveries: p(`DELETE FROM deliveries WHERE status != 'pending' AND updated < @before AND seq < ${firstRowFrom('deliveries', 'seq')}`),
      pruneEvents: p(
        `DELETE FROM events WHERE created < @before AND rowid < ${firstRowFrom('events', 'rowid')}
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)`,
      ),
      upsertLeg: p('INSERT INTO legs (id, state, updated) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state, updated = excluded.updated'),
      deleteLeg: p('DELETE FROM legs WHERE id = ?'),
      loadLegs: p('SELECT id, state FROM legs ORDER BY updated'),
      getSetting: p('SELECT value FROM settings WHERE key = ?'),
      setSetting: p('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      // a leased delivery by its seq (the rowid: one b-tree less than by id), others by id
      updateDelivery: p('UPDATE deliveries SET status = ?, tries = ?, next_at = ?, last_error = ?, updated = ? WHERE id = ?'),
      updateDeliveryAt: p('UPDATE deliveries SET status = ?, tries = ?, next_at = ?, last_error = ?, updated = ? WHERE seq = ?'),
      insertAttempt: p(`
        INSERT INTO attempts (delivery_id, webhook_id, account_id, event_id, hook_event, call_id, uri, method, status_code, response_body, duration_ms, try_number, retries_left, result, reason, created)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    };
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)');
    const done = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => r.version as number));
    SQLITE_MIGRATIONS.forEach((sql, i) => {
      const version = i + 1;
      if (done.has(version)) return;
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied) VALUES (?, ?)').run(version, Date.now());
      })();
    });
  }

  /** the migrations applied to this database, oldest first (callhook migrate) */
  async schemaMigrations(): Promise<{ version: number; applied: number }[]> {
    return this.db.prepare('SELECT version, applied FROM schema_migrations ORDER BY version').all() as { version: number; applied: number }[];
  }

  async createAccount(a: Account): Promise<void> {
    this.stmt.insertAccount!.run(accountParams(a));
  }
  async getAccount(id: string): Promise<Account | undefined> {
    const r = this.stmt.getAccount!.get(id) as Row | undefined;
    return r && toAccount(r);
  }
  async listAccounts(): Promise<Account[]> {
    return (this.stmt.listAccounts!.all() as Row[]).map(toAccount);
  }
  async updateAccount(a: Account): Promise<void> {
    this.stmt.updateAccount!.run(accountParams(a));
  }
  async deleteAccount(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      // tokens, webhooks and their deliveries go with it (foreign keys); its attempts and the
      // events no delivery needs any more too, and its sub-accounts stand alone
      const deleted = this.stmt.deleteAccount!.run(id).changes > 0;
      if (deleted) for (const sql of ACCOUNT_LEFTOVERS) this.db.prepare(sql).run(id);
      return deleted;
    })();
  }

  async createToken(t: Token, hash: string): Promise<void> {
    this.stmt.insertToken!.run(t.id, t.account_id, hash, t.created);
  }
  async findToken(hash: string): Promise<Token | undefined> {
    const r = this.stmt.findToken!.get(hash) as Token | undefined;
    if (r) this.stmt.touchToken!.run(Date.now(), r.id);
    return r;
  }
  async listTokens(accountId: string): Promise<Token[]> {
    return this.stmt.listTokens!.all(accountId) as Token[];
  }
  async deleteToken(accountId: string, tokenId: string): Promise<boolean> {
    return this.stmt.deleteToken!.run(accountId, tokenId).changes > 0;
  }

  async createWebhook(h: Webhook): Promise<void> {
    this.stmt.insertWebhook!.run(webhookParams(h));
  }
  async getWebhook(accountId: string, id: string): Promise<Webhook | undefined> {
    const r = this.stmt.getWebhook!.get(accountId, id) as Row | undefined;
    return r && toWebhook(r);
  }
  async webhookById(id: string): Promise<Webhook | undefined> {
    const r = this.stmt.webhookById!.get(id) as Row | undefined;
    return r && toWebhook(r);
  }
  async listWebhooks(accountId: string, page: Page): Promise<PageResult<Webhook>> {
    const rows = (this.stmt.listWebhooks!.all(accountId, page.start_key ?? '', page.limit + 1) as Row[]).map(toWebhook);
    return pageOf(rows, page.limit, (h) => h.id);
  }
  async updateWebhook(h: Webhook): Promise<void> {
    this.db.transaction(() => {
      if (h.enabled) this.stmt.sendNowIfDisabled!.run({ now: h.updated, id: h.id, account_id: null });
      this.stmt.resetHealth!.run({ id: h.id, enabled: h.enabled ? 1 : 0, uri: h.uri });
      this.stmt.updateWebhook!.run(webhookParams(h));
    })();
  }
  async setWebhookHealth(id: string, health: WebhookHealth, now: number, from?: HealthState): Promise<boolean> {
    return this.db.transaction(() => {
      const saved = this.stmt.setHealth!.run({ ...healthParams(health), id, from: from ?? null }).changes > 0;
      if (saved && from === 'failing' && health.state === 'healthy') this.stmt.sendNow!.run({ id, now });
      return saved;
    })();
  }
  async rotateSecret(accountId: string, id: string, secret: string, previousUntil: number, now: number): Promise<boolean> {
    return this.stmt.rotateSecret!.run({ account_id: accountId, id, secret, until: previousUntil, now }).changes > 0;
  }
  async pendingByWebhook(ids: string[]): Promise<Map<string, number>> {
    return new Map(ids.map((id) => [id, this.stmt.pendingOf!.get(id) as number]));
  }
  async countFailing(): Promise<number> {
    return this.stmt.countFailing!.get() as number;
  }
  async countWebhooksByHealth(): Promise<Record<'healthy' | 'failing' | 'disabled', number>> {
    const out = { healthy: 0, failing: 0, disabled: 0 };
    for (const r of this.stmt.byHealth!.all() as { health: keyof typeof out; n: number }[]) if (r.health in out) out[r.health] += r.n;
    return out;
  }
  async deleteWebhook(accountId: string, id: string): Promise<boolean> {
    return this.stmt.deleteWebhook!.run(accountId, id).changes > 0;
  }
  async activeWebhooks(accountIds: string[]): Promise<Webhook[]> {
    if (accountIds.length === 0) return [];
    const key = `active${accountIds.length}`;
    this.stmt[key] ??= this.db.prepare(
      `SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE (enabled = 1 OR paused = 1) AND account_id IN (${accountIds.map(() => '?').join(',')})`,
    );
    return (this.stmt[key].all(...accountIds) as Row[]).map(toWebhook);
  }
  async disableWebhook(id: string, reason: string, at: number, collect = false, seenUpdated = Number.MAX_SAFE_INTEGER): Promise<boolean> {
    return this.stmt.disableWebhook!.run(collect ? 1 : 0, reason, at, id, seenUpdated).changes > 0;
  }
  async reenableWebhooks(accountId: string, at: number): Promise<number> {
    return this.db.transaction(() => {
      this.stmt.sendNowIfDisabled!.run({ now: at, id: null, account_id: accountId });
      this.stmt.resetHealthOfDisabled!.run(accountId);
      return this.stmt.reenable!.run(at, accountId).changes;
    })();
  }

  async insertEvents(items: { event: StoredEvent; webhookIds: string[] }[], legs?: LegChanges): Promise<number> {
    return this.db.transaction(() => {
      const now = Date.now();
      let fresh = 0;
      // a webhook deleted since the ingest read it gets no delivery (its foreign key would fail the batch)
      const exists = new Map<string, boolean>();
      const known = (id: string) => {
        let yes = exists.get(id);
        if (yes === undefined) exists.set(id, (yes = this.stmt.webhookExists!.get(id) !== undefined));
        return yes;
      };
      for (const { event: ev, webhookIds } of items) {
        if (this.stmt.insertEvent!.run(ev.id, ev.account_id, ev.hook_event, ev.leg, ev.call_id, ev.payload, ev.created).changes === 0) continue;
        fresh += 1;
        for (const hookId of webhookIds) {
          if (known(hookId)) this.stmt.insertDelivery!.run(deliveryId(ev.id, hookId), ev.id, hookId, ev.leg, now, now, now, hookId, ev.leg);
        }
      }
      if (legs) this.writeLegs(legs, now);
      return fresh;
    })();
  }
  async claimDeliveries(now: number, limit: number, leaseMs: number, slots?: Slots): Promise<DueDelivery[]> {
    const leased = new Set<number>();
    for (const [id, lease] of this.leases) {
      if (lease.until <= now) this.leases.delete(id);
      else leased.add(lease.seq);
    }
    return this.db.transaction(() => {
      const hooks = (this.stmt.enabledHooks!.all() as Row[]).map(toClaimable);
      const out: DueDelivery[] = [];
      // up to `n` due deliveries of a webhook, oldest first; the leased ones are skipped
      // (reading that many more than there is room for is enough)
      const take = (hook: string, n: number, target: DueDelivery['target']) => {
        let taken = 0;
        for (const seq of this.stmt.dueSeqs!.all({ hook, now, limit: n + leased.size }) as number[]) {
          if (leased.has(seq)) continue;
          const d = this.stmt.dueRow!.get(seq) as Omit<DueDelivery, 'target'> | undefined;
          if (!d) continue;
          this.leases.set(d.id, { seq, until: now + leaseMs });
          leased.add(seq);
          out.push({ ...d, target });
          if (++taken === n) break;
        }
        return taken;
      };
      for (const c of claimsInTurn(hooks, this.claimRound++, now, () => limit - out.length, slots && ((h) => slots.room(h)))) {
        // no other claim probes it while this probe is out
        const probed = c.probe ? take(c.hook.id, 1, 'probe') : 0;
        if (probed === 1) this.stmt.probeGuard!.run(now + leaseMs, c.hook.id);
        const taken = probed + (c.rest > 0 ? take(c.hook.id, c.rest, c.target) : 0);
        slots?.took(c.hook, taken);
      }
      return out;
    })();
  }
  async releaseDeliveries(ids: string[]): Promise<void> {
    for (const id of ids) this.leases.delete(id);
  }
  /** counted on the checkpointer's connection, off this thread; here when that thread is not running */
  async countPending(): Promise<number> {
    const n = await this.scan('count');
    return n ?? (this.stmt.countPending!.get() as number);
  }
  /** read on the checkpointer's connection like countPending */
  async oldestPending(): Promise<number | undefined> {
    const at = await this.scan('oldest');
    return (at === undefined ? (this.stmt.oldestPending!.get() as number | null) : at) ?? undefined;
  }
  /** a scan's value from the checkpointer's thread (null: none); undefined when that thread did not answer */
  private async scan(query: Scan): Promise<number | null | undefined> {
    const worker = this.checkpointer;
    if (!worker || worker.threadId === -1) return undefined;
    const count = this.countRequests++;
    return new Promise<number | null | undefined>((resolve) => {
      this.counting.set(count, resolve);
      worker.ref(); // an awaited answer keeps the process alive
      worker.postMessage({ count, query });
    });
  }
  async ping(): Promise<void> {
    this.stmt.ping!.run(String(Date.now()));
  }
  async failuresSince(webhookId: string, since: number): Promise<number> {
    return (this.stmt.failures!.get(webhookId, since) as { n: number }).n;
  }
  async listDeliveries(q: DeliveryQuery): Promise<PageResult<Delivery>> {
    const where = ['d.webhook_id = ?'];
    const args: unknown[] = [q.webhook_id];
    // the status as a literal, so that the planner takes the failed deliveries' own index
    if (q.status) where.push(`d.status = '${STATUS_LITERAL[q.status]}'`);
    if (q.start_key) {
      where.push('d.seq <= ?');
      args.push(Number(q.start_key));
    }
    const rows = this.db
      .prepare(
        `SELECT d.seq, d.id, d.event_id, d.webhook_id, e.hook_event, e.call_id, d.status, d.tries, d.next_at, d.last_error, d.created, d.updated
         FROM deliveries d JOIN events e ON e.id = d.event_id WHERE ${where.join(' AND ')} ORDER BY d.seq DESC LIMIT ?`,
      )
      .all(...args, q.limit + 1) as (Delivery & { seq: number })[];
    return pageOf(
      rows,
      q.limit,
      (d) => d.seq,
      ({ seq: _seq, ...d }) => d,
    );
  }
  async retryDelivery(webhookId: string, deliveryId: string, now: number): Promise<boolean> {
    return this.stmt.retryOne!.run({ webhook_id: webhookId, id: deliveryId, now }).changes > 0;
  }
  async recoverDeliveries(webhookId: string, since: number, now: number): Promise<number> {
    return this.stmt.recover!.run({ webhook_id: webhookId, since, now }).changes;
  }
  async prune(before: number): Promise<PruneResult> {
    const now = Date.now();
    return this.db.transaction(() => ({
      expired: this.stmt.expire!.run({ before, now }).changes,
      attempts: this.stmt.pruneAttempts!.run({ before, now }).changes,
      deliveries: this.stmt.pruneDeliveries!.run({ before, now }).changes,
      events: this.stmt.pruneEvents!.run({ before, now }).changes,
    }))();
  }
  private writeLegs(legs: LegChanges, now: number): void {
    for (const l of legs.upserts) this.stmt.upsertLeg!.run(l.id, l.state, now);
    for (const id of legs.deletes) this.stmt.deleteLeg!.run(id);
  }
  async loadLegs(): Promise<StoredLeg[]> {
    return this.stmt.loadLegs!.all() as StoredLeg[];
  }
  async getSetting(key: string): Promise<string | undefined> {
    return (this.stmt.getSetting!.get(key) as { value: string } | undefined)?.value;
  }
  async setSetting(key: string, value: string): Promise<void> {
    this.stmt.setSetting!.run(key, value);
  }
  async nextDueAt(after: number): Promise<number | undefined> {
    const r = this.stmt.nextDue!.get(after) as { at: number | null };
    return r.at ?? undefined;
  }
  async recordAttempts(items: { attempt: AttemptInput; update?: DeliveryUpdate }[]): Promise<void> {
    this.db.transaction(() => {
      for (const { attempt: a, update: u } of items) {
        this.stmt.insertAttempt!.run(
          a.delivery_id,
          a.webhook_id,
          a.account_id,
          a.event_id,
          a.hook_event,
          a.call_id,
          a.uri,
          a.method,
          a.status_code,
          a.response_body,
          a.duration_ms,
          a.try_number,
          a.retries_left,
          a.result,
          a.reason,
          a.created,
        );
        if (!u) continue;
        const lease = this.leases.get(u.id);
        if (lease) this.stmt.updateDeliveryAt!.run(u.status, u.tries, u.next_at, u.last_error, a.created, lease.seq);
        else this.stmt.updateDelivery!.run(u.status, u.tries, u.next_at, u.last_error, a.created, u.id);
      }
    })();
    for (const { update } of items) if (update) this.leases.delete(update.id);
  }
  async listAttempts(q: AttemptQuery): Promise<PageResult<Attempt>> {
    const where = ['account_id = ?'];
    const args: unknown[] = [q.account_id];
    if (q.webhook_id) {
      where.push('webhook_id = ?');
      args.push(q.webhook_id);
    }
    if (q.created_from !== undefined) {
      where.push('created >= ?');
      args.push(q.created_from);
    }
    if (q.created_to !== undefined) {
      where.push('created <= ?');
      args.push(q.created_to);
    }
    if (q.start_key) {
      where.push('id <= ?');
      args.push(Number(q.start_key));
    }
    const rows = this.db.prepare(`SELECT * FROM attempts WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...args, q.limit + 1) as Attempt[];
    return pageOf(rows, q.limit, (a) => a.id);
  }

  async close(): Promise<void> {
    const worker = this.checkpointer;
    if (worker && worker.threadId !== -1) {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.ref();
      worker.postMessage('close');
      await exited;
    }
    if (this.db.open) this.db.close();
    if (this.lock?.open) this.lock.close();
  }
}
