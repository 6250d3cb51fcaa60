/** Webhooks (WIRECLOUD paths), their secrets and attempts, and the list of available hook types. */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { AppError, type FieldErrors } from '../../shared/errors.js';
import { HOOK_TYPES, newSecret, newWebhook, readWebhook, type Webhook, type WebhookInput } from '../../hooks/model.js';
import { fromGregorianSeconds, GREGORIAN_OFFSET } from '../../shared/gregorian.js';
import { ok } from '../reply.js';
import type { Api, Ctx } from '../context.js';
import { errors, Ok, PageQuery, Paged, TimeParam } from '../schema/common.js';
import { CreatedWebhook, HookType, presentSecret, presentWebhook, ReenableBody, Reenabled, WebhookBody, WebhookSecret, Webhook_ } from '../schema/webhook.js';
import { Attempt_, presentAttempt } from '../schema/delivery.js';

export const AccountParams = Type.Object({ account_id: Type.String({ maxLength: 64, examples: ['acme'] }) });
export const HookParams = Type.Object({ ...AccountParams.properties, webhook_id: Type.String({ maxLength: 64, description: 'The webhook' }) });
const AttemptQuery = Type.Object({
  ...PageQuery,
  created_from: Type.Optional(TimeParam('Attempts from then on')),
  created_to: Type.Optional(TimeParam('Attempts until then')),
});
const tags = ['webhooks'];

/** created_from/created_to/since: Gregorian seconds as Kazoo uses, or unix seconds → unix ms */
export function fromApiTime(s: number): number {
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

export async function webhookRoutes(app: Api, ctx: Ctx): Promise<void> {
  const { store } = ctx.deps;
  const base = '/accounts/:account_id/webhooks';
  const config = { access: 'account' } as const;

  const find = async (p: Static<typeof HookParams>): Promise<Webhook> => {
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
    return hooks.map((h) => presentWebhook(h, pending.get(h.id) ?? 0));
  };
  const shownOne = async (hook: Webhook) => (await shown([hook]))[0]!;

  app.get(
    '/webhooks',
    {
      config: { access: 'token' },
      schema: { tags, summary: 'The hook types a webhook can receive', response: { 200: Ok(Type.Array(HookType)), ...errors() } },
    },
    async (_req, reply) =>
      ok(
        reply,
        Object.entries(HOOK_TYPES).map(([id, description]) => ({ id, name: id, description })),
      ),
  );

  app.get(
    base,
    {
      config,
      schema: {
        tags,
        summary: "List the account's webhooks",
        params: AccountParams,
        querystring: Type.Object(PageQuery),
        response: { 200: Paged(Type.Ref(Webhook_)), ...errors(400, 403, 404) },
      },
    },
    async (req, reply) => {
      const page = await store.listWebhooks(req.params.account_id, { limit: req.query.page_size ?? 50, start_key: req.query.start_key });
      return ok(reply, await shown(page.items), {
        page_size: page.items.length,
        ...(req.query.start_key ? { start_key: req.query.start_key } : {}),
        ...(page.next_start_key ? { next_start_key: page.next_start_key } : {}),
      });
    },
  );

  app.put(
    base,
    {
      config,
      schema: {
        tags,
        summary: 'Create a webhook (the signing secret is in the answer)',
        description: "uri (or target_url) and hook are required; the other fields have Kazoo's defaults.",
        params: AccountParams,
        body: WebhookBody,
        response: { 201: Ok(CreatedWebhook), ...errors(400, 403, 404, 413) },
      },
    },
    async (req, reply) => {
      const input = readWebhook(req.body.data, 'create') as WebhookInput;
      await checkTargets(input);
      const hook = newWebhook(req.params.account_id, input, Date.now());
      await store.createWebhook(hook);
      // the signing secret is shown here, on rotate and by GET …/secret
      return ok(reply, { ...presentWebhook(hook, 0), secret: hook.secret }, {}, 201);
    },
  );

  app.patch(
    base,
    {
      config,
      schema: {
        tags,
        summary: 'Re-enable every webhook of the account that callhook disabled',
        params: AccountParams,
        body: ReenableBody,
        response: { 200: Ok(Reenabled), ...errors(400, 403, 404, 413) },
      },
    },
    async (req, reply) => {
      const count = await store.reenableWebhooks(req.params.account_id, Date.now());
      changed();
      return ok(reply, { 're-enable': true as const, enabled: count });
    },
  );

  const attemptsRoute = <P extends TSchema>(summary: string, params: P) => ({
    config,
    schema: { tags, summary, params, querystring: AttemptQuery, response: { 200: Paged(Type.Ref(Attempt_)), ...errors(400, 403, 404) } },
  });
  const attempts = async (accountId: string, webhookId: string | undefined, q: Static<typeof AttemptQuery>) => {
    const page = await store.listAttempts({
      account_id: accountId,
      webhook_id: webhookId,
      created_from: q.created_from === undefined ? undefined : fromApiTime(q.created_from),
      created_to: q.created_to === undefined ? undefined : fromApiTime(q.created_to),
      limit: q.page_size ?? 50,
      start_key: pageKey(ctx, accountId, q.start_key),
    });
    return {
      items: page.items.map((a) => presentAttempt(a, ctx.ids)),
      extra: { page_size: page.items.length, ...(q.start_key ? { start_key: q.start_key } : {}), ...nextPageKey(ctx, accountId, page.next_start_key) },
    };
  };
  app.get(`${base}/attempts`, attemptsRoute("The delivery attempts of all the account's webhooks, newest first", AccountParams), async (req, reply) => {
    const page = await attempts(req.params.account_id, undefined, req.query);
    return ok(reply, page.items, page.extra);
  });
  app.get(`${base}/:webhook_id/attempts`, attemptsRoute("The webhook's delivery attempts, newest first", HookParams), async (req, reply) => {
    await find(req.params);
    const page = await attempts(req.params.account_id, req.params.webhook_id, req.query);
    return ok(reply, page.items, page.extra);
  });

  app.get(
    `${base}/:webhook_id`,
    { config, schema: { tags, summary: 'Read a webhook with its health', params: HookParams, response: { 200: Ok(Type.Ref(Webhook_)), ...errors(403, 404) } } },
    async (req, reply) => ok(reply, await shownOne(await find(req.params))),
  );

  app.get(
    `${base}/:webhook_id/secret`,
    { config, schema: { tags, summary: 'Read the signing secret', params: HookParams, response: { 200: Ok(WebhookSecret), ...errors(403, 404) } } },
    async (req, reply) => ok(reply, presentSecret(await find(req.params), Date.now())),
  );

  app.post(
    `${base}/:webhook_id/secret/rotate`,
    {
      config,
      schema: {
        tags,
        summary: 'A new signing secret; the old one signs beside it for CALLHOOK_SECRET_GRACE_HOURS',
        params: HookParams,
        response: { 200: Ok(WebhookSecret), ...errors(403, 404) },
      },
    },
    async (req, reply) => {
      const hook = await find(req.params);
      const now = Date.now();
      await store.rotateSecret(hook.account_id, hook.id, newSecret(), now + (ctx.deps.secretGraceMs ?? 86_400_000), now);
      return ok(reply, presentSecret(await find(req.params), now));
    },
  );

  /** POST replaces the client's fields (defaults for the missing ones), PATCH merges them */
  const editRoute = (summary: string) => ({
    config,
    schema: { tags, summary, params: HookParams, body: WebhookBody, response: { 200: Ok(Type.Ref(Webhook_)), ...errors(400, 403, 404, 413) } },
  });
  const edit = async (params: Static<typeof HookParams>, data: Static<typeof WebhookBody>['data'], mode: 'replace' | 'patch') => {
    const existing = await find(params);
    const changes = readWebhook(data, mode);
    await checkTargets(changes);
    const hook: Webhook = { ...existing, ...changes, updated: Date.now() };
    // enabled, or disabled by the client itself: no reason, and it stops collecting events
    if (hook.enabled || changes.enabled === false) hook.disabled_reason = null;
    await store.updateWebhook(hook);
    if (hook.enabled && !existing.enabled) changed();
    return shownOne((await store.getWebhook(hook.account_id, hook.id)) ?? hook);
  };
  const replace = editRoute('Replace a webhook: the fields given, defaults for the rest');
  app.post(`${base}/:webhook_id`, replace, async (req, reply) => ok(reply, await edit(req.params, req.body.data, 'replace')));
  // the WIRECLOUD page's edit example lacks the slash: …/webhooks{webhook_id}
  app.post(`${base}:webhook_id`, { ...replace, schema: { ...replace.schema, hide: true } }, async (req, reply) =>
    ok(reply, await edit(req.params, req.body.data, 'replace')),
  );
  app.patch(`${base}/:webhook_id`, editRoute('Change the fields given of a webhook'), async (req, reply) =>
    ok(reply, await edit(req.params, req.body.data, 'patch')),
  );

  app.delete(
    `${base}/:webhook_id`,
    {
      config,
      schema: { tags, summary: 'Delete a webhook and its deliveries', params: HookParams, response: { 200: Ok(Type.Ref(Webhook_)), ...errors(403, 404) } },
    },
    async (req, reply) => {
      const hook = await find(req.params);
      await store.deleteWebhook(hook.account_id, hook.id);
      return ok(reply, presentWebhook(hook));
    },
  );
}
