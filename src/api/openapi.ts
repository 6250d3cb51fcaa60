/**
 * The OpenAPI 3.1 document, generated from the routes' schemas (@fastify/swagger), served at
 * /api/v1/openapi.json, and Swagger UI at /docs (@fastify/swagger-ui, its assets from the package).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { Access } from './auth.js';
import { ErrorBody } from './schema/common.js';
import { Account_, Token_ } from './schema/account.js';
import { Webhook_ } from './schema/webhook.js';
import { Attempt_, Delivery_ } from './schema/delivery.js';

/** the resources every route refers to by name (#/components/schemas/…) */
export const SHARED_SCHEMAS = [ErrorBody, Account_, Token_, Webhook_, Attempt_, Delivery_];

const TOKEN = [{ authToken: [] }, { bearer: [] }];
const SECURITY: Record<Access, { authToken?: never[]; bearer?: never[] }[]> = { admin: TOKEN, account: TOKEN, token: TOKEN, public: [] };
const WHO: Record<Access, string> = {
  admin: 'Needs the admin token.',
  account: 'Needs a token of this account, of an ancestor account, or the admin token.',
  token: 'Needs any valid token.',
  public: '',
};

export async function docs(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'callhook',
        version,
        description:
          'Asterisk call events as WIRECLOUD/Kazoo webhooks. Every answer is Kazoo\'s envelope {"data": …, "status": "success", "request_id": …}; ' +
          'errors are {"data": {field: {rule: {"message": …}}}, "error": "400", "message": …, "status": "error"}. Times are Gregorian seconds.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      components: {
        securitySchemes: {
          authToken: { type: 'apiKey', in: 'header', name: 'X-Auth-Token', description: 'The admin token, or a token of an account' },
          bearer: { type: 'http', scheme: 'bearer', description: 'The same token as Authorization: Bearer …' },
        },
      },
      tags: [
        { name: 'accounts', description: 'Accounts and their API tokens' },
        { name: 'webhooks', description: 'Webhooks (the WIRECLOUD paths), their secrets and attempts' },
        { name: 'deliveries', description: "A webhook's deliveries: list, retry, recover, test" },
        { name: 'health', description: 'Health checks and metrics' },
      ],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    // the access a route declares (auth.ts) is its security in the document
    transform: ({ schema, url, route }) => {
      const access = route.config?.access;
      if (!access || !schema) return { schema, url };
      const who = WHO[access];
      const s = schema as Record<string, unknown>;
      return {
        url,
        schema: { ...s, security: SECURITY[access], ...(who && { description: [s.description, who].filter(Boolean).join('\n\n') }) } as typeof schema,
      };
    },
  });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
    // the page's own assets only; Swagger UI sets inline styles (its SVG icons), nothing from elsewhere
    staticCSP: true,
    transformStaticCSP: () =>
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'",
  });
}
