/** callhook (no command) and callhook start: the daemon from the environment (and CALLHOOK_CONFIG); stops on SIGTERM/SIGINT. */
import { Command } from 'commander';
import { loadConfig } from '../daemon/config.js';
import { AppError } from '../shared/errors.js';
import { createLogger } from '../daemon/log.js';

export async function runDaemon(): Promise<void> {
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
  const logger = createLogger(config.logLevel, config.logFormat);
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  let daemon;
  try {
    // loaded here: the admin commands and --help do not load the daemon
    const { startDaemon } = await import('../daemon/main.js');
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

export function startCommand(): Command {
  return new Command('start')
    .description('run the daemon (the same as callhook without a command): configured by the environment and CALLHOOK_CONFIG (docs/configuration.md)')
    .action(runDaemon);
}
