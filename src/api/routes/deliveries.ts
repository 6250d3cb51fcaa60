/** A webhook's deliveries: list by status, retry one, recover failed ones, send a test event. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { toGregorianSeconds } from '../../events/gregorian.js';
import { samplePayload } from '../../hooks/sample.js';
import type { Delivery, DeliveryStatus } from '../../store/store.js';
import type { Webhook } from '../../hooks/model.js';
import { dataOf, ok, type Ctx } from '../app.js';
import { intParam, nextPageKey, pageKey, publicAttempt, timeParam } from './webhooks.js';

interface Params {
  account_id: string;
  webhook_id: string;
  delivery_id: string;
}
type Query = Record<string, string | undefined>;

const STATUSES: DeliveryStatus[] = ['pending', 'succeeded', 'failed'];

function publicDelivery(d: Delivery): Record<string, unknown> {
  return {
    id: d.id,
    event_id: d.event_id,
    hook_event: d.hook_event,
    call_id: d.call_id,
    status: d.status,
    tries: d.tries,
    next_try: d.status === 'pending' ? toGregorianSeconds(d.next_at) : null,
    last_error: d.last_error,
    created: toGregorianSeconds(d.created),
    updated: toGregorianSeconds(d.updated),
  };
}

export async function deliveryRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
  const { store } = ctx.deps;
  const base = '/accounts/:account_id/webhooks/:webhook_id';

  const hookOf = async (req: FastifyRequest<{ Params: Params }>): Promise<Webhook> => {
    await ctx.auth.account(req, req.params.account_id);
    const hook = await store.getWebhook(req.params.account_id, req.params.webhook_id);
    if (!hook) throw new AppError('not_found', `webhook ${req.params.webhook_id} not found`);
    return hook;
  };

  app.get<{ Params: Params; Querystring: Query }>(`${base}/deliveries`, async (req, reply) => {
    const hook = await hookOf(req);
    const status = req.query.status as DeliveryStatus | undefined;
    if (status !== undefined && !STATUSES.includes(status)) {
      throw AppError.invalidField('status', 'enum', `Value must be one of ${STATUSES.join(', ')}`);
    }
    const start_key = pageKey(ctx, hook.account_id, req.query.start_key);
    const page = await store.listDeliveries({ webhook_id: hook.id, status, limit: intParam(req.query, 'page_size', 1, 1000, 50)!, start_key });
    return ok(reply, page.items.map(publicDelivery), {
      page_size: page.items.length,
      ...nextPageKey(ctx, hook.account_id, page.next_start_key),
    });
  });

  app.post<{ Params: Params }>(`${base}/deliveries/:delivery_id/retry`, async (req, reply) => {
    const hook = await hookOf(req);
    if (!(await store.retryDelivery(hook.id, req.params.delivery_id, Date.now()))) {
      throw new AppError('not_found', `no finished delivery ${req.params.delivery_id} of this webhook`);
    }
    ctx.deps.onWebhooksChanged?.();
    return ok(reply, { id: req.params.delivery_id, status: 'pending' });
  });

  // {"data": {"since": <Gregorian or unix seconds>}}: failed deliveries created since then go out again
  app.post<{ Params: Params }>(`${base}/recover`, async (req, reply) => {
    const hook = await hookOf(req);
    const data = dataOf(req.body) as Record<string, unknown> | null;
    const raw = data && typeof data === 'object' ? data.since : undefined;
    if (raw === undefined) throw AppError.invalidField('since', 'required', 'Field is required but missing');
    const since = timeParam({ since: typeof raw === 'number' ? String(raw) : (raw as string) }, 'since')!;
    const recovered = await store.recoverDeliveries(hook.id, since, Date.now());
    ctx.deps.onWebhooksChanged?.();
    return ok(reply, { recovered, since: toGregorianSeconds(since) });
  });

  app.post<{ Params: Params }>(`${base}/test`, async (req, reply) => {
    const hook = await hookOf(req);
    if (!ctx.deps.sendTest) throw new AppError('internal', 'delivery is not running in this process');
    const realm = ctx.deps.accounts.get(hook.account_id)?.realm || ctx.deps.defaultRealm || 'callhook.local';
    // within limits: over them sendTest throws a rate_limited AppError (429 with Retry-After)
    const attempt = await ctx.deps.sendTest(hook, samplePayload(hook.hook, hook.account_id, realm));
    // sendTest keeps no answer body (status code, timing and result only)
    const { id: _none, ...shown } = publicAttempt({ ...attempt, id: 0 }, ctx.ids);
    return ok(reply, shown);
  });
}
