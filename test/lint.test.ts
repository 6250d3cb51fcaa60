/**
 * The code's own checks, run by npm test: ESLint (typescript-eslint), Prettier, and the import
 * graph — folders import one way (ari → calls → events → hooks → store → delivery, the
 * pipeline over them; api → store), with no cycle between folders.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ESLint } from 'eslint';
import * as prettier from 'prettier';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

function files(dir: string, ext: RegExp): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (['node_modules', 'dist', 'data', 'results', 'fixtures'].includes(name)) continue;
    if (statSync(p).isDirectory()) out.push(...files(p, ext));
    else if (ext.test(name)) out.push(p);
  }
  return out;
}

/** folder → the folders its modules import (src/*.ts at the top is the composition root: main, cli, config) */
function folderGraph(): Map<string, Map<string, string>> {
  const folderOf = (p: string) => {
    const parts = relative(SRC, p).split('/');
    return parts.length === 1 ? '(root)' : parts[0]!;
  };
  const graph = new Map<string, Map<string, string>>();
  for (const f of files(SRC, /\.ts$/)) {
    for (const m of readFileSync(f, 'utf8').matchAll(/^(?:import|export)\b[^;]*?from\s+'(\.[^']+)'/gm)) {
      const target = resolve(dirname(f), m[1]!.replace(/\.js$/, '.ts'));
      const [a, b] = [folderOf(f), folderOf(target)];
      if (a === b) continue;
      if (!graph.has(a)) graph.set(a, new Map());
      graph.get(a)!.set(b, `${relative(SRC, f)} imports ${relative(SRC, target)}`);
    }
  }
  return graph;
}

/** the order of the layers: a folder may import only folders before it */
const LAYERS = ['shared', 'ari', 'calls', 'events', 'hooks', 'store', 'delivery', 'pipeline', 'metrics', 'api', 'daemon', 'cli', '(root)'];

describe('the code', () => {
  it('passes ESLint', async () => {
    const eslint = new ESLint({ cwd: ROOT });
    const results = await eslint.lintFiles(['src', 'test', 'bench', 'eslint.config.js']);
    const problems = results.flatMap((r) => r.messages.map((m) => `${relative(ROOT, r.filePath)}:${m.line}:${m.column} ${m.ruleId ?? ''} ${m.message}`));
    expect(problems).toEqual([]);
    expect(results.length).toBeGreaterThan(100);
  }, 120_000);

  it('is formatted by Prettier', async () => {
    const config = await prettier.resolveConfig(join(ROOT, 'src/cli.ts'));
    const unformatted: string[] = [];
    const checked = files(ROOT, /\.(ts|mjs|js|json)$/).filter((f) => !/package-lock\.json$/.test(f) && !relative(ROOT, f).startsWith('asterisk/'));
    for (const f of checked) {
      if (!(await prettier.check(readFileSync(f, 'utf8'), { ...config, filepath: f }))) unformatted.push(relative(ROOT, f));
    }
    expect(unformatted, 'run npm run format').toEqual([]);
    expect(checked.length).toBeGreaterThan(100);
  }, 120_000);

  it('imports flow one way between folders, with no cycle', () => {
    const graph = folderGraph();
    const wrong: string[] = [];
    for (const [from, targets] of graph) {
      for (const [to, why] of targets) {
        expect(LAYERS, `a folder the layers do not name: ${from}`).toContain(from);
        expect(LAYERS, `a folder the layers do not name: ${to}`).toContain(to);
        if (LAYERS.indexOf(to) >= LAYERS.indexOf(from)) wrong.push(`${from} → ${to}: ${why}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(graph.get('delivery')?.has('store')).toBe(true);
  });
});
