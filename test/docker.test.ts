/**
 * No Docker engine here: the Dockerfile and docker-compose.yml are checked by reading them,
 * against the repository and the running code (what they copy exists and is not ignored, the
 * image runs the package's bin as a non-root user, its data volume, port and health check are
 * the ones callhook uses), and the compose service builds that Dockerfile. The systemd unit of
 * docs/deploy.md is checked with systemd-analyze where it is installed.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { buildApp } from '../src/api/app.js';
import { AccountDirectory } from '../src/calls/account.js';
import { SETTINGS } from '../src/daemon/config.js';
import { SqliteStore } from '../src/store/sqlite/store.js';

const root = new URL('../', import.meta.url);
const read = (f: string) => readFileSync(new URL(f, root), 'utf8');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  steps: Instruction[];
}

/** the Dockerfile's stages and their instructions (continuation lines joined, comments dropped) */
function stages(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const out: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(line)!;
    if (op!.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args!)!;
      out.push({ from: m[1]!, name: m[2], steps: [] });
    } else out.at(-1)!.steps.push({ op: op!.toUpperCase(), args: args! });
  }
  return out;
}

const dockerfile = stages(read('Dockerfile'));
const build = dockerfile[0]!;
const runtime = dockerfile.at(-1)!;
const of = (s: Stage, op: string) => s.steps.filter((i) => i.op === op);
const envOf = (s: Stage) => Object.fromEntries(of(s, 'ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])));

describe('Dockerfile', () => {
  it('builds in a stage of its own and runs on a slim Node that satisfies engines', () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    expect(runtime.from).toMatch(/^node:(\d+)[\w.-]*-slim$/);
    const major = Number(/^node:(\d+)/.exec(runtime.from)![1]);
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    expect(major).toBeGreaterThanOrEqual(Number(/(\d+)/.exec(engines)![1]));
    expect(build.from.split(':')[0]).toBe('node');
    expect(/^node:(\d+)/.exec(build.from)![1]).toBe(String(major));
    // no compiler and no npm install in the runtime stage: it copies what the build stage made
    expect(
      of(runtime, 'RUN')
        .map((r) => r.args)
        .join(' '),
    ).not.toMatch(/apt-get|npm (ci|install)|g\+\+|tsc/);
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const copy of of(build, 'COPY')) {
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        expect(existsSync(new URL(src, root)), src).toBe(true);
        const top = src.replace(/\/$/, '').split('/')[0]!;
        expect(ignored, src).not.toContain(top);
      }
    }
    // the runtime stage copies from the build stage only, what it made there
    const fromBuild = of(runtime, 'COPY').map((c) => c.args);
    expect(fromBuild.every((c) => c.startsWith(`--from=${build.name} `))).toBe(true);
    expect(fromBuild.map((c) => c.split(/\s+/)[1])).toEqual(['/app/package.json', '/app/node_modules/', '/app/dist/']);
    expect(
      of(build, 'RUN')
        .map((r) => r.args)
        .join(' '),
    ).toMatch(/npm run build.*npm prune --omit=dev/);
  });

  it('runs the package bin as a non-root user, with the data directory on a volume it owns', () => {
    const user = of(runtime, 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user!.split(':')[0]);
    const steps = runtime.steps.map((s) => s.op);
    expect(steps.lastIndexOf('USER')).toBeGreaterThan(steps.lastIndexOf('RUN'));

    const entry = JSON.parse(of(runtime, 'ENTRYPOINT')[0]!.args) as string[];
    const bin = (JSON.parse(read('package.json')) as { bin: { callhook: string } }).bin.callhook;
    expect(entry[0]).toBe('node');
    expect(entry.at(-1)).toBe(bin);
    const env = envOf(runtime);
    const volume = JSON.parse(of(runtime, 'VOLUME')[0]!.args) as string[];
    expect(volume).toEqual([env.CALLHOOK_DATA_DIR]);
    expect(
      of(runtime, 'RUN')
        .map((r) => r.args)
        .join(' '),
    ).toContain(`chown ${user}:${user} ${env.CALLHOOK_DATA_DIR}`);
    // the settings it sets are callhook's
    const known = new Set(SETTINGS.map((s) => s.env));
    for (const k of Object.keys(env).filter((k) => k.startsWith('CALLHOOK_'))) expect(known, k).toContain(k);
  });

  it('exposes the port it configures, and its health check asks a route the API serves', async () => {
    const env = envOf(runtime);
    expect(of(runtime, 'EXPOSE').map((e) => e.args)).toEqual([env.CALLHOOK_PORT]);
    const check = of(runtime, 'HEALTHCHECK')[0]!.args;
    const path = /'(\/health\/[a-z]+)'/.exec(check)![1]!;
    expect(check).toContain('process.env.CALLHOOK_PORT');
    const store = new SqliteStore(':memory:');
    const app = await buildApp({ store, accounts: new AccountDirectory(), adminToken: 'x'.repeat(32), logger: pino({ level: 'silent' }) });
    try {
      expect((await app.inject({ method: 'GET', url: path })).statusCode).toBe(200);
    } finally {
      await app.close();
      await store.close();
    }
  });
});

describe('docker-compose.yml', () => {
  const compose = read('docker-compose.yml');
  /** the lines of one service (indented under it) */
  const service = (name: string) => {
    const m = new RegExp(`\\n  ${name}:\\n((?:    .*\\n|\\s*\\n)+)`).exec(compose);
    return m![1]!;
  };

  it('builds callhook from the Dockerfile instead of installing a compiler at every start', () => {
    const s = service('callhook');
    expect(s).toMatch(/^ {4}build: \.\s*$/m);
    expect(s).not.toMatch(/^ {4}(image|command|working_dir):/m);
    expect(s).not.toMatch(/apt-get|npm ci/);
  });

  it('keeps the data on a volume at the image’s data directory, and sets only known settings', () => {
    const s = service('callhook');
    const dataDir = envOf(runtime).CALLHOOK_DATA_DIR!;
    const volume = /^ {6}- (\S+):(\S+)$/m.exec(s)!;
    expect(volume[2]).toBe(dataDir);
    expect(compose).toMatch(new RegExp(`\\nvolumes:\\n  ${volume[1]}:`));
    expect(s).toMatch(new RegExp(`CALLHOOK_DATA_DIR: ${dataDir}\\n`));
    const known = new Set([...SETTINGS.map((x) => x.env), 'CALLHOOK_CONFIG']);
    const keys = [...s.matchAll(/^ {6}([A-Z_]+):/gm)].map((m) => m[1]!);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(known, k).toContain(k);
  });
});

describe('the systemd unit of docs/deploy.md', () => {
  const unit = /```ini\n([\s\S]*?)```/.exec(read('docs/deploy.md'))![1]!;
  const keys = new Map<string, string[]>();
  for (const [, k, v] of unit.matchAll(/^(\w+)=(.*)$/gm)) keys.set(k!, [...(keys.get(k!) ?? []), v!]);

  it('runs the package bin as its own user with a state directory, a restart policy and the hardening', () => {
    expect(keys.get('User')).toEqual(['callhook']);
    expect(keys.get('StateDirectory')).toEqual(['callhook']);
    expect(keys.get('Environment')).toContain('CALLHOOK_DATA_DIR=/var/lib/callhook');
    expect(keys.get('EnvironmentFile')).toEqual(['/etc/callhook/callhook.env']);
    expect(keys.get('Restart')).toEqual(['on-failure']);
    // a configuration error (exit code 2) is not restarted
    expect(keys.get('RestartPreventExitStatus')).toEqual(['2']);
    for (const k of ['NoNewPrivileges', 'ProtectHome', 'PrivateTmp', 'PrivateDevices']) expect(keys.get(k), k).toEqual(['yes']);
    expect(keys.get('ProtectSystem')).toEqual(['strict']);
    expect(keys.has('MemoryDenyWriteExecute')).toBe(false);
    const bin = (JSON.parse(read('package.json')) as { bin: { callhook: string } }).bin.callhook;
    expect(keys.get('ExecStart')![0]).toMatch(new RegExp(`^/usr/bin/node .*/opt/callhook/${bin}$`));
    const names = new Set(SETTINGS.map((x) => x.env));
    for (const e of keys.get('Environment')!) {
      const name = e.split('=')[0]!;
      if (name.startsWith('CALLHOOK_')) expect(names, name).toContain(name);
    }
  });

  const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
  it.runIf(analyze)('passes systemd-analyze verify', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callhook-unit-'));
    const file = join(dir, 'callhook.service');
    writeFileSync(file, unit);
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    // only the unit's own problems: the host may lack node or the callhook user
    const own = (r.stderr + r.stdout).split('\n').filter((l) => l.includes('callhook.service') && !/Command .* is not executable|No such file/.test(l));
    expect(own).toEqual([]);
  });
});
