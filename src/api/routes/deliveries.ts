/** A webhook's deliveries: list by status, retry one, recover failed ones, send a test event. */
import { Type } from '@sinclair/typebox';
import { AppError } from '../../shared/errors.js';
import { toGregorianSeconds } from '../../shared/gregorian.js';
import { samplePayload } from '../../hooks/sample.js';
import type { Webhook } from '../../hooks/model.js';
import { ok } from '../reply.js';
import type { Api, Ctx } from '../context.js';
import { errors, Ok, PageQuery, Paged, StringEnum } from '../schema/common.js';
import { DELIVERY_STATUSES, Delivery_, presentAttempt, presentDelivery, RecoverBody, Recovered, Retried, TestAttempt } from '../schema/delivery.js';
import { fromApiTime, HookParams, nextPageKey, pageKey } from './webhooks.js';

const DeliveryParams = Type.Object({ ...HookParams.properties, delivery_id: Type.String({ maxLength: 64 }) });
const DeliveryQuery = Type.Object({ ...PageQuery, status: Type.Optional(StringEnum(DELIVERY_STATUSES, { description: 'Only deliveries in this state' })) });
const tags = ['deliveries'];

export async function deliveryRoutes(app: Api, ctx: Ctx): Promise<void> {
  const { store } = ctx.deps;
  const base = '/accounts/:account_id/webhooks/:webhook_id';
  const config = { access: 'account' } as const;

  const hookOf = async (p: { account_id: string; webhook_id: string }): Promise<Webhook> => {
    const hook = await store.getWebhook(p.account_id, p.webhook_id);
    if (!hook) throw new AppError('not_found', `webhook ${p.webhook_id} not found`);
    return hook;
  };

  app.get(
    `${base}/deliveries`,
    {
      config,
      schema: {
        tags,
        summary: "The webhook's deliveries, newest first",
        params: HookParams,
        querystring: DeliveryQuery,
        response: { 200: Paged(Type.Ref(Delivery_)), ...errors(400, 403, 404) },
      },
    },
    async (req, reply) => {
      const hook = await hookOf(req.params);
      const start_key = pageKey(ctx, hook.account_id, req.query.start_key);
      const page = await store.listDeliveries({ webhook_id: hook.id, status: req.query.status, limit: req.query.page_size ?? 50, start_key });
      return ok(reply, page.items.map(presentDelivery), { page_size: page.items.length, ...nextPageKey(ctx, hook.account_id, page.next_start_key) });
    },
  );

  app.post(
    `${base}/deliveries/:delivery_id/retry`,
    { config, schema: { tags, summary: 'Send a finished delivery again', params: DeliveryParams, response: { 200: Ok(Retried), ...errors(403, 404) } } },
    async (req, reply) => {
      const hook = await hookOf(req.params);
      if (!(await store.retryDelivery(hook.id, req.params.delivery_id, Date.now()))) {
        throw new AppError('not_found', `no finished delivery ${req.params.delivery_id} of this webhook`);
      }
      ctx.deps.onWebhooksChanged?.();
      return ok(reply, { id: req.params.delivery_id, status: 'pending' as const });
    },
  );

  app.post(
    `${base}/recover`,
    {
      config,
      schema: {
        tags,
        summary: 'Send again the failed deliveries created since a time',
        params: HookParams,
        body: RecoverBody,
        response: { 200: Ok(Recovered), ...errors(400, 403, 404, 413) },
      },
    },
    async (req, reply) => {
      const hook = await hookOf(req.params);
      const since = fromApiTime(Number(req.body.data.since));
      const recovered = await store.recoverDeliveries(hook.id, since, Date.now());
      ctx.deps.onWebhooksChanged?.();
      return ok(reply, { recovered, since: toGregorianSeconds(since) });
    },
  );

  app.post(
    `${base}/test`,
    {
      config,
      schema: {
        tags,
        summary: "Send a sample event of the webhook's hook type now, signed like the others",
        params: HookParams,
        response: { 200: Ok(TestAttempt), ...errors(403, 404) },
      },
    },
    async (req, reply) => {
      const hook = await hookOf(req.params);
      if (!ctx.deps.sendTest) throw new AppError('internal', 'delivery is not running in this process');
      const realm = ctx.deps.accounts.get(hook.account_id)?.realm || ctx.deps.defaultRealm || 'callhook.local';
      // within limits: over them sendTest throws a rate_limited AppError (429 with Retry-After)
      const attempt = await ctx.deps.sendTest(hook, samplePayload(hook.hook, hook.account_id, realm));
      // sendTest keeps no answer body (status code, timing and result only)
      const { id: _none, ...shown } = presentAttempt({ ...attempt, id: 0 }, ctx.ids);
      return ok(reply, shown);
    },
  );
}
