/**
 * The OpenAPI document against the API itself: it validates as OpenAPI 3.1, it lists every
 * route the server has, its examples fit its schemas, and the real answers of a whole callhook
 * (a fake ARI, a real receiver) fit the response schemas of their routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { FakeAri, loadFixture } from '../helpers/fake-ari.js';
import { Receiver } from '../helpers/receiver.js';
import { ADMIN, runDaemon, type Running } from '../helpers/daemon.js';

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>;
  components: { schemas: Record<string, object> };
};

let ari: FakeAri;
let receiver: Receiver;
let run: Running;
let doc: Doc;
const answers: { method: string; path: string; status: number; body: unknown }[] = [];

/** a request through the real server, its answer kept for the schema check */
async function call(method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(run.daemon.url + path, {
    method,
    headers: { ...(token ? { 'x-auth-token': token } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  answers.push({ method, path: path.split('?')[0]!, status: res.status, body: json });
  return { status: res.status, json };
}

beforeAll(async () => {
  ari = await FakeAri.start();
  receiver = await Receiver.start();
  run = await runDaemon(ari);
  await ari.waitForClient();
  doc = (await (await fetch(`${run.daemon.url}/api/v1/openapi.json`)).json()) as Doc;
});
afterAll(async () => {
  await run.daemon.close();
  await ari.close();
  await receiver.close();
});

/** the routes the server really has, read from Fastify's route tree (HEAD and Swagger UI's own left out) */
function serverRoutes(): string[] {
  const lines = run.daemon.app.printRoutes({ commonPrefix: false }).split('\n');
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of lines) {
    const m = /^([│ ]*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    const path = stack.join('');
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) {
      if (method !== 'HEAD' && !path.startsWith('/docs')) out.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return out.sort();
}

function ajv(): Ajv2020 {
  const a = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(a);
  a.addSchema({ $id: 'components', schemas: doc.components.schemas });
  return a;
}
/** a schema of the document, its #/components refs pointed at the components added above */
const local = (schema: object) => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"components#/schemas/'));

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    // the validator does refuse a broken document
    const { info: _info, ...broken } = doc as Doc & { info: unknown };
    expect((await new Validator().validate(broken as never)).valid).toBe(false);
  });

  it("lists every route the server has (the WIRECLOUD page's slash-less edit path aside)", () => {
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const hidden = ['GET /api/v1/openapi.json', 'POST /api/v1/accounts/{account_id}/webhooks{webhook_id}'];
    expect(documented).toEqual(serverRoutes().filter((r) => !hidden.includes(r)));
    expect(documented.length).toBeGreaterThan(25);
  });

  it('documents for each operation a summary, its security, its success and its errors in Kazoo shape', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops) as [string, Record<string, any>][]) {
        expect(op.summary, `${method} ${path}`).toBeTruthy();
        const codes = Object.keys(op.responses);
        expect(
          codes.some((c) => c.startsWith('2')),
          `${method} ${path}`,
        ).toBe(true);
        if (path.startsWith('/api/v1/')) {
          expect(op.security, `${method} ${path}`).toEqual([{ authToken: [] }, { bearer: [] }]);
          expect(codes).toContain('401');
          expect(op.responses['401'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
          expect(op.responses['401'].description).toBe('No token, or an unknown one');
        }
      }
    }
  });

  it('has examples, and every example fits its schema', () => {
    const a = ajv();
    let checked = 0;
    const visit = (node: unknown, where: string): void => {
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if (Array.isArray(n.examples) && (n.type || n.properties || n.$ref || n.anyOf)) {
        const { examples, ...schema } = n;
        const validate = a.compile(local(schema));
        for (const ex of examples as unknown[]) {
          expect(validate(ex), `${where}: ${JSON.stringify(ex)} → ${JSON.stringify(validate.errors)}`).toBe(true);
          checked++;
        }
      }
      for (const [k, v] of Object.entries(n)) if (k !== 'examples' && k !== 'example') visit(v, `${where}/${k}`);
    };
    visit(doc, '#');
    expect(checked).toBeGreaterThan(30);
    for (const name of ['Webhook', 'Account', 'Token', 'Attempt', 'Delivery', 'Error']) {
      expect((doc.components.schemas[name] as { examples?: unknown[] }).examples, name).toHaveLength(1);
    }
  });
});

describe('the real answers', () => {
  it('fit the response schema of their route and status, and the documented examples have the fields real answers have', async () => {
    const acct = await call('POST', '/api/v1/accounts', ADMIN, {
      data: { id: 'acme', name: 'Acme', realm: 'acme.example', accountcodes: ['acme'], numbers: ['15550001', '15550002', '15550003', '15550004', '15550005'] },
    });
    const token = acct.json.data.auth_token as string;
    const base = '/api/v1/accounts/acme/webhooks';
    const made = await call('PUT', base, token, { data: { name: 'h', hook: 'all', format: 'json', uri: receiver.url('/crm'), custom_data: { crm: 'x' } } });
    const id = made.json.data.id as string;
    ari.send(...loadFixture('dial_answered.jsonl'));
    await receiver.waitFor(8);
    const gone = await call('PUT', base, token, { data: { hook: 'channel_create', uri: receiver.url('/gone') } });
    receiver.respond = (r) => (r.path === '/gone' ? { status: 500 } : { status: 200, body: 'ok' });

    await call('GET', '/health');
    await call('GET', '/health/live');
    await call('GET', '/health/ready');
    await call('GET', '/api/v1/webhooks', token);
    await call('GET', '/api/v1/accounts', ADMIN);
    await call('GET', '/api/v1/accounts/acme', token);
    await call('PATCH', '/api/v1/accounts/acme', ADMIN, { data: { name: 'Acme Inc.' } });
    await call('POST', '/api/v1/accounts/acme', ADMIN, { data: { numbers: ['15550001', '15550002', '15550003', '15550004', '15550005', '15550006'] } });
    const tok = await call('POST', '/api/v1/accounts/acme/tokens', token);
    await call('GET', '/api/v1/accounts/acme/tokens', token);
    await call('DELETE', `/api/v1/accounts/acme/tokens/${tok.json.data.id}`, token);
    await call('GET', base, token);
    await call('GET', `${base}?page_size=1`, token);
    const one = await call('GET', `${base}/${id}`, token);
    await call('PATCH', `${base}/${id}`, token, { data: { event_filter: 15550001, headers: 'X-Crm: 1' } });
    await call('POST', `${base}/${id}`, token, { data: { hook: 'all', format: 'json', uri: receiver.url('/crm') } });
    await call('GET', `${base}/${id}/secret`, token);
    await call('POST', `${base}/${id}/secret/rotate`, token);
    await call('GET', `${base}/${id}/secret`, token);
    const attempts = await call('GET', `${base}/${id}/attempts?page_size=2`, token);
    await call('GET', `${base}/attempts?page_size=2&start_key=${attempts.json.next_start_key}`, token);
    const deliveries = await call('GET', `${base}/${id}/deliveries?status=succeeded`, token);
    await call('POST', `${base}/${id}/deliveries/${deliveries.json.data[0].id}/retry`, token);
    await call('POST', `${base}/${id}/recover`, token, { data: { since: 0 } });
    await call('POST', `${base}/${id}/test`, token);
    await call('POST', `${base}/${gone.json.data.id}/test`, token);
    await call('PATCH', base, token, { data: { 're-enable': true } });
    // the errors
    await call('GET', base);
    await call('GET', base, 'not-a-token');
    await call('GET', '/api/v1/accounts', token);
    await call('GET', `${base}/nope`, token);
    await call('PUT', base, token, { data: { hook: 'nope', retries: 'x', colour: 'blue' } });
    await call('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'again' } });
    await call('GET', `${base}?page_size=0`, token);
    await call('DELETE', `${base}/${gone.json.data.id}`, token);
    await call('DELETE', '/api/v1/accounts/acme', ADMIN);

    const a = ajv();
    const templates = Object.keys(doc.paths).map((t) => ({ t, re: new RegExp(`^${t.replace(/\{\w+\}/g, '[^/]+')}$`) }));
    const seen = new Set<string>();
    for (const ans of answers) {
      const t = templates
        .filter((x) => x.re.test(ans.path))
        .sort((x, y) => y.t.split('{').length - x.t.split('{').length)
        .at(-1)?.t;
      expect(t, `${ans.method} ${ans.path}`).toBeDefined();
      const response = doc.paths[t!]![ans.method.toLowerCase()]!.responses[String(ans.status)];
      expect(response, `${ans.method} ${t} ${ans.status} is documented`).toBeDefined();
      const schema = response!.content!['application/json']!.schema;
      const validate: ValidateFunction = a.compile(local(schema));
      expect(validate(ans.body), `${ans.method} ${t} ${ans.status}: ${JSON.stringify(validate.errors)}\n${JSON.stringify(ans.body)}`).toBe(true);
      seen.add(`${ans.method} ${t} ${ans.status}`);
    }
    // the error statuses were reached, not only the successes
    for (const s of ['401', '403', '404', '409', '400'])
      expect(
        [...seen].some((x) => x.endsWith(` ${s}`)),
        s,
      ).toBe(true);

    // a real webhook, account, token, attempt and delivery have exactly the documented example's fields
    const keys = (o: object) => Object.keys(o).sort();
    const example = (name: string) => (doc.components.schemas[name] as { examples: object[] }).examples[0]!;
    expect(keys(one.json.data)).toEqual(keys(example('Webhook')));
    expect(keys(acct.json.data)).toEqual(keys({ ...example('Account'), auth_token: '', token_id: '' }));
    expect(keys(tok.json.data)).toEqual(keys({ ...example('Token'), auth_token: '' }));
    expect(keys(attempts.json.data[0])).toEqual(keys(example('Attempt')));
    expect(keys(deliveries.json.data[0])).toEqual(keys(example('Delivery')));
  }, 30_000);
});
