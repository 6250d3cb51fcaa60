/** Webhooks (WIRECLOUD paths), their attempts, and the list of available hook types. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type FieldErrors } from '../../errors.js';
import { HOOK_TYPES, newSecret, newWebhook, publicWebhook, validateWebhook, type Webhook, type WebhookInput } from '../../hooks/model.js';
import { fromGregorianSeconds, GREGORIAN_OFFSET, toGregorianSeconds } from '../../events/gregorian.js';
import type { Attempt } from '../../store/store.js';
import { dataOf, ok, type Ctx } from '../app.js';
import type { OpaqueIds } from '../opaque.js';

interface Params {
  account_id: string;
  webhook_id: string;
}
type Query = Record<string, string | undefined>;

export function intParam(q: Query, name: string, min: number, max: number, fallback?: number): number | undefined {
  const raw = q[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw AppError.invalidField(name, 'type', `Value must be an integer between ${min} and ${max}`);
  }
  return Number(raw);
}

/** created_from/created_to: Gregorian seconds as Kazoo uses, or unix seconds → unix ms */
export function timeParam(q: Query, name: string): number | undefined {
  const s = intParam(q, name, 0, Number.MAX_SAFE_INTEGER);
  if (s === undefined) return undefined;
  return s >= GREGORIAN_OFFSET ? fromGregorianSeconds(s) : s * 1000;
}

/** a page key of the API from a store's numeric one: opaque, and only good for this account */
export function pageKey(ctx: Ctx, accountId: string, text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  const n = ctx.ids.decode(accountId, text);
  if (n === undefined) throw AppError.invalidField('start_key', 'type', 'Value must be a start_key from a previous page');
  return String(n);
}

export function nextPageKey(ctx: Ctx, accountId: string, key: string | undefined): { next_start_key?: string } {
  return key === undefined ? {} : { next_start_key: ctx.ids.encode(accountId, Number(key)) };
}

/** an attempt as the API shows it: its id opaque (the store's is one counter for every account) */
export function publicAttempt(a: Attempt, ids: OpaqueIds): Record<string, unknown> {
  return {
    id: ids.encode(a.account_id, a.id),
    hook_id: a.webhook_id,
    delivery_id: a.delivery_id,
    event_id: a.event_id,
    hook_event: a.hook_event,
    call_id: a.call_id,
    uri: a.uri,
    http_verb: a.method.toLowerCase(),
    response_code: a.status_code === null ? null : String(a.status_code),
    response_body: a.response_body,
    result: a.result,
    reason: a.reason,
    try: a.try_number,
    retries_left: a.retries_left,
    duration_ms: a.duration_ms,
    timestamp: toGregorianSeconds(a.created),
  };
}

export async function webhookRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
  const { store } = ctx.deps;
  const base = '/accounts/:account_id/webhooks';

  const find = async (p: Params): Promise<Webhook> => {
    const hook = await store.getWebhook(p.account_id, p.webhook_id);
    if (!hook) throw new AppError('not_found', `webhook ${p.webhook_id} not found`);
    return hook;
  };
  const changed = () => ctx.deps.onWebhooksChanged?.();
  /** the target guard on the URLs a create/edit sets (uri, failover_uri): a 400 naming each refused one */
  const checkTargets = async (fields: { uri?: string; failover_uri?: string | null }) => {
    const check = ctx.deps.checkTarget;
    if (!check) return;
    const errors: FieldErrors = {};
    for (const field of ['uri', 'failover_uri'] as const) {
      const uri = fields[field];
      const why = typeof uri === 'string' ? await check(uri) : undefined;
      if (why) errors[field] = { forbidden: { message: why } };
    }
    if (Object.keys(errors).length > 0) throw new AppError('invalid', 'invalid data', { fields: errors });
  };
  /** webhooks as the API shows them, each with its pending deliveries */
  const shown = async (hooks: Webhook[]) => {
    const pending = await store.pendingByWebhook(hooks.map((h) => h.id));
    return hooks.map((h) => publicWebhook(h, pending.get(h.id) ?? 0));
  };
  const shownOne = async (hook: Webhook) => (await shown([hook]))[0];
  const secretOf = (h: Webhook) => ({
    id: h.id,
    secret: h.secret,
    ...(h.previous_secret && (h.previous_secret_until ?? 0) > Date.now()
      ? { previous_secret_expires: toGregorianSeconds(h.previous_secret_until!) }
      : {}),
  });

  app.get('/webhooks', async (req, reply) => {
    await ctx.auth.principal(req);
    const data = Object.entries(HOOK_TYPES).map(([id, description]) => ({ id, name: id, description }));
    return ok(reply, data);
  });

  app.get<{ Params: Params; Querystring: Query }>(base, async (req, reply) => {
    await ctx.auth.account(req, req.params.account_id);
    const limit = intParam(req.query, 'page_size', 1, 1000, 50)!;
    const page = await store.listWebhooks(req.params.account_id, { limit, start_key: req.query.start_key });
    return ok(reply, await shown(page.items), {
      page_size: page.items.length,
      ...(req.query.start_key ? { start_key: req.query.start_key } : {}),
      ...(page.next_start_key ? { next_start_key: page.next_start_key } : {}),
    });
  });

  app.put<{ Params: Params }>(base, async (req, reply) => {
    await ctx.auth.account(req, req.params.account_id);
    const input = validateWebhook(dataOf(req.body), 'create') as WebhookInput;
    await checkTargets(input);
    const hook = newWebhook(req.params.account_id, input, Date.now());
    await store.createWebhook(hook);
    // the signing secret is shown here, on rotate and by GET …/secret
    return ok(reply, { ...publicWebhook(hook, 0), secret: hook.secret }, {}, 201);
  });

  // bulk: {"data": {"re-enable": true}} re-enables every auto-disabled webhook of the account
  app.patch<{ Params: Params }>(base, async (req, reply) => {
    await ctx.auth.account(req, req.params.account_id);
    const data = dataOf(req.body) as Record<string, unknown> | null;
    if (!data || typeof data !== 'object' || data['re-enable'] !== true) {
      throw AppError.invalidField('re-enable', 'required', 'Send {"data": {"re-enable": true}}');
    }
    const count = await store.reenableWebhooks(req.params.account_id, Date.now());
    changed();
    return ok(reply, { 're-enable': true, enabled: count });
  });

  app.get<{ Params: Params; Querystring: Query }>(`${base}/attempts`, async (req, reply) => attempts(req, reply, undefined));

  app.get<{ Params: Params }>(`${base}/:webhook_id`, async (req, reply) => {
    await ctx.auth.account(req, req.params.account_id);
    return ok(reply, await shownOne(await find(req.params)));
  });

  app.get<{ Params: Params }>(`${base}/:webhook_id/secret`, async (req, reply) => {
    await ctx.auth.account(req, req.params.account_id);
    return ok(reply, secretOf(await find(req.params)));
  });

  // a new secret; the old one goes on signing beside it for the grace period (two signatures)
  app.post<{ Params: Params }>(`${base}/:webhook_id/secret/rotate`, async (req, reply) => {
    await ctx.auth.account(req, req.params.account_id);
    const hook = await find(req.params);
    const now = Date.now();
    await store.rotateSecret(hook.account_id, hook.id, newSecret(), now + (ctx.deps.secretGraceMs ?? 86_400_000), now);
    return ok(reply, secretOf(await find(req.params)));
  });

  /** POST replaces the client's fields (defaults for the missing ones), PATCH merges them */
  const edit = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply, mode: 'replace' | 'patch') => {
    await ctx.auth.account(req, req.params.account_id);
    const existing = await find(req.params);
    const changes = validateWebhook(dataOf(req.body), mode);
    await checkTargets(changes);
    const hook: Webhook = { ...existing, ...changes, updated: Date.now() };
    // enabled, or disabled by the client itself: no reason, and it stops collecting events
    if (hook.enabled || changes.enabled === false) hook.disabled_reason = null;
    await store.updateWebhook(hook);
    if (hook.enabled && !existing.enabled) changed();
    return ok(reply, await shownOne((await store.getWebhook(hook.account_id, hook.id)) ?? hook));
  };
  app.post<{ Params: Params }>(`${base}/:webhook_id`, (req, reply) => edit(req, reply, 'replace'));
  // the WIRECLOUD page's edit example lacks the slash: …/webhooks{webhook_id}
  app.post<{ Params: Params }>(`${base}:webhook_id`, (req, reply) => edit(req, reply, 'replace'));
  app.patch<{ Params: Params }>(`${base}/:webhook_id`, (req, reply) => edit(req, reply, 'patch'));

  app.delete<{ Params: Params }>(`${base}/:webhook_id`, async (req, reply) => {
    await ctx.auth.account(req, req.params.account_id);
    const hook = await find(req.params);
    await store.deleteWebhook(hook.account_id, hook.id);
    return ok(reply, publicWebhook(hook));
  });

  app.get<{ Params: Params; Querystring: Query }>(`${base}/:webhook_id/attempts`, async (req, reply) =>
    attempts(req, reply, req.params.webhook_id),
  );

  async function attempts(req: FastifyRequest<{ Params: Params; Querystring: Query }>, reply: FastifyReply, webhookId: string | undefined) {
    await ctx.auth.account(req, req.params.account_id);
    if (webhookId) await find(req.params);
    const limit = intParam(req.query, 'page_size', 1, 1000, 50)!;
    const startKey = req.query.start_key;
    const page = await store.listAttempts({
      account_id: req.params.account_id,
      webhook_id: webhookId,
      created_from: timeParam(req.query, 'created_from'),
      created_to: timeParam(req.query, 'created_to'),
      limit,
      start_key: pageKey(ctx, req.params.account_id, startKey),
    });
    return ok(reply, page.items.map((a) => publicAttempt(a, ctx.ids)), {
      page_size: page.items.length,
      ...(startKey ? { start_key: startKey } : {}),
      ...nextPageKey(ctx, req.params.account_id, page.next_start_key),
    });
  }
}
