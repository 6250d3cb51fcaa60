/** callhook migrate: opens the store (which applies the migrations it lacks) and reports its schema version. */
import { Command } from 'commander';
import { SQLITE_MIGRATIONS } from '../store/sqlite/migrations.js';
import { POSTGRES_MIGRATIONS } from '../store/postgres/migrations.js';
import { out, printJson, withJson, withStore, type JsonOption } from './common.js';

export function migrateCommand(): Command {
  return withJson(
    new Command('migrate').description(
      'bring the store (SQLite in CALLHOOK_DATA_DIR, or DATABASE_URL) to this version’s schema and report it; the daemon does the same at start',
    ),
  ).action(async (o: JsonOption) => {
    const started = Date.now();
    const { store, version, known, applied } = await withStore(async (s, c) => {
      const rows = await s.schemaMigrations();
      return {
        store: c.databaseUrl ? 'postgresql' : 'sqlite',
        version: rows.reduce((v, r) => Math.max(v, r.version), 0),
        known: (c.databaseUrl ? POSTGRES_MIGRATIONS : SQLITE_MIGRATIONS).length,
        // a migration is stamped with the time it ran: those of this run are the new ones
        applied: rows.filter((r) => r.applied >= started).map((r) => r.version),
      };
    });
    if (o.json) return printJson({ store, schema_version: version, latest: known, applied });
    const what = applied.length ? `applied migration${applied.length === 1 ? '' : 's'} ${applied.join(', ')}` : 'nothing to apply';
    out(`${store} store: schema version ${version} (${what})`);
    if (version > known) out(`the store is newer than this callhook (it knows ${known} migrations): upgrade callhook`);
  });
}
