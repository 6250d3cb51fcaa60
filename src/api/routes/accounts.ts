/** Accounts and their API tokens. Creating, editing and deleting accounts needs the admin token. */
import type { FastifyInstance } from 'fastify';
import { AppError, type FieldErrors } from '../../errors.js';
import type { Account, Token } from '../../store/store.js';
import { newId } from '../../hooks/model.js';
import { toGregorianSeconds } from '../../events/gregorian.js';
import { dataOf, ok, type Ctx } from '../app.js';
import { hashToken, newToken } from '../auth.js';

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const REALM = /^[A-Za-z0-9.-]{1,253}$/;

interface AccountParams {
  account_id: string;
}

export function publicAccount(a: Account): Record<string, unknown> {
  return {
    id: a.id,
    name: a.name,
    realm: a.realm,
    parent_id: a.parent_id,
    accountcodes: a.accountcodes,
    numbers: a.numbers,
    created: toGregorianSeconds(a.created),
    updated: toGregorianSeconds(a.updated),
  };
}

function publicToken(t: Token): Record<string, unknown> {
  return {
    id: t.id,
    created: toGregorianSeconds(t.created),
    last_used: t.last_used === null ? null : toGregorianSeconds(t.last_used),
  };
}

function stringList(errors: FieldErrors, field: string, v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !x.trim() || x.length > 64)) {
    errors[field] = { type: { message: 'Value must be an array of strings (1-64 characters)', target: 'array' } };
    return undefined;
  }
  return [...new Set((v as string[]).map((x) => x.trim()))];
}

/** Validates account fields; `partial` for edits. */
function validateAccount(ctx: Ctx, data: unknown, existing: Account | undefined): Omit<Account, 'created' | 'updated'> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw AppError.invalidField('data', 'type', 'Value must be an object');
  const d = data as Record<string, unknown>;
  const errors: FieldErrors = {};
  const id = existing?.id ?? (d.id === undefined ? newId() : d.id);
  if (typeof id !== 'string' || !ID.test(id)) errors.id = { pattern: { message: 'Use 1-64 letters, digits, _ or -' } };
  const name = d.name ?? existing?.name;
  if (typeof name !== 'string' || !name.trim() || name.length > 128) {
    errors.name = name === undefined ? { required: { message: 'Field is required but missing' } } : { type: { message: 'Value must be a string of 1-128 characters' } };
  }
  const realm = d.realm === undefined ? (existing?.realm ?? null) : d.realm;
  if (realm !== null && (typeof realm !== 'string' || !REALM.test(realm))) errors.realm = { format: { message: 'Value must be a host name' } };
  const parent = d.parent_id === undefined ? (existing?.parent_id ?? null) : d.parent_id;
  if (parent !== null && (typeof parent !== 'string' || !ctx.deps.accounts.get(parent) || parent === id)) {
    errors.parent_id = { exists: { message: 'Value must be the id of another existing account' } };
  } else if (parent && typeof id === 'string' && ctx.deps.accounts.lineage(parent).includes(id)) {
    errors.parent_id = { cycle: { message: 'An account cannot be its own ancestor' } };
  }
  const accountcodes = stringList(errors, 'accountcodes', d.accountcodes) ?? existing?.accountcodes ?? [];
  const numbers = stringList(errors, 'numbers', d.numbers) ?? existing?.numbers ?? [];
  // a DID or accountcode routes calls to exactly one account
  const dir = ctx.deps.accounts;
  for (const n of numbers) {
    const owner = dir.numberOwner(n);
    if (owner && owner !== id) errors.numbers = { unique: { message: `Number ${n} already belongs to account ${owner}` } };
  }
  for (const c of accountcodes) {
    const owner = dir.codeOwner(c);
    if (owner && owner !== id) errors.accountcodes = { unique: { message: `Accountcode ${c} already belongs to account ${owner}` } };
  }
  if (Object.keys(errors).length) throw new AppError('invalid', 'invalid data', { fields: errors });
  return { id: id as string, name: (name as string).trim(), realm: realm as string | null, parent_id: parent as string | null, accountcodes, numbers };
}

async function issueToken(ctx: Ctx, accountId: string): Promise<{ token: Token; secret: string }> {
  const secret = newToken();
  const token: Token = { id: newId(), account_id: accountId, created: Date.now(), last_used: null };
  await ctx.deps.store.createToken(token, hashToken(secret));
  return { token, secret };
}

export async function accountRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
  const { store } = ctx.deps;

  // the checks of parent, numbers and accountcodes read the accounts as stored now: another
  // process sharing the store may have changed them
  const create = async (req: { body: unknown }, reply: Parameters<typeof ok>[0]) => {
    await ctx.reloadAccounts();
    const fields = validateAccount(ctx, dataOf(req.body), undefined);
    if (await store.getAccount(fields.id)) throw new AppError('conflict', `account ${fields.id} already exists`);
    const now = Date.now();
    const account: Account = { ...fields, created: now, updated: now };
    await store.createAccount(account);
    await ctx.reloadAccounts();
    const { token, secret } = await issueToken(ctx, account.id);
    return ok(reply, { ...publicAccount(account), auth_token: secret, token_id: token.id }, {}, 201);
  };
  app.post('/accounts', async (req, reply) => {
    await ctx.auth.admin(req);
    return create(req, reply);
  });
  app.put('/accounts', async (req, reply) => {
    await ctx.auth.admin(req);
    return create(req, reply);
  });

  app.get('/accounts', async (req, reply) => {
    await ctx.auth.admin(req);
    return ok(reply, (await store.listAccounts()).map(publicAccount));
  });

  app.get<{ Params: AccountParams }>('/accounts/:account_id', async (req, reply) => {
    await ctx.auth.account(req, req.params.account_id);
    return ok(reply, publicAccount((await store.getAccount(req.params.account_id))!));
  });

  const edit = async (req: { params: AccountParams; body: unknown }, reply: Parameters<typeof ok>[0]) => {
    const existing = await store.getAccount(req.params.account_id);
    if (!existing) throw new AppError('not_found', `account ${req.params.account_id} not found`);
    await ctx.reloadAccounts();
    const fields = validateAccount(ctx, dataOf(req.body), existing);
    const account: Account = { ...fields, created: existing.created, updated: Date.now() };
    await store.updateAccount(account);
    await ctx.reloadAccounts();
    return ok(reply, publicAccount(account));
  };
  app.post<{ Params: AccountParams }>('/accounts/:account_id', async (req, reply) => {
    await ctx.auth.admin(req);
    return edit(req, reply);
  });
  app.patch<{ Params: AccountParams }>('/accounts/:account_id', async (req, reply) => {
    await ctx.auth.admin(req);
    return edit(req, reply);
  });

  app.delete<{ Params: AccountParams }>('/accounts/:account_id', async (req, reply) => {
    await ctx.auth.admin(req);
    if (!(await store.deleteAccount(req.params.account_id))) throw new AppError('not_found', `account ${req.params.account_id} not found`);
    await ctx.reloadAccounts();
    return ok(reply, { id: req.params.account_id, deleted: true });
  });

  app.get<{ Params: AccountParams }>('/accounts/:account_id/tokens', async (req, reply) => {
    await ctx.auth.account(req, req.params.account_id);
    return ok(reply, (await store.listTokens(req.params.account_id)).map(publicToken));
  });
  app.post<{ Params: AccountParams }>('/accounts/:account_id/tokens', async (req, reply) => {
    await ctx.auth.account(req, req.params.account_id);
    const { token, secret } = await issueToken(ctx, req.params.account_id);
    return ok(reply, { ...publicToken(token), auth_token: secret }, {}, 201);
  });
  app.delete<{ Params: AccountParams & { token_id: string } }>('/accounts/:account_id/tokens/:token_id', async (req, reply) => {
    await ctx.auth.account(req, req.params.account_id);
    if (!(await store.deleteToken(req.params.account_id, req.params.token_id))) {
      throw new AppError('not_found', `token ${req.params.token_id} not found`);
    }
    return ok(reply, { id: req.params.token_id, deleted: true });
  });
}
