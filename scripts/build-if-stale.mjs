#!/usr/bin/env node
/**
 * Builds dist/ (tsc -p tsconfig.build.json) only when it is stale: a src/ file newer than its
 * output in dist/ (or without one), or a tsconfig or package.json newer than dist/cli.js.
 * `npm start` runs it first (prestart), `npm ci` too (prepare): a fresh clone builds once, a
 * restart starts at once. A failed build marks dist/cli.js stale, so the next run builds again.
 * Without TypeScript (installed with --omit=dev) an existing dist/ is used as it is; without
 * src/ (the Dockerfile's dependency layer) there is nothing to build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');
const entry = join(dist, 'cli.js');

const mtime = (file) => (existsSync(file) ? statSync(file).mtimeMs : -Infinity);

function* sources(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) yield* sources(path);
    else if (/\.(ts|mts|json)$/.test(e.name) && !e.name.endsWith('.d.ts')) yield path;
  }
}

/** why dist/ must be built, or undefined when it is up to date */
function staleness() {
  if (!existsSync(entry)) return 'dist/cli.js is missing';
  const built = mtime(entry);
  for (const f of ['tsconfig.json', 'tsconfig.build.json', 'package.json']) {
    if (mtime(join(root, f)) > built) return `${f} changed`;
  }
  for (const file of sources(src)) {
    const out = join(dist, relative(src, file)).replace(/\.m?ts$/, (x) => (x === '.mts' ? '.mjs' : '.js'));
    if (mtime(file) > mtime(out)) return `${relative(root, file)} changed`;
  }
  return undefined;
}

// the Dockerfile installs the dependencies before it copies src/: nothing to build yet
if (!existsSync(src)) {
  process.stderr.write('build-if-stale: no src/ here; nothing to build\n');
  process.exit(0);
}
const why = process.argv.includes('--force') ? 'forced' : staleness();
if (!why) process.exit(0);

let tsc;
try {
  tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  if (existsSync(entry)) {
    process.stderr.write(`build-if-stale: ${why}, but TypeScript is not installed (--omit=dev?): using dist/ as it is\n`);
    process.exit(0);
  }
  process.stderr.write('build-if-stale: dist/ is missing and TypeScript is not installed: run npm ci (with the dev dependencies)\n');
  process.exit(1);
}
process.stderr.write(`build-if-stale: ${why}; building dist/ …\n`);
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  if (existsSync(entry)) utimesSync(entry, 0, 0);
  process.exit(r.status ?? 1);
}
