/**
 * The sending thread: runs the HttpSender for the dispatcher (see thread-sender.ts). Takes
 * batches of [id, request, headers, signing], answers with batches of [id, result].
 */
import { parentPort, workerData } from 'node:worker_threads';
import { HttpSender, type HttpResult } from './http.js';
import { guardOf, type SendJob, type ThreadSenderOptions } from './thread-sender.js';

const o = workerData as ThreadSenderOptions;
const sender = new HttpSender({ ...o, guard: guardOf(o) });
let done: [number, HttpResult][] = [];

function answer(): void {
  const batch = done;
  done = [];
  parentPort!.postMessage(batch);
}

parentPort!.on('message', (msg: SendJob[] | 'close') => {
  if (msg === 'close') {
    void sender.close().finally(() => parentPort!.close());
    return;
  }
  for (const [id, req, headers, sign] of msg) {
    void sender.send(req, headers, sign).then((res) => {
      // the results of one turn of this thread's loop go back in one message
      if (done.push([id, res]) === 1) setImmediate(answer);
    });
  }
});
