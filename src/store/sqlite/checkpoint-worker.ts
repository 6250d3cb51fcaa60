/**
 * The SQLite checkpointer (a worker thread): copies the write-ahead log into the database
 * file on a connection of its own, so the thread that stores events and deliveries does not
 * spend its time on it. PASSIVE: it waits for no reader and no writer. Every `intervalMs`, when
 * the writer has committed since.
 * On the same connection it runs the scans of the pending deliveries when asked ({count, query}
 * → {count, n}: `query` names one of `queries`, `n` is its single value): scans that take tens of
 * ms with a large backlog, kept off the writer's thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, queries, intervalMs } = workerData as { file: string; queries: Record<string, string>; intervalMs: number };
const db = new Database(file);
// a small page cache: the count reads through it once a second at most, and the checkpoint not at all
db.pragma('cache_size = -1024');
const statements = new Map(Object.entries(queries).map(([name, sql]) => [name, db.prepare(sql).pluck()]));
let version: unknown;
let timer: NodeJS.Timeout;

function round(): void {
  // data_version changes when another connection has committed since this one last looked
  const now = db.pragma('data_version', { simple: true });
  if (now !== version) {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // busy (the writer's own backstop checkpoint is running): the next round copies it
    }
  }
  version = now;
  timer = setTimeout(round, intervalMs);
}
round();

parentPort!.on('message', (msg: 'close' | { count: number; query: string }) => {
  if (msg === 'close') {
    clearTimeout(timer);
    db.close();
    parentPort!.close();
    return;
  }
  let n: number | null | undefined;
  try {
    n = statements.get(msg.query)?.get() as number | null;
  } catch {
    // busy or broken: the store runs it on its own connection (n undefined)
  }
  parentPort!.postMessage({ count: msg.count, n });
});
