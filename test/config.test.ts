import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, SETTINGS } from '../src/daemon/config.js';
import { AppError } from '../src/shared/errors.js';

describe('loadConfig', () => {
  it('has working defaults with an empty environment', () => {
    const c = loadConfig({});
    expect(c.ari.url).toBe('http://127.0.0.1:8088');
    expect(c.ari.app).toBe('callhook');
    expect(c.api).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(c.dataDir).toBe('./data');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.adminToken).toBeUndefined();
    expect(c.allowTargets).toEqual([]);
    expect(c.logLevel).toBe('info');
    expect(c.logFormat).toBe('json');
    expect(loadConfig({ CALLHOOK_LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
  });

  it('reads every documented variable from the environment', () => {
    const c = loadConfig({
      CALLHOOK_ARI_URL: 'https://pbx.example:8089/asterisk',
      CALLHOOK_ARI_USERNAME: 'u',
      CALLHOOK_ARI_PASSWORD: 'p',
      CALLHOOK_ARI_APP: 'hooks1',
      CALLHOOK_HOST: '0.0.0.0',
      CALLHOOK_PORT: '9090',
      CALLHOOK_ADMIN_TOKEN: 'a-long-admin-token-123',
      CALLHOOK_DATA_DIR: '/var/lib/callhook',
      CALLHOOK_DEFAULT_ACCOUNT: 'acme',
      CALLHOOK_DEFAULT_REALM: 'pbx.example',
      CALLHOOK_ALLOW_TARGETS: '127.0.0.0/8, ::1',
      LOG_LEVEL: 'debug',
      CALLHOOK_RETRY_BASE_MS: '100',
    });
    expect(c.ari).toMatchObject({ url: 'https://pbx.example:8089/asterisk', username: 'u', password: 'p', app: 'hooks1' });
    expect(c.api.port).toBe(9090);
    expect(c.adminToken).toBe('a-long-admin-token-123');
    expect(c.defaultAccount).toBe('acme');
    expect(c.defaultRealm).toBe('pbx.example');
    expect(c.allowTargets).toEqual(['127.0.0.0/8', '::1']);
    expect(c.logLevel).toBe('debug');
    expect(c.delivery.retryBaseMs).toBe(100);
  });

  it.each([
    ['CALLHOOK_PORT', 'eighty'],
    ['CALLHOOK_PORT', '70000'],
    ['CALLHOOK_ARI_URL', 'ftp://pbx'],
    ['LOG_LEVEL', 'loud'],
    ['CALLHOOK_LOG_FORMAT', 'xml'],
    ['CALLHOOK_ALLOW_TARGETS', 'not a cidr'],
    ['CALLHOOK_ADMIN_TOKEN', 'short'],
  ])('names the bad variable %s=%s', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrowError(new RegExp(`^${name}: `));
  });

  it('never echoes a secret in its error', () => {
    try {
      loadConfig({ CALLHOOK_ADMIN_TOKEN: 'tiny' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as Error).message).not.toContain('tiny');
    }
  });

  it('takes a JSON config file, with the environment winning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callhook-cfg-'));
    const file = join(dir, 'callhook.json');
    writeFileSync(file, JSON.stringify({ CALLHOOK_PORT: 7070, CALLHOOK_ARI_APP: 'fromfile' }));
    const c = loadConfig({ CALLHOOK_CONFIG: file, CALLHOOK_ARI_APP: 'fromenv' });
    expect(c.api.port).toBe(7070);
    expect(c.ari.app).toBe('fromenv');
  });

  it('rejects a config file that is not JSON or has unknown keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callhook-cfg-'));
    writeFileSync(join(dir, 'bad.json'), '{nope');
    writeFileSync(join(dir, 'typo.json'), '{"CALLHOOK_PROT": 1}');
    expect(() => loadConfig({ CALLHOOK_CONFIG: join(dir, 'bad.json') })).toThrowError(/CALLHOOK_CONFIG: .* not valid JSON/);
    expect(() => loadConfig({ CALLHOOK_CONFIG: join(dir, 'typo.json') })).toThrowError(/unknown key CALLHOOK_PROT/);
    expect(() => loadConfig({ CALLHOOK_CONFIG: join(dir, 'missing.json') })).toThrowError(/cannot read/);
  });

  it('splits the roles only on a shared store', () => {
    expect(loadConfig({}).roles).toEqual(['ingest', 'deliver', 'api']);
    expect(loadConfig({ DATABASE_URL: 'postgres://db/x', CALLHOOK_ROLES: 'deliver' }).roles).toEqual(['deliver']);
    expect(() => loadConfig({ CALLHOOK_ROLES: 'ingest,api' })).toThrowError(/^CALLHOOK_ROLES: with SQLite one process does everything/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://db/x', CALLHOOK_ROLES: 'ingest,send' })).toThrowError(/^CALLHOOK_ROLES: /);
  });

  it('takes a postgres:// DATABASE_URL and refuses anything else without showing it', () => {
    expect(loadConfig({ DATABASE_URL: 'postgresql://u:pw@db/callhook' }).databaseUrl).toBe('postgresql://u:pw@db/callhook');
    expect(() => loadConfig({ DATABASE_URL: 'mysql://u:pw@db/callhook' })).toThrowError(/^DATABASE_URL: .*got \(hidden\)$/);
  });

  it('documents every setting in docs/configuration.md', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
    for (const s of SETTINGS) expect(readme, s.env).toContain(`\`${s.env}\``);
  });
});
