/** What the API's routes are given: the daemon's dependencies and the API's own helpers (no route imports app.ts). */
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { AttemptInput, Store } from '../store/store.js';
import type { Webhook } from '../hooks/model.js';
import type { Payload } from '../events/payload.js';
import type { AccountDirectory } from '../calls/account.js';
import type { Auth } from './auth.js';
import type { OpaqueIds } from './opaque.js';
import type { ConnectionLimits } from './connections.js';

/** the API's Fastify instance, with the route types derived from the TypeBox schemas */
export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface ApiDeps {
  store: Store;
  accounts: AccountDirectory;
  adminToken: string;
  logger: Logger;
  bodyLimit?: number;
  /** connection cap and timeouts of the API server (connections.ts), failed authentications per minute and address */
  limits?: ConnectionLimits & { authFailuresPerMinute?: number };
  /** called when webhooks were (re-)enabled, so pending deliveries go out */
  onWebhooksChanged?: () => void;
  /** sends a sample event to a webhook now (POST …/test) */
  sendTest?: (hook: Webhook, payload: Payload) => Promise<AttemptInput>;
  /**
   * checks a webhook target at create/edit (uri, failover_uri): why it is refused, else
   * undefined (the sending thread's target guard, names resolved); absent: no check
   */
  checkTarget?: (uri: string) => Promise<string | undefined>;
  /** after a rotation the old secret signs beside the new one this long (default 24 h) */
  secretGraceMs?: number;
  /** realm of sample events when the account has none */
  defaultRealm?: string;
  /** what GET /health reports besides the API itself */
  health?: () => Promise<Record<string, unknown>>;
  /** GET /health/ready: whether this process can do its work (store writable, ARI connected with the ingest role), and why not */
  ready?: () => Promise<{ ready: boolean; checks: Record<string, string> }>;
  /** GET /metrics: the Prometheus text exposition */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** the version the OpenAPI document states */
  version?: string;
  /** false: GET /health only (a process without the api role) */
  routes?: boolean;
}

export interface Ctx {
  deps: ApiDeps;
  /** attempt ids and page keys as the API shows them (opaque.ts) */
  ids: OpaqueIds;
  auth: Auth;
  reloadAccounts: () => Promise<void>;
}
