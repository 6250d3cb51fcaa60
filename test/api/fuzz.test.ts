/**
 * Property-based: random bodies, headers and query strings at every route (fast-check, fixed
 * seed). Never a 5xx, and a rejected request stores nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ADMIN, testApi, type TestApi } from '../helpers/api.js';

let api: TestApi;
let acme: string;
let hookId: string;

beforeAll(async () => {
  api = await testApi();
  acme = await api.account('acme', { numbers: ['15550001'] });
  await api.account('globex');
  hookId = (await api.call('PUT', '/api/v1/accounts/acme/webhooks', acme, { data: { uri: 'http://crm.example/h', hook: 'all' } })).json.data.id;
});
afterAll(async () => api.close());

/** every route, with its path parameters filled by known or random ids */
const ROUTES: [string, string][] = [
  ['GET', '/api/v1/webhooks'],
  ['POST', '/api/v1/accounts'],
  ['PUT', '/api/v1/accounts'],
  ['GET', '/api/v1/accounts'],
  ['GET', '/api/v1/accounts/{account}'],
  ['POST', '/api/v1/accounts/{account}'],
  ['PATCH', '/api/v1/accounts/{account}'],
  ['DELETE', '/api/v1/accounts/{other}'],
  ['GET', '/api/v1/accounts/{account}/tokens'],
  ['POST', '/api/v1/accounts/{account}/tokens'],
  ['DELETE', '/api/v1/accounts/{account}/tokens/{id}'],
  ['GET', '/api/v1/accounts/{account}/webhooks'],
  ['PUT', '/api/v1/accounts/{account}/webhooks'],
  ['PATCH', '/api/v1/accounts/{account}/webhooks'],
  ['GET', '/api/v1/accounts/{account}/webhooks/attempts'],
  ['GET', '/api/v1/accounts/{account}/webhooks/{hook}'],
  ['POST', '/api/v1/accounts/{account}/webhooks/{hook}'],
  ['PATCH', '/api/v1/accounts/{account}/webhooks/{hook}'],
  ['DELETE', '/api/v1/accounts/{account}/webhooks/{id}'],
  ['GET', '/api/v1/accounts/{account}/webhooks/{hook}/secret'],
  ['GET', '/api/v1/accounts/{account}/webhooks/{hook}/attempts'],
  ['GET', '/api/v1/accounts/{account}/webhooks/{hook}/deliveries'],
  ['POST', '/api/v1/accounts/{account}/webhooks/{hook}/deliveries/{id}/retry'],
  ['POST', '/api/v1/accounts/{account}/webhooks/{hook}/recover'],
];

const scalar = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.string(), tie('v'), { maxKeys: 4 })),
})).v;
const FIELDS = [
  'uri',
  'hook',
  'http_verb',
  'format',
  'retries',
  'enabled',
  'custom_data',
  'headers',
  'event_filter',
  'name',
  'failover_uri',
  'request_method',
  'target_url',
  'id',
  'realm',
  'numbers',
  'accountcodes',
  'parent_id',
  're-enable',
  'since',
  '__proto__',
  'constructor',
];
const data = fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string()), value, { maxKeys: 8 });
const body = fc.oneof(
  data.map((d) => JSON.stringify({ data: d })),
  value.map((v) => JSON.stringify(v)),
  fc.string(),
  fc.constant('{"data":{"__proto__":{"admin":true},"name":"x"}}'),
  fc.constant(''),
);
const query = fc.dictionary(
  fc.constantFrom('page_size', 'start_key', 'created_from', 'created_to', 'status', fc.sample(fc.string(), 1)[0]!),
  fc.oneof(fc.string(), fc.integer().map(String)),
  { maxKeys: 4 },
);
const header = fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', 'application/xml', 'multipart/form-data; boundary=x', '');
const token = fc.constantFrom('acme', 'admin', 'globex', 'none', 'junk');
const id = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 40 }),
  fc.string({ minLength: 1, maxLength: 20 }).map(encodeURIComponent),
);

/** what a rejected request must not have changed */
async function snapshot(): Promise<string> {
  const accounts = await api.store.listAccounts();
  const parts = [];
  for (const a of accounts) {
    const hooks = (await api.store.listWebhooks(a.id, { limit: 1000 })).items.map((h) => ({ ...h, updated: 0 }));
    parts.push({ a: { ...a, updated: 0 }, hooks, tokens: (await api.store.listTokens(a.id)).map((t) => t.id) });
  }
  return JSON.stringify(parts);
}

describe('every route under random input', () => {
  it('never answers 5xx, and a rejected request stores nothing', async () => {
    const seen: Record<number, number> = {};
    const tokens: Record<string, string | undefined> = { acme, admin: ADMIN, globex: undefined, none: undefined, junk: 'x'.repeat(40) };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        body,
        query,
        header,
        token,
        id,
        fc.nat(65535),
        async ([method, template], payload, q, contentType, who, rid, client) => {
          const url =
            template.replace('{account}', 'acme').replace('{other}', 'globex-nope').replace('{hook}', hookId).replace('{id}', rid) +
            (Object.keys(q).length ? `?${new URLSearchParams(q).toString()}` : '');
          const before = await snapshot();
          const res = await api.app.inject({
            method: method as 'GET',
            url,
            // many client addresses: the failed-authentication limit does not turn the rest into 429s
            remoteAddress: `10.${client >> 8}.${client & 255}.1`,
            headers: { ...(tokens[who] ? { 'x-auth-token': tokens[who] } : {}), ...(contentType ? { 'content-type': contentType } : {}) },
            ...(method === 'GET' || method === 'DELETE' ? {} : { payload }),
          });
          seen[Math.floor(res.statusCode / 100)] = (seen[Math.floor(res.statusCode / 100)] ?? 0) + 1;
          expect(res.statusCode, `${method} ${url} ${payload.slice(0, 200)} → ${res.body.slice(0, 300)}`).toBeLessThan(500);
          if (res.statusCode >= 400) {
            expect(res.json()).toMatchObject({ status: 'error', error: String(res.statusCode) });
            expect(await snapshot()).toBe(before);
          }
        },
      ),
      { seed: 20261202, numRuns: 4000 },
    );
    // the runs reached the handlers, not only the auth and the body parser
    expect(seen[2]).toBeGreaterThan(100);
  }, 120_000);
});
