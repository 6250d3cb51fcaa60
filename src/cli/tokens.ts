/**
 * callhook tokens create|list|revoke: an account's API tokens. A new token is random and shown
 * once; the store keeps its SHA-256 hash only (newToken/hashToken of the API).
 */
import { AppError } from '../shared/errors.js';
import { Command } from 'commander';
import { hashToken, newToken } from '../api/auth.js';
import { newId } from '../hooks/model.js';
import { toGregorianSeconds } from '../shared/gregorian.js';
import type { Token } from '../store/store.js';
import { note, out, printJson, printTable, shownTime, withJson, withStore, type CliStore, type JsonOption } from './common.js';

async function accountMustExist(store: CliStore, accountId: string): Promise<void> {
  if (!(await store.getAccount(accountId))) throw new AppError('not_found', `account ${accountId} not found`);
}

/** as the API shows a token */
function publicToken(t: Token) {
  return {
    id: t.id,
    account_id: t.account_id,
    created: toGregorianSeconds(t.created),
    last_used: t.last_used === null ? null : toGregorianSeconds(t.last_used),
  };
}

export function tokensCommand(): Command {
  const cmd = new Command('tokens').description("create, list and revoke an account's API tokens");

  withJson(
    cmd
      .command('create')
      .description('create an API token for an account; prints the token (only this once) on stdout')
      .argument('<account>', 'account id')
      .addHelpText(
        'after',
        '\nExample:\n  TOKEN=$(callhook tokens create acme)\n  curl -H "X-Auth-Token: $TOKEN" http://127.0.0.1:8080/api/v1/accounts/acme/webhooks',
      ),
  ).action(async (accountId: string, o: JsonOption) => {
    const { token, secret } = await withStore(async (store) => {
      await accountMustExist(store, accountId);
      const secret = newToken();
      const token: Token = { id: newId(), account_id: accountId, created: Date.now(), last_used: null };
      await store.createToken(token, hashToken(secret));
      return { token, secret };
    });
    if (o.json) return printJson({ ...publicToken(token), auth_token: secret });
    out(secret);
    note(`created token ${token.id} for account ${accountId}; it is shown only this once (it is stored hashed)`);
  });

  withJson(cmd.command('list').description("list an account's tokens (ids and use, never the tokens)").argument('<account>', 'account id')).action(
    async (accountId: string, o: JsonOption) => {
      const tokens = await withStore(async (store) => {
        await accountMustExist(store, accountId);
        return store.listTokens(accountId);
      });
      if (o.json) return printJson(tokens.map(publicToken));
      printTable(
        tokens.map((t) => ({ id: t.id, created: shownTime(t.created), last_used: shownTime(t.last_used) ?? 'never' })),
        ['id', 'created', 'last_used'],
        `account ${accountId} has no tokens`,
      );
    },
  );

  withJson(
    cmd
      .command('revoke')
      .description('revoke (delete) one token of an account; requests with it are refused at once')
      .argument('<account>', 'account id')
      .argument('<token-id>', 'the token id (from tokens list), not the token'),
  ).action(async (accountId: string, tokenId: string, o: JsonOption) => {
    const deleted = await withStore((store) => store.deleteToken(accountId, tokenId));
    if (!deleted) throw new AppError('not_found', `token ${tokenId} of account ${accountId} not found`);
    if (o.json) return printJson({ id: tokenId, deleted: true });
    out(`revoked token ${tokenId} of account ${accountId}`);
  });

  return cmd;
}
