/** The callhook command: the daemon without a command, admin commands on the same store otherwise (docs/cli.md). */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { accountsCommand } from './accounts.js';
import { AppError } from '../shared/errors.js';
import { EXIT, exitCode } from './common.js';
import { runDaemon, startCommand } from './daemon.js';
import { deliveriesCommand } from './deliveries.js';
import { migrateCommand } from './migrate.js';
import { replayCommand } from './replay.js';
import { tokensCommand } from './tokens.js';
import { webhooksCommand } from './webhooks.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function program(): Command {
  const root = new Command('callhook')
    .description('Asterisk ARI call events as durable webhooks. Without a command: run the daemon.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(callhook --help lists the commands; callhook COMMAND --help explains one)')
    .exitOverride()
    // without a command: the daemon; a word that is no command is an error (not the daemon)
    .allowExcessArguments(true)
    .action(async (_options: unknown, cmd: Command) => {
      if (cmd.args.length > 0) cmd.error(`error: unknown command '${cmd.args[0]}'`, { exitCode: EXIT.usage, code: 'commander.unknownCommand' });
      await runDaemon();
    })
    .addHelpText(
      'after',
      `
The admin commands work on the daemon's store: SQLite in CALLHOOK_DATA_DIR (default ./data), or
DATABASE_URL. A SQLite store belongs to one process: run them while the daemon is stopped (or
use the REST API). Exit codes: 0 done, 1 failed, 2 usage or configuration error.`,
    );
  for (const cmd of [startCommand(), accountsCommand(), tokensCommand(), webhooksCommand(), deliveriesCommand(), migrateCommand(), replayCommand()]) {
    root.addCommand(cmd);
  }
  // settings of the root reach every command below it (addCommand does not copy them)
  const inherit = (cmd: Command) => {
    for (const sub of cmd.commands) {
      sub.exitOverride().showHelpAfterError(`(callhook ${commandPath(sub)} --help)`);
      inherit(sub);
    }
  };
  inherit(root);
  return root;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** runs the command line; the exit code when a command ended (the daemon keeps running instead) */
export async function run(argv: string[]): Promise<number | undefined> {
  try {
    await program().parseAsync(argv);
    return undefined;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and --version are not errors; commander printed its message already
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof AppError) {
      process.stderr.write(`callhook: ${err.message}\n`);
      return exitCode(err);
    }
    process.stderr.write(`callhook: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.failed;
  }
}
