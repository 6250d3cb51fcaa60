/**
 * How a receiver verifies callhook's Standard Webhooks signature with the `standardwebhooks`
 * package, for every format: a whole callhook (fake ARI, recorded calls) delivers to a real
 * local receiver, and each request is verified exactly as the snippet of docs/security.md says.
 * `new Webhook(secret).verify(rawBody, headers)` alone throws for form-data and GET webhooks
 * (Kazoo's default format), because verify() also JSON-parses what it verified.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { FakeAri, loadFixture } from '../helpers/fake-ari.js';
import { ADMIN, runDaemon, type Running } from '../helpers/daemon.js';

// ---- the snippet of docs/security.md, as a receiver writes it ------------------------------------------
/**
 * Verifies a callhook request and returns its fields. `rawBody`: the body exactly as received
 * (before any JSON or form parsing). Throws WebhookVerificationError when the signature does
 * not match (or the timestamp is more than 5 minutes off).
 */
function verifyCallhook(secret: string, req: IncomingMessage, rawBody: string): Record<string, unknown> {
  // POST/PUT (json and form-data) are signed over the raw body, GET over the query string
  const url = req.url ?? '';
  const signed = req.method === 'GET' ? url.slice(url.indexOf('?') + 1) : rawBody;
  new Webhook(secret).verify(signed, req.headers as Record<string, string>, { jsonParse: false });
  return req.headers['content-type'] === 'application/json' ? JSON.parse(rawBody) : Object.fromEntries(new URLSearchParams(signed));
}
// ---------------------------------------------------------------------------------------------

interface Got {
  req: IncomingMessage;
  body: string;
}

/** a receiver that keeps every request with its raw body */
async function receiver(): Promise<{ server: Server; got: Got[]; url: (path: string) => string }> {
  const got: Got[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ req, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, got, url: (path) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}` };
}

let ari: FakeAri;
let run: Running;
let rx: Awaited<ReturnType<typeof receiver>>;
let token: string;
const base = '/api/v1/accounts/acme/webhooks';

beforeEach(async () => {
  ari = await FakeAri.start();
  rx = await receiver();
  run = await runDaemon(ari);
  token = (await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'Acme', accountcodes: ['acme'], numbers: ['15550002'] } })).json.data
    .auth_token;
  await ari.waitForClient();
});
afterEach(async () => {
  await run.daemon.close();
  await ari.close();
  rx.server.closeAllConnections();
  await new Promise((r) => rx.server.close(r));
});

const until = async (cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('not in time');
    await new Promise((r) => setTimeout(r, 25));
  }
};

const FORMATS = [
  { path: '/json', http_verb: 'post', format: 'json' },
  { path: '/form', http_verb: 'post', format: 'form-data' },
  { path: '/form-default', http_verb: 'post' }, // Kazoo's default format: form-data
  { path: '/put-form', http_verb: 'put', format: 'form-data' },
  { path: '/get', http_verb: 'get' },
];

describe('a receiver verifies every format with standardwebhooks', () => {
  it('json, form-data (POST and PUT) and GET webhooks, each verified as docs/security.md says', async () => {
    const secrets = new Map<string, string>();
    for (const { path, ...fields } of FORMATS) {
      const r = await run.api('PUT', base, token, { data: { hook: 'all', uri: rx.url(path), custom_data: { crm: 'x y&z' }, ...fields } });
      expect(r.status).toBe(201);
      secrets.set(path, r.json.data.secret);
    }
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await until(() => rx.got.length >= 3 * FORMATS.length);

    for (const { req, body } of rx.got) {
      const path = (req.url ?? '').split('?')[0]!;
      const secret = secrets.get(path)!;
      const fields = verifyCallhook(secret, req, body);
      expect(fields, path).toMatchObject({ account_id: 'acme', crm: 'x y&z', hook_event: expect.stringMatching(/^channel_/) });
      // the plain call of the old README works for JSON bodies only
      if (path === '/json') expect(new Webhook(secret).verify(body, req.headers as Record<string, string>)).toEqual(fields);
      else
        expect(() => new Webhook(secret).verify(req.method === 'GET' ? (req.url ?? '').split('?')[1]! : body, req.headers as Record<string, string>)).toThrow(
          SyntaxError,
        );
    }
    expect(new Set(rx.got.map((g) => g.req.method))).toEqual(new Set(['GET', 'POST', 'PUT']));
  });

  it('a changed body, query or secret does not verify', async () => {
    const json = (await run.api('PUT', base, token, { data: { hook: 'channel_create', uri: rx.url('/json'), format: 'json' } })).json.data;
    const form = (await run.api('PUT', base, token, { data: { hook: 'channel_create', uri: rx.url('/form') } })).json.data;
    const get = (await run.api('PUT', base, token, { data: { hook: 'channel_create', uri: rx.url('/get'), http_verb: 'get' } })).json.data;
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await until(() => rx.got.length >= 3);
    const by = (p: string) => rx.got.find((g) => g.req.url!.startsWith(p))!;
    const j = by('/json');
    const f = by('/form');
    const g = by('/get');
    expect(() => verifyCallhook(json.secret, j.req, j.body.replace('acme', 'evil'))).toThrow(WebhookVerificationError);
    expect(() => verifyCallhook(form.secret, f.req, f.body.replace('acme', 'evil'))).toThrow(WebhookVerificationError);
    expect(() => verifyCallhook(json.secret, f.req, f.body)).toThrow(WebhookVerificationError);
    g.req.url = g.req.url!.replace('acme', 'evil');
    expect(() => verifyCallhook(get.secret, g.req, g.body)).toThrow(WebhookVerificationError);
  });

  it('with a standardwebhooks that has no jsonParse option: verify() and catch only the SyntaxError of its JSON parse', async () => {
    const form = (await run.api('PUT', base, token, { data: { hook: 'channel_create', uri: rx.url('/form') } })).json.data;
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await until(() => rx.got.length >= 1);
    const { req, body } = rx.got[0]!;
    const verify = (payload: string) => {
      try {
        new Webhook(form.secret).verify(payload, req.headers as Record<string, string>);
      } catch (err) {
        // thrown only after the signature matched
        if (!(err instanceof SyntaxError)) throw err;
      }
    };
    expect(() => verify(body)).not.toThrow();
    expect(() => verify(body + 'x')).toThrow(WebhookVerificationError);
  });

  it("a GET webhook whose uri has a query of its own: callhook's parameters follow it after '&', and only they are signed", async () => {
    const h = (await run.api('PUT', base, token, { data: { hook: 'channel_create', uri: rx.url('/get?key=abc'), http_verb: 'get' } })).json.data;
    ari.send(...loadFixture('ivr_answered.jsonl'));
    await until(() => rx.got.length >= 1);
    const { req } = rx.got[0]!;
    const query = req.url!.slice(req.url!.indexOf('?') + 1);
    expect(query.startsWith('key=abc&')).toBe(true);
    expect(() => new Webhook(h.secret).verify(query, req.headers as Record<string, string>, { jsonParse: false })).toThrow(WebhookVerificationError);
    expect(() => new Webhook(h.secret).verify(query.slice('key=abc&'.length), req.headers as Record<string, string>, { jsonParse: false })).not.toThrow();
  });
});
