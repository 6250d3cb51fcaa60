/**
 * loadConfig(): defaults → optional JSON file (CALLHOOK_CONFIG) → environment.
 * The file holds the same keys as the environment, e.g. {"CALLHOOK_PORT": 9090}.
 * Nothing else in callhook reads process.env.
 */
import { readFileSync } from 'node:fs';
import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { AppError } from '../shared/errors.js';

export interface Config {
  ari: { url: string; username: string; password: string; app: string; pingIntervalMs: number; maxFrameBytes: number };
  api: {
    host: string;
    port: number;
    bodyLimit: number;
    maxConnections: number;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    authFailuresPerMinute: number;
  };
  adminToken: string | undefined;
  dataDir: string;
  databaseUrl: string | undefined;
  /** what this process does; with SQLite all of it */
  roles: Role[];
  defaultAccount: string | undefined;
  defaultRealm: string | undefined;
  accountVariable: string;
  allowTargets: string[];
  /** refuse webhook targets in private ranges (10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10) too */
  refusePrivateTargets: boolean;
  logLevel: string;
  logFormat: LogFormat;
  delivery: {
    concurrency: number;
    perHookConcurrency: number;
    connectTimeoutMs: number;
    timeoutMs: number;
    retryBaseMs: number;
    retryMaxMs: number;
    pollIntervalMs: number;
    leaseMs: number;
    disableAfter: number;
    disableWindowMs: number;
    shutdownGraceMs: number;
    failingAfter: number;
    probeBaseMs: number;
    probeMaxMs: number;
    disableAfterHours: number;
    secretGraceHours: number;
  };
  retentionDays: number;
}

export const ROLES = ['ingest', 'deliver', 'api'] as const;
export type Role = (typeof ROLES)[number];

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

type Kind = 'string' | 'int' | 'list' | 'bool';
interface Setting {
  env: string;
  path: string;
  kind: Kind;
  schema: TSchema;
  default?: string | number | string[];
  secret?: boolean;
  doc: string;
}

const Int = (min: number, max: number) => Type.Integer({ minimum: min, maximum: max });
const Url = Type.String({ pattern: '^https?://[^\\s]+$' });
const Name = Type.String({ minLength: 1, pattern: '^[^\\s]+$' });

/** Every setting, with its environment name: docs/configuration.md's table mirrors this list. */
export const SETTINGS: Setting[] = [
  {
    env: 'CALLHOOK_ARI_URL',
    path: 'ari.url',
    kind: 'string',
    schema: Url,
    default: 'http://127.0.0.1:8088',
    doc: 'Asterisk HTTP base URL; the websocket URL is derived from it',
  },
  { env: 'CALLHOOK_ARI_USERNAME', path: 'ari.username', kind: 'string', schema: Type.String(), default: 'callhook', doc: 'ari.conf user' },
  { env: 'CALLHOOK_ARI_PASSWORD', path: 'ari.password', kind: 'string', schema: Type.String(), default: 'callhook', secret: true, doc: 'ari.conf password' },
  { env: 'CALLHOOK_ARI_APP', path: 'ari.app', kind: 'string', schema: Name, default: 'callhook', doc: 'ARI application name (unique per callhook process)' },
  {
    env: 'CALLHOOK_ARI_PING_MS',
    path: 'ari.pingIntervalMs',
    kind: 'int',
    schema: Int(1000, 600000),
    default: 15000,
    doc: 'websocket keep-alive ping interval',
  },
  {
    env: 'CALLHOOK_ARI_MAX_FRAME_BYTES',
    path: 'ari.maxFrameBytes',
    kind: 'int',
    schema: Int(4096, 67108864),
    default: 1048576,
    doc: 'largest ARI websocket frame accepted (ARI events are a few KB); a larger one is logged and the connection is reopened',
  },
  { env: 'CALLHOOK_HOST', path: 'api.host', kind: 'string', schema: Name, default: '127.0.0.1', doc: 'REST API listen address' },
  { env: 'CALLHOOK_PORT', path: 'api.port', kind: 'int', schema: Int(0, 65535), default: 8080, doc: 'REST API listen port' },
  {
    env: 'CALLHOOK_BODY_LIMIT',
    path: 'api.bodyLimit',
    kind: 'int',
    schema: Int(1024, 10485760),
    default: 65536,
    doc: 'largest accepted API request body, bytes',
  },
  {
    env: 'CALLHOOK_API_MAX_CONNECTIONS',
    path: 'api.maxConnections',
    kind: 'int',
    schema: Int(1, 1000000),
    default: 1024,
    doc: 'open API connections at most (keep it below the file descriptor limit); more are closed at once',
  },
  {
    env: 'CALLHOOK_API_HEADERS_TIMEOUT_MS',
    path: 'api.headersTimeoutMs',
    kind: 'int',
    schema: Int(100, 600000),
    default: 10000,
    doc: 'an API client must send its request headers within this time',
  },
  {
    env: 'CALLHOOK_API_REQUEST_TIMEOUT_MS',
    path: 'api.requestTimeoutMs',
    kind: 'int',
    schema: Int(100, 600000),
    default: 30000,
    doc: 'an API client must send its whole request (headers and body) within this time',
  },
  {
    env: 'CALLHOOK_API_KEEPALIVE_MS',
    path: 'api.keepAliveTimeoutMs',
    kind: 'int',
    schema: Int(100, 600000),
    default: 5000,
    doc: 'an idle keep-alive API connection is closed after this long',
  },
  {
    env: 'CALLHOOK_AUTH_FAILURES_PER_MINUTE',
    path: 'api.authFailuresPerMinute',
    kind: 'int',
    schema: Int(1, 100000),
    default: 20,
    doc: 'failed authentications one client address may make per minute; more are answered 429 with Retry-After',
  },
  {
    env: 'CALLHOOK_ADMIN_TOKEN',
    path: 'adminToken',
    kind: 'string',
    schema: Type.String({ minLength: 16 }),
    secret: true,
    doc: 'admin token; generated on first start into DATA_DIR/admin-token when unset',
  },
  {
    env: 'CALLHOOK_DATA_DIR',
    path: 'dataDir',
    kind: 'string',
    schema: Type.String({ minLength: 1 }),
    default: './data',
    doc: 'directory of the SQLite database and the generated admin token',
  },
  {
    env: 'DATABASE_URL',
    path: 'databaseUrl',
    kind: 'string',
    schema: Type.String({ pattern: '^postgres(ql)?://' }),
    secret: true,
    doc: 'postgres://… puts the store in PostgreSQL (several callhook processes may share it) instead of SQLite in CALLHOOK_DATA_DIR',
  },
  {
    env: 'CALLHOOK_ROLES',
    path: 'roles',
    kind: 'list',
    schema: Type.Array(Type.Union(ROLES.map((r) => Type.Literal(r))), { minItems: 1, uniqueItems: true }),
    default: [...ROLES],
    doc: 'what this process does, comma-separated: ingest (follow ARI, store call events), deliver (send webhooks), api (the REST API; GET /health is always served). Fewer than all three need DATABASE_URL: other processes do the rest',
  },
  { env: 'CALLHOOK_DEFAULT_ACCOUNT', path: 'defaultAccount', kind: 'string', schema: Name, doc: 'account for calls that resolve to no other account' },
  {
    env: 'CALLHOOK_DEFAULT_REALM',
    path: 'defaultRealm',
    kind: 'string',
    schema: Name,
    doc: 'realm of from/to/request when the account has none (default: the ARI host)',
  },
  {
    env: 'CALLHOOK_ACCOUNT_VARIABLE',
    path: 'accountVariable',
    kind: 'string',
    schema: Name,
    default: 'CALLHOOK_ACCOUNT',
    doc: 'channel variable (listed in ari.conf channelvars) naming the account of a leg',
  },
  {
    env: 'CALLHOOK_ALLOW_TARGETS',
    path: 'allowTargets',
    kind: 'list',
    schema: Type.Array(Type.String({ pattern: '^[0-9a-fA-F:.]+(/\\d{1,3})?$' })),
    default: [],
    doc: 'comma-separated CIDRs that webhooks may target despite the private-address guard',
  },
  {
    env: 'CALLHOOK_REFUSE_PRIVATE_TARGETS',
    path: 'refusePrivateTargets',
    kind: 'bool',
    schema: Type.Boolean(),
    default: 'false',
    doc: 'true: webhooks may not target private ranges either (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7) unless listed in CALLHOOK_ALLOW_TARGETS',
  },
  {
    env: 'LOG_LEVEL',
    path: 'logLevel',
    kind: 'string',
    schema: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
    default: 'info',
    doc: 'pino log level',
  },
  {
    env: 'CALLHOOK_LOG_FORMAT',
    path: 'logFormat',
    kind: 'string',
    schema: Type.Union(LOG_FORMATS.map((f) => Type.Literal(f))),
    default: 'json',
    doc: 'json: one JSON object a line (for log collectors); pretty: readable lines for people (pino-pretty), the same secrets redacted',
  },
  {
    env: 'CALLHOOK_CONCURRENCY',
    path: 'delivery.concurrency',
    kind: 'int',
    schema: Int(1, 10000),
    default: 64,
    doc: 'requests in flight at once, all hooks together',
  },
  {
    env: 'CALLHOOK_HOOK_CONCURRENCY',
    path: 'delivery.perHookConcurrency',
    kind: 'int',
    schema: Int(1, 1000),
    default: 8,
    doc: 'requests in flight at once to one webhook',
  },
  {
    env: 'CALLHOOK_CONNECT_TIMEOUT_MS',
    path: 'delivery.connectTimeoutMs',
    kind: 'int',
    schema: Int(100, 120000),
    default: 5000,
    doc: 'TCP/TLS connect timeout of a delivery',
  },
  {
    env: 'CALLHOOK_TIMEOUT_MS',
    path: 'delivery.timeoutMs',
    kind: 'int',
    schema: Int(100, 300000),
    default: 10000,
    doc: 'total time a receiver has to answer a delivery',
  },
  {
    env: 'CALLHOOK_RETRY_BASE_MS',
    path: 'delivery.retryBaseMs',
    kind: 'int',
    schema: Int(1, 3600000),
    default: 2000,
    doc: 'delay before the first retry; doubles each retry',
  },
  { env: 'CALLHOOK_RETRY_MAX_MS', path: 'delivery.retryMaxMs', kind: 'int', schema: Int(1, 86400000), default: 600000, doc: 'largest delay between two tries' },
  {
    env: 'CALLHOOK_POLL_MS',
    path: 'delivery.pollIntervalMs',
    kind: 'int',
    schema: Int(10, 60000),
    default: 1000,
    doc: 'how often the dispatcher looks for due retries',
  },
  {
    env: 'CALLHOOK_LEASE_MS',
    path: 'delivery.leaseMs',
    kind: 'int',
    schema: Int(1000, 3600000),
    default: 60000,
    doc: 'how long a claimed delivery is reserved for one process; after a crash it is sent again when this runs out',
  },
  {
    env: 'CALLHOOK_FAILING_AFTER',
    path: 'delivery.failingAfter',
    kind: 'int',
    schema: Int(1, 1000),
    default: 5,
    doc: 'failed tries in a row (connect errors, timeouts, 408, 429, 5xx) that make a webhook failing: then only probes go to it',
  },
  {
    env: 'CALLHOOK_PROBE_BASE_MS',
    path: 'delivery.probeBaseMs',
    kind: 'int',
    schema: Int(10, 3600000),
    default: 5000,
    doc: 'first probe of a failing webhook after this long; the interval doubles while probes fail',
  },
  {
    env: 'CALLHOOK_PROBE_MAX_MS',
    path: 'delivery.probeMaxMs',
    kind: 'int',
    schema: Int(10, 3600000),
    default: 30000,
    doc: 'longest interval between two probes of a failing webhook',
  },
  {
    env: 'CALLHOOK_DISABLE_AFTER_HOURS',
    path: 'delivery.disableAfterHours',
    kind: 'int',
    schema: Int(1, 8760),
    default: 72,
    doc: 'a webhook failing this long without a single success is disabled (its events keep collecting until the retention)',
  },
  {
    env: 'CALLHOOK_DISABLE_AFTER',
    path: 'delivery.disableAfter',
    kind: 'int',
    schema: Int(0, 1000),
    default: 0,
    doc: "Kazoo's rule, opt-in: also disable a webhook after this many failed tries within CALLHOOK_DISABLE_WINDOW_MS (0: off)",
  },
  {
    env: 'CALLHOOK_DISABLE_WINDOW_MS',
    path: 'delivery.disableWindowMs',
    kind: 'int',
    schema: Int(1000, 86400000),
    default: 60000,
    doc: "window of Kazoo's failure count (CALLHOOK_DISABLE_AFTER)",
  },
  {
    env: 'CALLHOOK_SECRET_GRACE_HOURS',
    path: 'delivery.secretGraceHours',
    kind: 'int',
    schema: Int(0, 8760),
    default: 24,
    doc: 'after a secret rotation, requests carry the old signature beside the new one this long',
  },
  {
    env: 'CALLHOOK_SHUTDOWN_GRACE_MS',
    path: 'delivery.shutdownGraceMs',
    kind: 'int',
    schema: Int(0, 600000),
    default: 5000,
    doc: 'on SIGTERM, how long requests in flight may finish',
  },
  {
    env: 'CALLHOOK_RETENTION_DAYS',
    path: 'retentionDays',
    kind: 'int',
    schema: Int(1, 3650),
    default: 30,
    doc: 'attempts, finished deliveries and their events are pruned after this many days',
  },
];

export const SECRET_SETTINGS = SETTINGS.filter((s) => s.secret).map((s) => s.env);

type Source = Record<string, unknown>;

function parse(setting: Setting, raw: unknown): unknown {
  if (setting.kind === 'bool') {
    if (typeof raw === 'boolean') return raw;
    const s = String(raw).trim().toLowerCase();
    return s === 'true' || s === '1' ? true : s === 'false' || s === '0' ? false : s;
  }
  if (setting.kind === 'int') {
    if (typeof raw === 'number') return raw;
    const s = String(raw).trim();
    return /^-?\d+$/.test(s) ? Number(s) : s;
  }
  if (setting.kind === 'list') {
    if (Array.isArray(raw)) return raw.map(String);
    return String(raw)
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  }
  return typeof raw === 'string' ? raw.trim() : raw;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let obj = target;
  for (const key of keys.slice(0, -1)) obj = (obj[key] ??= {}) as Record<string, unknown>;
  obj[keys[keys.length - 1]!] = value;
}

function readFile(path: string): Source {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AppError('config', `CALLHOOK_CONFIG: cannot read ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new AppError('config', `CALLHOOK_CONFIG: ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new AppError('config', `CALLHOOK_CONFIG: ${path} must hold a JSON object of settings`);
  }
  const known = new Set(SETTINGS.map((s) => s.env));
  for (const key of Object.keys(data)) {
    if (!known.has(key)) throw new AppError('config', `CALLHOOK_CONFIG: ${path} sets unknown key ${key}`);
  }
  return data as Source;
}

/** Builds the validated configuration; throws AppError('config') naming the bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const file = env.CALLHOOK_CONFIG ? readFile(env.CALLHOOK_CONFIG) : {};
  const out: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const fromEnv = env[setting.env];
    const raw = fromEnv !== undefined && fromEnv !== '' ? fromEnv : (file[setting.env] ?? setting.default);
    if (raw === undefined || raw === null || raw === '') {
      setPath(out, setting.path, undefined);
      continue;
    }
    const value = parse(setting, raw);
    if (!Value.Check(setting.schema, value)) {
      const first = [...Value.Errors(setting.schema, value)][0];
      const shown = setting.secret ? '(hidden)' : JSON.stringify(raw);
      throw new AppError('config', `${setting.env}: ${first?.message ?? 'invalid value'}, got ${shown}`);
    }
    setPath(out, setting.path, value);
  }
  const config = out as unknown as Config;
  if (!config.databaseUrl && config.roles.length < ROLES.length) {
    throw new AppError(
      'config',
      'CALLHOOK_ROLES: with SQLite one process does everything (ingest, deliver, api); set DATABASE_URL to share the work between processes',
    );
  }
  if (config.delivery.leaseMs <= config.delivery.timeoutMs) {
    throw new AppError('config', 'CALLHOOK_LEASE_MS: must be longer than CALLHOOK_TIMEOUT_MS');
  }
  if (config.delivery.probeMaxMs < config.delivery.probeBaseMs) {
    throw new AppError('config', 'CALLHOOK_PROBE_MAX_MS: must not be smaller than CALLHOOK_PROBE_BASE_MS');
  }
  if (config.delivery.retryMaxMs < config.delivery.retryBaseMs) {
    throw new AppError('config', 'CALLHOOK_RETRY_MAX_MS: must not be smaller than CALLHOOK_RETRY_BASE_MS');
  }
  return config;
}
