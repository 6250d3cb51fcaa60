/** startDaemon(config): wires ARI → tracker → ingest → store → dispatcher, and the REST API. */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config, Role } from './config.js';
import { AriClient, safeUrl } from '../ari/client.js';
import { reconcile } from '../pipeline/reconcile.js';
import { AccountDirectory } from '../calls/account.js';
import { CallTracker } from '../calls/tracker.js';
import { Ingest } from '../pipeline/ingest.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { PostgresStore } from '../store/postgres/store.js';
import type { Store } from '../store/store.js';
import { ThreadSender } from '../delivery/thread-sender.js';
import { Dispatcher } from '../delivery/dispatcher.js';
import { healthNotifier } from '../delivery/notify.js';
import { buildApp } from '../api/app.js';
import { newToken } from '../api/auth.js';
import { Metrics } from '../metrics/registry.js';
import { readiness } from '../metrics/ready.js';
import { createLogger } from './log.js';

export { createLogger } from './log.js';

export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface Daemon {
  app: FastifyInstance;
  /** the API's base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  logger: Logger;
  ingest: Ingest;
  close(): Promise<void>;
}

/** how often a process on a shared (PostgreSQL) store reads the accounts again */
const ACCOUNTS_RELOAD_MS = 2000;

/** a file or directory that others may read is narrowed to `mode`, with a warning */
function narrow(path: string, mode: number, logger: Logger): void {
  const was = statSync(path).mode & 0o777;
  if ((was & 0o077) === 0) return;
  chmodSync(path, mode);
  logger.warn({ path, was: was.toString(8), now: mode.toString(8) }, 'narrowed the permissions of a file that others could read');
}

/** the data directory: 0700 (it holds the database with the signing secrets, and the admin token) */
function dataDir(dir: string, logger: Logger): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  narrow(dir, 0o700, logger);
}

/** the admin token: configured, or generated once into DATA_DIR/admin-token (mode 0600) */
function adminToken(config: Config, logger: Logger): string {
  if (config.adminToken) return config.adminToken;
  const file = join(config.dataDir, 'admin-token');
  if (existsSync(file)) {
    narrow(file, 0o600, logger);
    return readFileSync(file, 'utf8').trim();
  }
  const token = newToken();
  writeFileSync(file, token + '\n', { mode: 0o600 });
  logger.warn({ admin_token: token, file }, 'generated an admin token (shown once; also stored in this file)');
  return token;
}

export async function startDaemon(config: Config, logger: Logger = createLogger(config.logLevel, config.logFormat)): Promise<Daemon> {
  const has = (role: Role) => config.roles.includes(role);
  dataDir(config.dataDir, logger);
  const store: Store = config.databaseUrl ? await PostgresStore.open(config.databaseUrl) : new SqliteStore(join(config.dataDir, 'callhook.db'));
  const accounts = new AccountDirectory(config.defaultAccount);
  const loadAccounts = async () => accounts.load(await store.listAccounts());
  await loadAccounts();
  // another process sharing the PostgreSQL store may add or change accounts: read them again now and then
  const reloadAccounts = () => loadAccounts().catch((err: Error) => logger.warn({ reason: err.message }, 'could not reload accounts'));
  const accountsTimer = config.databaseUrl ? setInterval(reloadAccounts, ACCOUNTS_RELOAD_MS).unref() : undefined;

  // counting a large backlog is a scan: health polled in a loop must not keep the store busy
  let pending = { at: 0, n: 0 };
  const pendingCount = async () => {
    if (Date.now() - pending.at >= 1000) pending = { n: await store.countPending(), at: Date.now() };
    return pending.n;
  };
  const metrics = new Metrics({ store, pendingCount, ingest: has('ingest'), deliver: has('deliver'), logger: logger.child({ component: 'metrics' }) });

  const sender = new ThreadSender({
    connectTimeoutMs: config.delivery.connectTimeoutMs,
    timeoutMs: config.delivery.timeoutMs,
    allowTargets: config.allowTargets,
    refusePrivateTargets: config.refusePrivateTargets,
    connections: config.delivery.perHookConcurrency,
  });
  const dispatcher = new Dispatcher({
    store,
    sender,
    logger: logger.child({ component: 'delivery' }),
    rules: {
      retry: { baseMs: config.delivery.retryBaseMs, maxMs: config.delivery.retryMaxMs, jitter: 0.2 },
      failingAfter: config.delivery.failingAfter,
      probeBaseMs: config.delivery.probeBaseMs,
      probeMaxMs: config.delivery.probeMaxMs,
      disableAfterMs: config.delivery.disableAfterHours * 3_600_000,
    },
    concurrency: config.delivery.concurrency,
    perHookConcurrency: config.delivery.perHookConcurrency,
    pollIntervalMs: config.delivery.pollIntervalMs,
    leaseMs: config.delivery.leaseMs,
    disableAfter: config.delivery.disableAfter,
    disableWindowMs: config.delivery.disableWindowMs,
    userAgent: `callhook/${VERSION}`,
    notify: healthNotifier(store, accounts, () => dispatcher.wake()),
    metrics,
  });
  const defaultRealm = config.defaultRealm ?? new URL(config.ari.url).hostname;
  const tracker = new CallTracker(accounts, { accountVariable: config.accountVariable });
  tracker.restore(await store.loadLegs());
  const ingest = new Ingest({
    tracker,
    accounts,
    store,
    logger: logger.child({ component: 'ingest' }),
    defaultRealm,
    onStored: () => dispatcher.wake(),
    metrics,
  });
  const ariLog = logger.child({ component: 'ari' });
  const ari = new AriClient({
    ...config.ari,
    logger: ariLog,
    metrics,
    onEvent: (ev) => ingest.push(ev),
    onConnected: () => {
      reconcile({ ari, tracker, ingest, store, logger: ariLog }).catch((err: Error) =>
        ariLog.warn({ reason: err.message }, 'could not reconcile call legs with Asterisk'),
      );
    },
  });
  metrics.watch({ ari, ingest, tracker, dispatcher });

  const app = await buildApp({
    store,
    accounts,
    adminToken: adminToken(config, logger),
    logger,
    bodyLimit: config.api.bodyLimit,
    limits: config.api,
    onWebhooksChanged: () => dispatcher.wake(),
    sendTest: (hook, payload) => dispatcher.sendTest(hook, payload),
    checkTarget: (uri) => sender.guard.checkUrl(uri),
    defaultRealm,
    secretGraceMs: config.delivery.secretGraceHours * 3_600_000,
    routes: has('api'),
    version: VERSION,
    health: async () => ({
      version: VERSION,
      roles: config.roles,
      ari: has('ingest') ? ari.status : 'off',
      open_legs: tracker.openLegs,
      ari_events_received: ingest.received,
      ari_events_committed: ingest.committed,
      events_stored: ingest.stored,
      events_without_account: tracker.dropped,
      events_lost: ingest.lost,
      deliveries_in_flight: dispatcher.inFlight,
      deliveries_pending: await pendingCount(),
      webhooks_failing: await store.countFailing(),
      rss_mb: Math.round(process.memoryUsage.rss() / 2 ** 20),
      heap_used_mb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    }),
    ready: readiness({ store, ...(has('ingest') && { ari }) }),
    metrics: () => metrics.scrape(),
  });
  try {
    await app.listen({ host: config.api.host, port: config.api.port });
  } catch (err) {
    clearInterval(accountsTimer);
    await store.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.api.port;
  const host = config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host;
  const url = `http://${host}:${port}`;
  logger.info(
    {
      api: url,
      roles: config.roles,
      store: config.databaseUrl ? 'postgresql' : 'sqlite',
      data_dir: config.dataDir,
      ari: safeUrl(config.ari.url),
      app: config.ari.app,
    },
    'callhook started',
  );

  if (has('deliver')) dispatcher.start();
  if (has('ingest')) ari.start();

  // retention: attempts, finished deliveries and their events older than CALLHOOK_RETENTION_DAYS
  const prune = () =>
    store.prune(Date.now() - config.retentionDays * 86_400_000).then(
      (n) => {
        metrics.expired(n.expired);
        if (n.expired || n.attempts || n.deliveries || n.events) logger.info({ pruned: n }, 'pruned old delivery records');
      },
      (err: unknown) => logger.error({ err }, 'pruning failed'),
    );
  void prune();
  const pruneTimer = setInterval(prune, 3_600_000);
  pruneTimer.unref();

  let closing: Promise<void> | undefined;
  return {
    app,
    url,
    logger,
    ingest,
    close: () =>
      (closing ??= (async () => {
        clearInterval(pruneTimer);
        clearInterval(accountsTimer);
        // one grace period for everything in flight, whatever clients and receivers do: API
        // requests still open then (a client holding its body open) are cut off
        const deadline = Date.now() + config.delivery.shutdownGraceMs;
        const cutOff = setTimeout(() => app.server.closeAllConnections(), config.delivery.shutdownGraceMs);
        await ari.close();
        await app.close();
        clearTimeout(cutOff);
        await ingest.close();
        await dispatcher.close(Math.max(0, deadline - Date.now()));
        await sender.close().catch(() => undefined);
        await store.close();
        logger.info('callhook stopped');
      })()),
  };
}
