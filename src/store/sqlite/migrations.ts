/** Numbered SQLite migrations; applied in order at start, each once. */
export const SQLITE_MIGRATIONS: string[] = [
  /* 1: initial schema */ `
  CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    realm TEXT,
    parent_id TEXT,
    accountcodes TEXT NOT NULL DEFAULT '[]',
    numbers TEXT NOT NULL DEFAULT '[]',
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
  );
  CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    hash TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    last_used INTEGER
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
    enabled INTEGER NOT NULL,
    custom_data TEXT NOT NULL,
    headers TEXT NOT NULL,
    event_filter TEXT,
    include_internal_legs INTEGER NOT NULL,
    include_subaccounts INTEGER NOT NULL,
    secret TEXT NOT NULL,
    disabled_reason TEXT,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
  );
  CREATE INDEX webhooks_account ON webhooks(account_id, id);
  CREATE TABLE events (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    hook_event TEXT NOT NULL,
    leg TEXT NOT NULL,
    call_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created INTEGER NOT NULL
  );
  CREATE TABLE deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    event_id TEXT NOT NULL REFERENCES events(id),
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    leg TEXT NOT NULL,
    status TEXT NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    last_error TEXT,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
  );
  CREATE INDEX deliveries_due ON deliveries(status, next_at);
  CREATE INDEX deliveries_leg ON deliveries(webhook_id, leg, status, seq);
  CREATE INDEX deliveries_event ON deliveries(event_id);
  CREATE TABLE attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
    created INTEGER NOT NULL
  );
  CREATE INDEX attempts_account ON attempts(account_id, created);
  CREATE INDEX attempts_webhook ON attempts(webhook_id, created);
  `,
  /* 2: delivery leases, persisted call legs, settings */ `
  ALTER TABLE deliveries ADD COLUMN locked_until INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX deliveries_webhook_status ON deliveries(webhook_id, status, created);
  CREATE TABLE legs (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated INTEGER NOT NULL
  );
  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  /*
   * 3: the outbox indexes hold pending deliveries only (a finished delivery leaves them, and
   * they stay small however long the history); claims go webhook by webhook; a webhook
   * disabled after failures keeps collecting
   */ `
  DROP INDEX deliveries_due;
  DROP INDEX deliveries_leg;
  CREATE INDEX deliveries_pending_claim ON deliveries(webhook_id, next_at, seq) WHERE status = 'pending';
  CREATE INDEX deliveries_pending_leg ON deliveries(webhook_id, leg, seq) WHERE status = 'pending';
  CREATE INDEX deliveries_pending_next ON deliveries(next_at) WHERE status = 'pending';
  ALTER TABLE webhooks ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
  `,
  /* 4: leases live in the memory of the process that owns the file (a claim writes nothing) */ `
  ALTER TABLE deliveries DROP COLUMN locked_until;
  `,
  /*
   * 5: the first pending delivery of each (webhook, leg) is marked ready, and the claim index
   * holds only those: a claim no longer walks past the deliveries queued behind one in flight
   * or waiting for its retry (a receiver down with a deep queue made every claim scan it all).
   * Inserts set the mark; triggers move it on when a delivery stops or starts being pending.
   */ `
  ALTER TABLE deliveries ADD COLUMN ready INTEGER NOT NULL DEFAULT 0;
  UPDATE deliveries SET ready = 1 WHERE status = 'pending' AND NOT EXISTS (
    SELECT 1 FROM deliveries p
    WHERE p.webhook_id = deliveries.webhook_id AND p.leg = deliveries.leg AND p.status = 'pending' AND p.seq < deliveries.seq);
  DROP INDEX deliveries_pending_claim;
  CREATE INDEX deliveries_ready ON deliveries(webhook_id, next_at, seq) WHERE status = 'pending' AND ready = 1;
  CREATE TRIGGER deliveries_leave_pending AFTER UPDATE OF status ON deliveries
  WHEN OLD.status = 'pending' AND NEW.status != 'pending' BEGIN
    UPDATE deliveries SET ready = 1 WHERE seq = (
      SELECT MIN(seq) FROM deliveries WHERE webhook_id = OLD.webhook_id AND leg = OLD.leg AND status = 'pending');
  END;
  CREATE TRIGGER deliveries_enter_pending AFTER UPDATE OF status ON deliveries
  WHEN OLD.status != 'pending' AND NEW.status = 'pending' BEGIN
    UPDATE deliveries SET ready = (seq = (
      SELECT MIN(seq) FROM deliveries WHERE webhook_id = NEW.webhook_id AND leg = NEW.leg AND status = 'pending'))
    WHERE webhook_id = NEW.webhook_id AND leg = NEW.leg AND status = 'pending';
  END;
  CREATE TRIGGER deliveries_deleted_pending AFTER DELETE ON deliveries
  WHEN OLD.status = 'pending' AND OLD.ready = 1 BEGIN
    UPDATE deliveries SET ready = 1 WHERE seq = (
      SELECT MIN(seq) FROM deliveries WHERE webhook_id = OLD.webhook_id AND leg = OLD.leg AND status = 'pending');
  END;
  `,
  /*
   * 6: deliveries and attempts are listed newest first from indexes in that order (a page
   * sorted all of the webhook's or account's rows); failed deliveries and failed tries have
   * indexes of their own (the failed list, the auto-disable count). A try's result no longer
   * moves an index entry of its webhook.
   */ `
  DROP INDEX deliveries_webhook_status;
  CREATE INDEX deliveries_webhook ON deliveries(webhook_id, seq);
  CREATE INDEX deliveries_failed ON deliveries(webhook_id, seq) WHERE status = 'failed';
  DROP INDEX attempts_account;
  DROP INDEX attempts_webhook;
  CREATE INDEX attempts_account ON attempts(account_id, id);
  CREATE INDEX attempts_webhook ON attempts(webhook_id, id);
  CREATE INDEX attempts_failures ON attempts(webhook_id, created) WHERE result = 'failure';
  `,
  /*
   * 7: webhook health (the circuit breaker of src/hooks/health.ts), the failover URI, the
   * previous signing secret during its grace period
   */ `
  ALTER TABLE webhooks ADD COLUMN failover_uri TEXT;
  ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;
  ALTER TABLE webhooks ADD COLUMN previous_secret_until INTEGER;
  ALTER TABLE webhooks ADD COLUMN health TEXT NOT NULL DEFAULT 'healthy';
  ALTER TABLE webhooks ADD COLUMN failing_since INTEGER;
  ALTER TABLE webhooks ADD COLUMN last_error TEXT;
  ALTER TABLE webhooks ADD COLUMN next_probe INTEGER;
  ALTER TABLE webhooks ADD COLUMN probe_delay INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE webhooks ADD COLUMN failover_down INTEGER NOT NULL DEFAULT 0;
  `,
];
