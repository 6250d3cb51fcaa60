/**
 * callhook accounts create|list|delete. `create` goes through the API's own route in this process
 * (POST /api/v1/accounts, injected, never listening): the same fields, checks (id, realm, parent,
 * numbers and accountcodes owned by one account) and first token as over HTTP.
 */
import { AppError } from '../shared/errors.js';
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { AccountDirectory } from '../calls/account.js';
import type { Account } from '../store/store.js';
import { collect, note, out, printJson, printTable, shownTime, withJson, withStore, type CliStore, type JsonOption } from './common.js';

interface CreateOptions extends JsonOption {
  realm?: string;
  parent?: string;
  accountcode?: string[];
  number?: string[];
}

/** POST /api/v1/accounts of the real API against this store; the created account and its first token */
async function createThroughApi(store: CliStore, data: Record<string, unknown>): Promise<Record<string, unknown>> {
  const [{ pino }, { buildApp }] = await Promise.all([import('pino'), import('../api/app.js')]);
  const adminToken = randomBytes(32).toString('base64url');
  const app = await buildApp({ store, accounts: new AccountDirectory(), adminToken, logger: pino({ level: 'silent' }) });
  try {
    const res = await app.inject({ method: 'POST', url: '/api/v1/accounts', headers: { 'x-auth-token': adminToken }, payload: { data } });
    const body = res.json() as { data: Record<string, unknown>; message?: string };
    if (res.statusCode === 201) return body.data;
    const fields = Object.entries(body.data ?? {}).map(
      ([field, rules]) =>
        `${field}: ${Object.values(rules as Record<string, { message: string }>)
          .map((r) => r.message)
          .join('; ')}`,
    );
    const message = [body.message ?? `HTTP ${res.statusCode}`, ...fields].join('\n  ');
    throw new AppError(res.statusCode === 400 ? 'invalid' : res.statusCode === 409 ? 'conflict' : 'internal', message);
  } finally {
    await app.close();
  }
}

function shown(a: Account) {
  return { id: a.id, name: a.name, realm: a.realm, parent: a.parent_id, accountcodes: a.accountcodes, numbers: a.numbers, created: shownTime(a.created) };
}

export function accountsCommand(): Command {
  const cmd = new Command('accounts').description('create, list and delete accounts');

  withJson(
    cmd
      .command('create')
      .description('create an account and its first API token (the token is shown once)')
      .argument('<id>', 'account id: 1-64 letters, digits, _ or -')
      .argument('<name>', 'display name (1-128 characters)')
      .option('--realm <host>', 'realm of from/to/request in its payloads (default: CALLHOOK_DEFAULT_REALM, else the ARI host)')
      .option('--parent <id>', 'parent account (its webhooks with include_subaccounts get this account’s calls)')
      .option('--accountcode <code>', 'Asterisk accountcode of its calls; repeat or comma-separate for several', collect)
      .option('--number <did>', 'a DID (number) of the account; repeat or comma-separate for several', collect)
      .addHelpText('after', '\nExample:\n  callhook accounts create acme "Acme Inc" --realm acme.example --accountcode acme --number 15550001,15550002'),
  ).action(async (id: string, name: string, o: CreateOptions) => {
    const data: Record<string, unknown> = { id, name };
    if (o.realm !== undefined) data.realm = o.realm;
    if (o.parent !== undefined) data.parent_id = o.parent;
    if (o.accountcode) data.accountcodes = o.accountcode;
    if (o.number) data.numbers = o.number;
    const created = await withStore((store) => createThroughApi(store, data));
    if (o.json) return printJson(created);
    out(`created account ${String(created.id)} (${String(created.name)})`);
    out(`token ${String(created.token_id)}: ${String(created.auth_token)}`);
    note('the token is shown only this once (it is stored hashed); more: callhook tokens create ' + String(created.id));
  });

  withJson(cmd.command('list').description('list the accounts')).action(async (o: JsonOption) => {
    const accounts = await withStore((store) => store.listAccounts());
    const { presentAccount } = await import('../api/schema/account.js');
    if (o.json) return printJson(accounts.map(presentAccount));
    printTable(accounts.map(shown), ['id', 'name', 'realm', 'parent', 'accountcodes', 'numbers', 'created'], 'no accounts');
  });

  withJson(cmd.command('delete').description('delete an account with its tokens, webhooks and their deliveries').argument('<id>', 'account id')).action(
    async (id: string, o: JsonOption) => {
      const deleted = await withStore((store) => store.deleteAccount(id));
      if (!deleted) throw new AppError('not_found', `account ${id} not found`);
      if (o.json) return printJson({ id, deleted: true });
      out(`deleted account ${id}`);
    },
  );

  return cmd;
}
