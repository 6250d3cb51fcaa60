#!/usr/bin/env node
/**
 * callhook: the daemon (no command, or `start`), or an admin command on its store
 * (accounts, tokens, webhooks, deliveries, migrate, replay; docs/cli.md).
 */
import { setFlagsFromString } from 'node:v8';
import { run } from './cli/program.js';

// the heap may grow by half over what the last full collection kept, not by V8's up to 4×: in
// the benchmark the main thread's heap reached 70 MB with 17 MB live, and the RSS with it
// (bench/README.md). Set here, so that the installed command has it too (NODE_OPTIONS
// does not take this flag); the worker threads started later share it.
setFlagsFromString('--heap-growing-percent=50');

// `callhook replay … | head`: a reader that stops early ends the output, not with a stack trace
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? 0);
});

const code = await run(process.argv);
// a command that is done exits with its code; the daemon runs on until a signal stops it
if (code !== undefined) {
  process.exitCode = code;
}
