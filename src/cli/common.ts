/**
 * What the admin commands share: the configuration and the store exactly as the daemon opens
 * them, output for people (aligned columns) or scripts (--json), and exit codes:
 * 0 done, 1 it failed (not found, conflict, the store unreachable or owned by a running daemon),
 * 2 a usage error (bad arguments or option values, a configuration error).
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../daemon/config.js';
import { AppError } from '../shared/errors.js';
import type { SqliteStore } from '../store/sqlite/store.js';
import type { PostgresStore } from '../store/postgres/store.js';
import { fromGregorianSeconds, GREGORIAN_OFFSET } from '../shared/gregorian.js';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** the exit code of an AppError a command reports on stderr (`callhook: …`): bad input or configuration 2, else 1 */
export function exitCode(err: AppError): number {
  return err.kind === 'invalid' || err.kind === 'config' ? EXIT.usage : EXIT.failed;
}

export const usage = (message: string) => new AppError('invalid', message);

export interface JsonOption {
  json?: boolean;
}

export function config(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof AppError) throw new AppError('config', `configuration error: ${err.message}`);
    throw err;
  }
}

export type CliStore = SqliteStore | PostgresStore;

/**
 * The daemon's store: PostgreSQL with DATABASE_URL, else CALLHOOK_DATA_DIR/callhook.db (opening
 * it runs the migrations). A SQLite store belongs to one process: while a daemon runs on the same
 * data directory this fails, and the change goes through its REST API instead.
 */
export async function openStore(c: Config): Promise<CliStore> {
  try {
    if (c.databaseUrl) {
      const { PostgresStore } = await import('../store/postgres/store.js');
      return await PostgresStore.open(c.databaseUrl);
    }
    const { SqliteStore } = await import('../store/sqlite/store.js');
    return new SqliteStore(join(c.dataDir, 'callhook.db'));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const hint = /in use by another callhook process/.test(message) ? ': stop the daemon for this change, or make it through the REST API (docs/api.md)' : '';
    throw new AppError('conflict', message + hint, { cause: err });
  }
}

/** opens the store, runs `work` with it, closes it whatever happens */
export async function withStore<T>(work: (store: CliStore, c: Config) => Promise<T>): Promise<T> {
  const c = config();
  const store = await openStore(c);
  try {
    return await work(store, c);
  } finally {
    await store.close();
  }
}

export function out(line = ''): void {
  process.stdout.write(line + '\n');
}

export function note(line: string): void {
  process.stderr.write(line + '\n');
}

export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** rows as aligned columns under a header; `empty` when there are none */
export function printTable(rows: Record<string, unknown>[], columns: string[], empty: string): void {
  if (rows.length === 0) {
    out(empty);
    return;
  }
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(',') || '-' : String(v));
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
  out(line(columns.map((c) => c.toUpperCase())));
  for (const r of cells) out(line(r));
}

/** a unix-ms time for people: 2026-11-24 14:45:56Z */
export function shownTime(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/**
 * A point in time from the command line, as unix ms: Gregorian or unix seconds (as the API's
 * `since`), an ISO 8601 date or date-time, or a time back from now (`90m`, `24h`, `7d`).
 */
export function parseTime(text: string, option: string, now = Date.now()): number {
  const s = text.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n >= GREGORIAN_OFFSET ? fromGregorianSeconds(n) : n * 1000;
  }
  const ago = /^(\d+)([smhd])$/.exec(s);
  if (ago) return now - Number(ago[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 's' | 'm' | 'h' | 'd'];
  if (/^\d{4}-\d{2}-\d{2}/.test(s) && Number.isFinite(Date.parse(s))) return Date.parse(s);
  throw usage(
    `${option}: expected seconds (unix or Gregorian), an ISO 8601 date (2026-11-24T14:00:00Z) or a time back from now (30m, 24h, 7d), got ${JSON.stringify(text)}`,
  );
}

/** adds --json to a command */
export function withJson(cmd: Command): Command {
  return cmd.option('--json', 'print JSON (for scripts) instead of text');
}

/** an option that may be given several times or comma-separated: --number 1 --number 2,3 */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}
