/**
 * GET /health/ready: whether this process can do its work. The store must take a write (a
 * committed one: a full disk or a PostgreSQL server that became a read-only standby fails it),
 * and with the ingest role ARI must be connected. Each check is named with 'ok' or why not.
 * The store's answer is kept for a second: a probe polled in a loop does not keep it busy.
 */
import type { AriState } from '../ari/client.js';
import type { Store } from '../store/store.js';

export interface ReadyOptions {
  store: Pick<Store, 'ping'>;
  /** the ARI client of a process with the ingest role; absent: not checked */
  ari?: { readonly status: AriState };
  /** a store that has not answered within this long is not ready (default 2000 ms) */
  timeoutMs?: number;
  /** the store's answer is reused this long (default 1000 ms) */
  cacheMs?: number;
  now?: () => number;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
}

/** the reason of a failed check as it may be shown: one line, not too long */
function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s+/g, ' ').slice(0, 200) || 'failed';
}

export function readiness(o: ReadyOptions): () => Promise<Readiness> {
  const now = o.now ?? Date.now;
  const timeoutMs = o.timeoutMs ?? 2000;
  const cacheMs = o.cacheMs ?? 1000;
  let last: { at: number; check: Promise<string> } | undefined;

  const storeCheck = (): Promise<string> => {
    if (last && now() - last.at < cacheMs) return last.check;
    let timer: NodeJS.Timeout | undefined;
    const check = Promise.race([
      o.store.ping().then(() => 'ok'),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
        timer.unref();
      }),
    ])
      .catch((err: unknown) => `not writable: ${reason(err)}`)
      .finally(() => clearTimeout(timer));
    last = { at: now(), check };
    return check;
  };

  return async () => {
    const checks: Record<string, string> = { store: await storeCheck() };
    if (o.ari) checks.ari = o.ari.status === 'connected' ? 'ok' : `ARI ${o.ari.status}`;
    return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
  };
}
