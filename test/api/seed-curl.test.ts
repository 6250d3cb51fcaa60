/**
 * Runs every curl of the WIRECLOUD webhooks page (test/fixtures/wirecloud-webhooks-api.txt,
 * a copy of shared/seeds) with real curl against a running callhook, substituting only the
 * host, account id, token and webhook id. The page's two -d bodies lack their closing quote;
 * that one character is added, nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { FakeAri } from '../helpers/fake-ari.js';
import { ADMIN, runDaemon, type Running } from '../helpers/daemon.js';

function seedCurls(): string[] {
  const lines = readFileSync(new URL('../fixtures/wirecloud-webhooks-api.txt', import.meta.url), 'utf8').split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.trimStart().startsWith('curl ')) continue;
    const cmd = [lines[i]!.trim()];
    while (cmd.at(-1)!.endsWith('\\') && i + 1 < lines.length) cmd.push(lines[++i]!.trim());
    out.push(cmd.join('\n'));
  }
  return out;
}

let ari: FakeAri;
let run: Running;
let token: string;

async function curl(template: string, webhookId = ''): Promise<{ status: number; json: any }> {
  let cmd = template
    .replaceAll('https://www.wirecloud.de', run.daemon.url)
    .replaceAll('{account_id}', 'acme')
    .replaceAll('{webhook_id}', webhookId)
    .replaceAll('12345abcde', token);
  if ((cmd.match(/'/g) ?? []).length % 2 === 1) cmd += "'";
  const { stdout: out } = await promisify(execFile)('bash', ['-c', `${cmd} -s -w '\\n%{http_code}'`], { encoding: 'utf8' });
  const nl = out.lastIndexOf('\n');
  return { status: Number(out.slice(nl + 1)), json: JSON.parse(out.slice(0, nl)) };
}

beforeAll(async () => {
  ari = await FakeAri.start();
  run = await runDaemon(ari);
  token = (await run.api('POST', '/api/v1/accounts', ADMIN, { data: { id: 'acme', name: 'Acme' } })).json.data.auth_token;
});
afterAll(async () => {
  await run.daemon.close();
  await ari.close();
});

describe('the WIRECLOUD page, curl for curl', () => {
  const curls = seedCurls();
  const find = (method: string, tail: RegExp) => {
    const c = curls.find((x) => x.includes(`-X ${method}`) && tail.test(x.split('\n')[0]!));
    if (!c) throw new Error(`no ${method} ${tail} curl on the page`);
    return c;
  };

  it('has the eight examples', () => {
    expect(curls).toHaveLength(8);
  });

  it('all of them work in sequence', async () => {
    expect(await curl(find('GET', /webhooks$/))).toMatchObject({ status: 200, json: { status: 'success', data: [] } });

    const created = await curl(curls.find((c) => c.includes('-X PUT') && !c.includes('custom_data'))!);
    expect(created.status).toBe(201);
    expect(created.json.data).toMatchObject({
      name: 'New Calls',
      uri: 'http://my.server.com/calls/new.php',
      http_verb: 'post',
      hook: 'channel_create',
      retries: 3,
    });
    const id = created.json.data.id as string;

    expect(await curl(find('GET', /webhooks\/\{webhook_id\}$/), id)).toMatchObject({ status: 200, json: { data: { id, name: 'New Calls' } } });

    const edited = await curl(find('POST', /webhooks\{webhook_id\}/), id);
    expect(edited).toMatchObject({ status: 200, json: { data: { id, uri: 'http://my.server.com/calls/new_call.php' } } });

    const withCustom = await curl(curls.find((c) => c.includes('custom_data'))!);
    expect(withCustom.status).toBe(201);
    expect(withCustom.json.data.custom_data).toEqual({ account_id: 'my_crm_account_id', screen_pop: true });

    expect(await curl(find('GET', /webhooks\/attempts$/))).toMatchObject({ status: 200, json: { data: [] } });
    expect(await curl(find('GET', /\{webhook_id\}\/attempts$/), id)).toMatchObject({ status: 200, json: { data: [] } });

    expect(await curl(find('DELETE', /\{webhook_id\}$/), id)).toMatchObject({ status: 200, json: { data: { id } } });
    expect((await curl(find('GET', /webhooks\/\{webhook_id\}$/), id)).status).toBe(404);
    expect((await curl(find('GET', /webhooks$/))).json.data).toHaveLength(1);
  });
});
