/**
 * buildApp(deps): the Fastify REST API at /api/v1, not listening. Responses use Kazoo's
 * envelope {"data": …, "status": "success", "request_id": …}; errors use Kazoo's shape.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { randomBytes } from 'node:crypto';
import sjson from 'secure-json-parse';
import { AppError } from '../shared/errors.js';
import type { Api, ApiDeps, Ctx } from './context.js';
import { Auth, authHook, hashToken } from './auth.js';
import { errorBody } from './reply.js';
import { compileValidator } from './validation.js';
import { docs, SHARED_SCHEMAS } from './openapi.js';
import { healthRoutes } from './routes/health.js';
import { OpaqueIds } from './opaque.js';
import { DEFAULT_LIMITS, limitedServer } from './connections.js';
import { accountRoutes } from './routes/accounts.js';
import { webhookRoutes } from './routes/webhooks.js';
import { deliveryRoutes } from './routes/deliveries.js';

/** Fastify's own client errors (bad JSON, wrong content type, too large) → Kazoo shape. */
function clientErrorMessage(err: FastifyError): string {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'invalid json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'empty body: send {"data": {...}}';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'request body too large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported content type: send application/json';
    default:
      return err instanceof SyntaxError ? 'invalid json' : err.message;
  }
}

const typed = (app: FastifyInstance): Api => app.withTypeProvider<TypeBoxTypeProvider>();

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimit ?? 65536,
    serverFactory: (handler) => limitedServer(handler, deps.limits ?? DEFAULT_LIMITS),
    genReqId: () => randomBytes(16).toString('hex'),
  });
  app.setValidatorCompiler(compileValidator);
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);

  // JSON bodies; curl -d without -H "Content-Type: application/json" sends form encoding,
  // so that is read as JSON too
  app.removeContentTypeParser(['application/json']);
  app.addContentTypeParser(['application/json', 'application/x-www-form-urlencoded', 'text/plain'], { parseAs: 'string' }, (_req, body, done) => {
    const parsed = parseJsonBody(body as string);
    if (parsed instanceof Error) done(parsed, undefined);
    else done(null, parsed);
  });

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug({ method: req.method, url: req.routeOptions.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    if (err instanceof AppError) {
      if (err.status >= 500) req.log.error({ err }, 'request failed');
      if (err.retryAfterSec !== undefined) void reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterSec))));
      return reply.code(err.status).send(errorBody(req, err.status, err.message, err.fields ?? {}));
    }
    if (err.code === 'FST_ERR_VALIDATION' && err.validation) {
      // a schema's errors come formatted by the validator compiler (validation.ts): this is only a fallback
      return reply.code(400).send(errorBody(req, 400, 'invalid data'));
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send(errorBody(req, status, clientErrorMessage(err)));
    req.log.error({ err }, 'request failed');
    return reply.code(500).send(errorBody(req, 500, 'internal error'));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody(req, 404, `no route ${req.method} ${req.url.split('?')[0]}`));
  });

  const reloadAccounts = async () => deps.accounts.load(await deps.store.listAccounts());
  const ctx: Ctx = {
    deps,
    ids: new OpaqueIds(deps.adminToken),
    auth: new Auth(deps.store, deps.accounts, hashToken(deps.adminToken), reloadAccounts, deps.limits?.authFailuresPerMinute),
    reloadAccounts,
  };
  await ctx.reloadAccounts();

  if (deps.routes !== false) await docs(app, deps.version ?? '0.0.0');
  await healthRoutes(typed(app), deps);
  if (deps.routes === false) return app;
  await app.register(
    async (scope) => {
      authHook(scope, ctx.auth);
      const api = typed(scope);
      await accountRoutes(api, ctx);
      await webhookRoutes(api, ctx);
      await deliveryRoutes(api, ctx);
    },
    { prefix: '/api/v1' },
  );
  return app;
}

/**
 * Parses a request body as JSON, refusing __proto__/constructor keys. A backslash-newline
 * (a shell line continuation pasted inside a quoted curl -d body, as in the WIRECLOUD
 * examples) can never be valid JSON, so it is read as white space.
 */
export function parseJsonBody(body: string): unknown {
  if (body.trim() === '') return undefined;
  for (const text of [body, body.replace(/\\\r?\n/g, ' ')]) {
    try {
      return sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch {
      // try the next reading
    }
  }
  const err = new SyntaxError('invalid json') as SyntaxError & { statusCode: number };
  err.statusCode = 400;
  return err;
}
