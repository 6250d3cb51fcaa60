#!/usr/bin/env node
/** callhook: start the daemon from the environment (and CALLHOOK_CONFIG); stop on SIGTERM/SIGINT. */
import { setFlagsFromString } from 'node:v8';
import { loadConfig } from './config.js';
import { AppError } from './errors.js';
import { createLogger, startDaemon } from './main.js';

// the heap may grow by half over what the last full collection kept, not by V8's up to 4×: in
// the benchmark the main thread's heap reached 70 MB with 17 MB live, and the RSS with it
// (bench/README.md). Set here, so that the installed command has it too (NODE_OPTIONS
// does not take this flag); the worker threads started later share it.
setFlagsFromString('--heap-growing-percent=50');

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof AppError) {
      process.stderr.write(`callhook: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  let daemon;
  try {
    daemon = await startDaemon(config, logger);
  } catch (err) {
    logger.fatal({ err }, 'callhook could not start');
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    daemon.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
