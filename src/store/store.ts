/**
 * The store interface: everything callhook keeps. The delivery loop and the API only see this
 * interface; each backend holds its own SQL. Times are unix milliseconds.
 */
import type { Webhook } from '../hooks/model.js';
import type { ClaimableHook, HealthState, Target, WebhookHealth } from '../hooks/health.js';
import type { LegChanges } from '../calls/types.js';

export interface Account {
  id: string;
  name: string;
  realm: string | null;
  parent_id: string | null;
  accountcodes: string[];
  numbers: string[];
  created: number;
  updated: number;
}

export interface Token {
  id: string;
  account_id: string;
  created: number;
  last_used: number | null;
}

export interface StoredEvent {
  id: string;
  account_id: string;
  hook_event: string;
  /** the call leg (channel id) the event belongs to: deliveries of one leg go out in order */
  leg: string;
  call_id: string;
  /** serialised payload without custom_data */
  payload: string;
  created: number;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

/** A delivery ready to send, with what the dispatcher needs of its hook and event. */
export interface DueDelivery {
  id: string;
  event_id: string;
  webhook_id: string;
  tries: number;
  payload: string;
  hook_event: string;
  call_id: string;
  /** the account of the call (X-Account-ID) */
  account_id: string;
  /** unix ms: when the event happened (the PBX's clock; the stored event's `created`) */
  event_created: number;
  /** where it goes: the webhook's uri, a probe of it while failing, or its failover_uri */
  target: Target;
}

/** how many deliveries a claim may take of a webhook (its free slots and its account's), told what it took */
export interface Slots {
  room(hook: ClaimableHook): number;
  took(hook: ClaimableHook, n: number): void;
}

export interface AttemptInput {
  delivery_id: string;
  webhook_id: string;
  account_id: string;
  event_id: string;
  hook_event: string;
  call_id: string;
  uri: string;
  method: string;
  status_code: number | null;
  response_body: string;
  duration_ms: number;
  try_number: number;
  retries_left: number;
  result: 'success' | 'failure';
  reason: string;
  created: number;
}

export interface Attempt extends AttemptInput {
  id: number;
}

export interface Delivery {
  id: string;
  event_id: string;
  webhook_id: string;
  hook_event: string;
  call_id: string;
  status: DeliveryStatus;
  tries: number;
  next_at: number;
  last_error: string | null;
  created: number;
  updated: number;
}

export interface DeliveryQuery extends Page {
  webhook_id: string;
  status?: DeliveryStatus | undefined;
}

/** a call leg's tracker state, kept so a restart mid-call continues it */
export interface StoredLeg {
  id: string;
  state: string;
}

export interface PruneResult {
  /** pending deliveries of disabled webhooks that passed the retention, now failed */
  expired: number;
  attempts: number;
  deliveries: number;
  events: number;
}

/** What happens to a delivery after one try. */
export interface DeliveryUpdate {
  id: string;
  status: DeliveryStatus;
  tries: number;
  next_at: number;
  last_error: string | null;
}

export interface Page {
  limit: number;
  start_key?: string | undefined;
}

export interface PageResult<T> {
  items: T[];
  next_start_key: string | undefined;
}

export interface AttemptQuery extends Page {
  account_id: string;
  webhook_id?: string | undefined;
  created_from?: number | undefined;
  created_to?: number | undefined;
}

export interface Store {
  /* accounts and tokens */
  createAccount(account: Account): Promise<void>;
  getAccount(id: string): Promise<Account | undefined>;
  listAccounts(): Promise<Account[]>;
  updateAccount(account: Account): Promise<void>;
  deleteAccount(id: string): Promise<boolean>;
  createToken(token: Token, hash: string): Promise<void>;
  /** the token whose hash matches, updating its last use */
  findToken(hash: string): Promise<Token | undefined>;
  listTokens(accountId: string): Promise<Token[]>;
  deleteToken(accountId: string, tokenId: string): Promise<boolean>;

  /* webhooks */
  createWebhook(hook: Webhook): Promise<void>;
  getWebhook(accountId: string, id: string): Promise<Webhook | undefined>;
  listWebhooks(accountId: string, page: Page): Promise<PageResult<Webhook>>;
  /** saves a webhook; when that enables it, its pending deliveries fall due now */
  updateWebhook(hook: Webhook): Promise<void>;
  deleteWebhook(accountId: string, id: string): Promise<boolean>;
  /**
   * the webhooks of these accounts that collect events: the enabled ones, and those callhook
   * disabled after failures (their deliveries wait for the re-enable)
   */
  activeWebhooks(accountIds: string[]): Promise<Webhook[]>;
  /** loads a webhook by id alone (dispatcher) */
  webhookById(id: string): Promise<Webhook | undefined>;
  /**
   * disables an enabled webhook; with `collect` it goes on collecting events (auto-disable after
   * failures) until it is re-enabled or edited while disabled. With `seenUpdated` only if the
   * webhook was not edited or re-enabled since the caller read it (its `updated` then): a try
   * sent before a change does not disable what the owner has since fixed or re-enabled.
   * False if it was not disabled.
   */
  disableWebhook(id: string, reason: string, at: number, collect?: boolean, seenUpdated?: number): Promise<boolean>;
  /** re-enables every disabled webhook of an account (healthy again), its pending deliveries due now; returns how many */
  reenableWebhooks(accountId: string, at: number): Promise<number>;
  /**
   * Saves a webhook's health; with `from` only if its state is that (so that of several tries or
   * processes one makes the transition). A webhook that recovers has its pending deliveries due
   * now. False if nothing was saved.
   */
  setWebhookHealth(id: string, health: WebhookHealth, now: number, from?: HealthState): Promise<boolean>;
  /** a new signing secret; the old one goes on signing beside it until `previousUntil` */
  rotateSecret(accountId: string, id: string, secret: string, previousUntil: number, now: number): Promise<boolean>;
  /** how many deliveries of each of these webhooks are pending */
  pendingByWebhook(ids: string[]): Promise<Map<string, number>>;
  /** how many enabled webhooks are failing */
  countFailing(): Promise<number>;
  /** how many webhooks there are of each health as the API shows it (`disabled`: not enabled) */
  countWebhooksByHealth(): Promise<Record<'healthy' | 'failing' | 'disabled', number>>;

  /* outbox */
  /**
   * Stores events, one pending delivery per event and webhook, and the call legs' state, in one
   * transaction. An event stored before is skipped. Returns how many events were new.
   */
  insertEvents(items: { event: StoredEvent; webhookIds: string[] }[], legs?: LegChanges): Promise<number>;
  /**
   * Claims pending deliveries due at `now` for `leaseMs`: oldest first, only the first pending
   * one of each (webhook, leg), none of a disabled webhook or already leased; at most
   * `slots(webhook)` of one webhook. A failing webhook gets what claimPlan (hooks/health.ts)
   * allows: its probe, when due, is the first claimed (and its next_probe moves to the lease's
   * end so that no other claim probes it meanwhile), the rest go to its failover or wait. A lease ends when its try is recorded, when it is released
   * or when it runs out; a process that dies loses its leases (SQLite keeps them in the memory of
   * the one process that owns the file, so then at once) and the deliveries are sent again.
   */
  claimDeliveries(now: number, limit: number, leaseMs: number, slots?: Slots): Promise<DueDelivery[]>;
  /** gives claimed deliveries back unsent */
  releaseDeliveries(ids: string[]): Promise<void>;
  /** records tries and their deliveries' outcomes (releasing the leases) in one transaction; a test send has no delivery */
  recordAttempts(items: { attempt: AttemptInput; update?: DeliveryUpdate }[]): Promise<void>;
  listAttempts(query: AttemptQuery): Promise<PageResult<Attempt>>;
  /** how many deliveries are pending */
  countPending(): Promise<number>;
  /** unix ms: when the oldest pending delivery was stored (undefined: none is pending). A scan, like countPending */
  oldestPending(): Promise<number | undefined>;
  /** the earliest retry time after `after` of any pending delivery (cheap: the dispatcher's alarm clock) */
  nextDueAt(after: number): Promise<number | undefined>;
  /** failed tries of a webhook since `since` (auto-disable) */
  failuresSince(webhookId: string, since: number): Promise<number>;
  listDeliveries(query: DeliveryQuery): Promise<PageResult<Delivery>>;
  /** puts one finished delivery back to pending, due now; false if there is none or it is pending */
  retryDelivery(webhookId: string, deliveryId: string, now: number): Promise<boolean>;
  /** puts a webhook's failed deliveries created since `since` back to pending; returns how many */
  recoverDeliveries(webhookId: string, since: number, now: number): Promise<number>;
  /**
   * Fails the pending deliveries older than `before` of webhooks that are disabled (so a
   * receiver gone for good does not grow the outbox forever; `recover` can still re-send them),
   * then deletes attempts, finished deliveries and events without pending deliveries older than
   * `before`.
   */
  prune(before: number): Promise<PruneResult>;

  /* call legs and settings */
  loadLegs(): Promise<StoredLeg[]>;
  getSetting(key: string): Promise<string | undefined>;
  setSetting(key: string, value: string): Promise<void>;

  /** commits a tiny write (the setting `ready_check`): throws when the store cannot write (readiness) */
  ping(): Promise<void>;

  close(): Promise<void>;
}
