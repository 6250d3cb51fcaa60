/** Worker threads: each runs a compiled module of callhook's own. */
import { Worker } from 'node:worker_threads';

/**
 * Starts the worker module `name` that sits next to the module `from` (its import.meta.url).
 * Worker threads run plain JavaScript: when callhook runs from its TypeScript sources (under
 * vitest), the worker comes from dist/, which `npm test` builds first.
 */
export function startWorker(from: string, name: string, workerData: unknown): Worker {
  const url = new URL(`./${name}.js`, from);
  if (from.endsWith('.ts')) url.pathname = url.pathname.replace(/\/src\/(?!.*\/src\/)/, '/dist/');
  // a small young generation, as `npm start` gives the main thread (--max-semi-space-size=4)
  return new Worker(url, { workerData, resourceLimits: { maxYoungGenerationSizeMb: 12 } });
}
