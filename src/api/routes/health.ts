/** /health (what the process is doing), /health/live and /health/ready (for orchestrators), /metrics (Prometheus). */
import { Type } from '@sinclair/typebox';
import type { Api, ApiDeps } from '../context.js';

const Count = (description: string) => Type.Optional(Type.Integer({ minimum: 0, description }));

const Health = Type.Object(
  {
    status: Type.Literal('ok'),
    version: Type.Optional(Type.String({ examples: ['0.1.0'] })),
    roles: Type.Optional(Type.Array(Type.String(), { examples: [['api', 'ingest', 'deliver']] })),
    ari: Type.Optional(Type.String({ description: 'connected, connecting, disconnected, or off without the ingest role', examples: ['connected'] })),
    open_legs: Count('Call legs being followed'),
    ari_events_received: Count('ARI events read from Asterisk'),
    ari_events_committed: Count('ARI events whose results are stored'),
    events_stored: Count('Call events stored'),
    events_without_account: Count("Call events no account's rules matched"),
    events_lost: Count('Call events that could not be stored'),
    deliveries_in_flight: Count('Requests to receivers now'),
    deliveries_pending: Count('Deliveries waiting to go out'),
    webhooks_failing: Count('Webhooks whose receiver is failing'),
    rss_mb: Count('Resident memory'),
    heap_used_mb: Count('V8 heap in use'),
  },
  { additionalProperties: true, title: 'Health' },
);

const Ready = Type.Object(
  {
    status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
    checks: Type.Record(Type.String(), Type.String(), { description: 'Each check: "ok" or why not', examples: [{ store: 'ok', ari: 'ok' }] }),
  },
  { title: 'Ready' },
);

export async function healthRoutes(app: Api, deps: ApiDeps): Promise<void> {
  const tags = ['health'];
  app.get('/health', { schema: { tags, summary: 'What the process is doing', response: { 200: Health } } }, async () => ({
    status: 'ok' as const,
    ...((await deps.health?.()) ?? {}),
  }));
  app.get(
    '/health/live',
    { schema: { tags, summary: 'Liveness: the process answers', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({
      status: 'ok' as const,
    }),
  );
  app.get(
    '/health/ready',
    { schema: { tags, summary: 'Readiness: the store is writable and, with the ingest role, ARI is connected', response: { 200: Ready, 503: Ready } } },
    async (_req, reply) => {
      const r = (await deps.ready?.()) ?? { ready: true, checks: {} };
      return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ok' : 'unavailable', checks: r.checks });
    },
  );
  const metrics = deps.metrics;
  if (metrics) {
    app.get(
      '/metrics',
      {
        schema: {
          tags,
          summary: 'Prometheus metrics (text exposition format)',
          produces: ['text/plain'],
          response: { 200: { description: 'The Prometheus text format', content: { 'text/plain': { schema: Type.String() } } } },
        },
      },
      async (_req, reply) => {
        const m = await metrics();
        return reply.type(m.contentType).send(m.body);
      },
    );
  }
}
