/**
 * A Sender whose HTTP requests run in a worker thread (send-worker.ts): the thread that
 * follows ARI and writes the store keeps its time for that (the signing happens there too).
 * Requests and results cross in batches: one message for the requests sent from one task,
 * one for the results of one turn of the thread's event loop. Should the thread die, the
 * requests it held fail (and are retried like any failed try) and a new thread takes over.
 */
import type { Worker } from 'node:worker_threads';
import type { EncodedRequest } from './encode.js';
import { startWorker } from '../shared/threads.js';
import { TargetGuard } from './guard.js';
import type { HttpResult, Sender, Signing } from './http.js';

export interface ThreadSenderOptions {
  connectTimeoutMs: number;
  timeoutMs: number;
  connections: number;
  /** CIDRs the target guard lets through (CALLHOOK_ALLOW_TARGETS) */
  allowTargets: string[];
  /** refuse private ranges too (CALLHOOK_REFUSE_PRIVATE_TARGETS) */
  refusePrivateTargets?: boolean;
}

/** the target guard these options describe (the same in this thread and the sending one) */
export function guardOf(o: Pick<ThreadSenderOptions, 'allowTargets' | 'refusePrivateTargets'>): TargetGuard {
  return new TargetGuard(o.allowTargets, { refusePrivate: o.refusePrivateTargets ?? false });
}

export type SendJob = [id: number, req: EncodedRequest, headers: Record<string, string>, sign: Signing | undefined];

export class ThreadSender implements Sender {
  private worker: Worker;
  private nextId = 0;
  private readonly waiting = new Map<number, (res: HttpResult) => void>();
  private queue: SendJob[] = [];
  private closing = false;
  /**
   * the guard the sending thread applies at connect time, built here too: a bad allow-list
   * stops the start here, not in the thread, and the API checks targets at create/edit with it
   */
  readonly guard: TargetGuard;

  constructor(private readonly o: ThreadSenderOptions) {
    this.guard = guardOf(o);
    this.worker = this.start();
  }

  private start(): Worker {
    const worker = startWorker(import.meta.url, 'send-worker', this.o);
    worker.on('message', (batch: [number, HttpResult][]) => {
      for (const [id, res] of batch) {
        this.waiting.get(id)?.(res);
        this.waiting.delete(id);
      }
      if (this.waiting.size === 0) worker.unref();
    });
    worker.on('error', () => {}); // its requests fail on 'exit'
    worker.on('exit', () => {
      for (const [id, resolve] of this.waiting) {
        resolve({ status: undefined, retryAfter: undefined, body: '', error: 'the sending thread stopped', durationMs: 0 });
        this.waiting.delete(id);
      }
      if (!this.closing) this.worker = this.start();
    });
    worker.unref();
    return worker;
  }

  send(req: EncodedRequest, headers: Record<string, string>, sign?: Signing): Promise<HttpResult> {
    return new Promise((resolve) => {
      const id = this.nextId++;
      // a request in flight keeps the process alive, as a socket of its own would
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, resolve);
      // the requests sent from one task (a claimed batch) go to the thread in one message
      if (this.queue.push([id, req, headers, sign]) === 1) queueMicrotask(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    this.worker.postMessage(batch);
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.worker.threadId === -1) return;
    const exited = new Promise((r) => this.worker.once('exit', r));
    this.worker.ref();
    this.worker.postMessage('close');
    await exited;
  }
}
