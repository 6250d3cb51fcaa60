/** Numbered PostgreSQL migrations; applied in order at start, each once (under an advisory lock). */
export const POSTGRES_MIGRATIONS: string[] = [
  /* 1: the schema of SQLite's migrations 1–6, with leases in the table (several processes claim) */ `
  CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    realm TEXT,
    parent_id TEXT,
    accountcodes TEXT NOT NULL DEFAULT '[]',
    numbers TEXT NOT NULL DEFAULT '[]',
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
  );
  CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    hash TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL,
    last_used BIGINT
  );
  CREATE INDEX tokens_account ON tokens(account_id);
  CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    uri TEXT NOT NULL,
    hook TEXT NOT NULL,
    http_verb TEXT NOT NULL,
    format TEXT NOT NULL,
    retries INTEGER NOT NULL,
    enabled BOOLEAN NOT NULL,
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    custom_data TEXT NOT NULL,
    headers TEXT NOT NULL,
    event_filter TEXT,
    include_internal_legs BOOLEAN NOT NULL,
    include_subaccounts BOOLEAN NOT NULL,
    secret TEXT NOT NULL,
    disabled_reason TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
  );
  CREATE INDEX webhooks_account ON webhooks(account_id, id);
  CREATE TABLE events (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    hook_event TEXT NOT NULL,
    leg TEXT NOT NULL,
    call_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created BIGINT NOT NULL
  );
  CREATE INDEX events_created ON events(created);
  CREATE TABLE deliveries (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    event_id TEXT NOT NULL REFERENCES events(id),
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    leg TEXT NOT NULL,
    status TEXT NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
  );
  CREATE INDEX deliveries_event ON deliveries(event_id);
  CREATE INDEX deliveries_webhook ON deliveries(webhook_id, seq);
  CREATE INDEX deliveries_failed ON deliveries(webhook_id, seq) WHERE status = 'failed';
  CREATE INDEX deliveries_pending_leg ON deliveries(webhook_id, leg, seq) WHERE status = 'pending';
  CREATE INDEX deliveries_pending_due ON deliveries(webhook_id, next_at, seq) WHERE status = 'pending';
  CREATE INDEX deliveries_pending_next ON deliveries(next_at) WHERE status = 'pending';
  CREATE INDEX deliveries_finished ON deliveries(updated) WHERE status <> 'pending';
  CREATE TABLE attempts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    hook_event TEXT NOT NULL,
    call_id TEXT NOT NULL,
    uri TEXT NOT NULL,
    method TEXT NOT NULL,
    status_code INTEGER,
    response_body TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    try_number INTEGER NOT NULL,
    retries_left INTEGER NOT NULL,
    result TEXT NOT NULL,
    reason TEXT NOT NULL,
    created BIGINT NOT NULL
  );
  CREATE INDEX attempts_account ON attempts(account_id, id);
  CREATE INDEX attempts_webhook ON attempts(webhook_id, id);
  CREATE INDEX attempts_failures ON attempts(webhook_id, created) WHERE result = 'failure';
  CREATE INDEX attempts_created ON attempts(created);
  CREATE TABLE legs (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated BIGINT NOT NULL
  );
  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  /* 2: webhook health (src/hooks/health.ts), the failover URI, the previous signing secret */ `
  ALTER TABLE webhooks ADD COLUMN failover_uri TEXT;
  ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;
  ALTER TABLE webhooks ADD COLUMN previous_secret_until BIGINT;
  ALTER TABLE webhooks ADD COLUMN health TEXT NOT NULL DEFAULT 'healthy';
  ALTER TABLE webhooks ADD COLUMN failing_since BIGINT;
  ALTER TABLE webhooks ADD COLUMN last_error TEXT;
  ALTER TABLE webhooks ADD COLUMN next_probe BIGINT;
  ALTER TABLE webhooks ADD COLUMN probe_delay BIGINT NOT NULL DEFAULT 0;
  ALTER TABLE webhooks ADD COLUMN failover_down BOOLEAN NOT NULL DEFAULT FALSE;
  `,
];
