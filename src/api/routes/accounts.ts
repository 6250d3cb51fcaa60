/** Accounts and their API tokens. Creating, editing and deleting accounts needs the admin token. */
import { Type } from '@sinclair/typebox';
import { AppError, type FieldErrors } from '../../shared/errors.js';
import type { Account, Token } from '../../store/store.js';
import { newId } from '../../hooks/model.js';
import { ok } from '../reply.js';
import type { Api, Ctx } from '../context.js';
import { hashToken, newToken } from '../auth.js';
import { errors, Ok } from '../schema/common.js';
import {
  AccountBody,
  NewAccountBody,
  Account_,
  CreatedAccount,
  CreatedToken,
  Deleted,
  presentAccount,
  presentToken,
  Token_,
  type AccountFields,
} from '../schema/account.js';

const AccountParams = Type.Object({ account_id: Type.String({ maxLength: 64, description: 'The account', examples: ['acme'] }) });
const TokenParams = Type.Object({ ...AccountParams.properties, token_id: Type.String({ maxLength: 64 }) });
const tags = ['accounts'];

/** What the schema cannot say: the parent exists and is no descendant, a number or accountcode belongs to one account. */
function readAccount(ctx: Ctx, d: AccountFields, existing: Account | undefined): Omit<Account, 'created' | 'updated'> {
  const errors: FieldErrors = {};
  const id = existing?.id ?? d.id ?? newId();
  const name = (d.name ?? existing?.name)?.trim();
  if (name === undefined) errors.name = { required: { message: 'Field is required but missing' } };
  else if (!name) errors.name = { minLength: { message: 'Value must be a string of 1-128 characters', target: 1 } };
  const realm = d.realm === undefined ? (existing?.realm ?? null) : d.realm;
  const parent = d.parent_id === undefined ? (existing?.parent_id ?? null) : d.parent_id;
  const dir = ctx.deps.accounts;
  if (parent !== null && (!dir.get(parent) || parent === id)) {
    errors.parent_id = { exists: { message: 'Value must be the id of another existing account' } };
  } else if (parent && dir.lineage(parent).includes(id)) {
    errors.parent_id = { cycle: { message: 'An account cannot be its own ancestor' } };
  }
  const list = (v: string[] | undefined) => (v === undefined ? undefined : [...new Set(v.map((x) => x.trim()).filter(Boolean))]);
  const accountcodes = list(d.accountcodes) ?? existing?.accountcodes ?? [];
  const numbers = list(d.numbers) ?? existing?.numbers ?? [];
  // a DID or accountcode routes calls to exactly one account
  for (const n of numbers) {
    const owner = dir.numberOwner(n);
    if (owner && owner !== id) errors.numbers = { unique: { message: `Number ${n} already belongs to account ${owner}` } };
  }
  for (const c of accountcodes) {
    const owner = dir.codeOwner(c);
    if (owner && owner !== id) errors.accountcodes = { unique: { message: `Accountcode ${c} already belongs to account ${owner}` } };
  }
  if (Object.keys(errors).length) throw new AppError('invalid', 'invalid data', { fields: errors });
  return { id, name: name!, realm, parent_id: parent, accountcodes, numbers };
}

async function issueToken(ctx: Ctx, accountId: string): Promise<{ token: Token; secret: string }> {
  const secret = newToken();
  const token: Token = { id: newId(), account_id: accountId, created: Date.now(), last_used: null };
  await ctx.deps.store.createToken(token, hashToken(secret));
  return { token, secret };
}

export async function accountRoutes(app: Api, ctx: Ctx): Promise<void> {
  const { store } = ctx.deps;
  const admin = { access: 'admin' } as const;
  const account = { access: 'account' } as const;

  const create = {
    config: admin,
    schema: {
      tags,
      summary: 'Create an account (and its first API token, shown once)',
      body: NewAccountBody,
      response: { 201: Ok(CreatedAccount), ...errors(400, 403, 409, 413) },
    },
  };
  // the checks of parent, numbers and accountcodes read the accounts as stored now: another
  // process sharing the store may have changed them
  const created = async (fields: AccountFields) => {
    await ctx.reloadAccounts();
    const read = readAccount(ctx, fields, undefined);
    if (await store.getAccount(read.id)) throw new AppError('conflict', `account ${read.id} already exists`);
    const now = Date.now();
    const a: Account = { ...read, created: now, updated: now };
    await store.createAccount(a);
    await ctx.reloadAccounts();
    const { token, secret } = await issueToken(ctx, a.id);
    return { ...presentAccount(a), auth_token: secret, token_id: token.id };
  };
  app.post('/accounts', create, async (req, reply) => ok(reply, await created(req.body.data), {}, 201));
  app.put('/accounts', create, async (req, reply) => ok(reply, await created(req.body.data), {}, 201));

  app.get(
    '/accounts',
    { config: admin, schema: { tags, summary: 'List every account', response: { 200: Ok(Type.Array(Type.Ref(Account_))), ...errors(403) } } },
    async (_req, reply) => ok(reply, (await store.listAccounts()).map(presentAccount)),
  );

  app.get(
    '/accounts/:account_id',
    { config: account, schema: { tags, summary: 'Read an account', params: AccountParams, response: { 200: Ok(Type.Ref(Account_)), ...errors(403, 404) } } },
    async (req, reply) => {
      // another process sharing the store may have deleted it since the accounts were last read
      const a = await store.getAccount(req.params.account_id);
      if (!a) throw new AppError('not_found', `account ${req.params.account_id} not found`);
      return ok(reply, presentAccount(a));
    },
  );

  const edit = {
    config: admin,
    schema: {
      tags,
      summary: 'Change an account (the fields given)',
      params: AccountParams,
      body: AccountBody,
      response: { 200: Ok(Type.Ref(Account_)), ...errors(400, 403, 404, 413) },
    },
  };
  const edited = async (id: string, fields: AccountFields) => {
    const existing = await store.getAccount(id);
    if (!existing) throw new AppError('not_found', `account ${id} not found`);
    await ctx.reloadAccounts();
    const a: Account = { ...readAccount(ctx, fields, existing), created: existing.created, updated: Date.now() };
    await store.updateAccount(a);
    await ctx.reloadAccounts();
    return presentAccount(a);
  };
  app.post('/accounts/:account_id', edit, async (req, reply) => ok(reply, await edited(req.params.account_id, req.body.data)));
  app.patch('/accounts/:account_id', edit, async (req, reply) => ok(reply, await edited(req.params.account_id, req.body.data)));

  app.delete(
    '/accounts/:account_id',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Delete an account with its tokens, webhooks and their deliveries',
        params: AccountParams,
        response: { 200: Ok(Deleted), ...errors(403, 404) },
      },
    },
    async (req, reply) => {
      if (!(await store.deleteAccount(req.params.account_id))) throw new AppError('not_found', `account ${req.params.account_id} not found`);
      await ctx.reloadAccounts();
      return ok(reply, { id: req.params.account_id, deleted: true });
    },
  );

  app.get(
    '/accounts/:account_id/tokens',
    {
      config: account,
      schema: {
        tags,
        summary: "List an account's API tokens (never the tokens themselves)",
        params: AccountParams,
        response: { 200: Ok(Type.Array(Type.Ref(Token_))), ...errors(403, 404) },
      },
    },
    async (req, reply) => ok(reply, (await store.listTokens(req.params.account_id)).map(presentToken)),
  );
  app.post(
    '/accounts/:account_id/tokens',
    {
      config: account,
      schema: { tags, summary: 'Create an API token (shown once)', params: AccountParams, response: { 201: Ok(CreatedToken), ...errors(403, 404) } },
    },
    async (req, reply) => {
      const { token, secret } = await issueToken(ctx, req.params.account_id);
      return ok(reply, { ...presentToken(token), auth_token: secret }, {}, 201);
    },
  );
  app.delete(
    '/accounts/:account_id/tokens/:token_id',
    { config: account, schema: { tags, summary: 'Revoke an API token', params: TokenParams, response: { 200: Ok(Deleted), ...errors(403, 404) } } },
    async (req, reply) => {
      if (!(await store.deleteToken(req.params.account_id, req.params.token_id))) throw new AppError('not_found', `token ${req.params.token_id} not found`);
      return ok(reply, { id: req.params.token_id, deleted: true });
    },
  );
}
