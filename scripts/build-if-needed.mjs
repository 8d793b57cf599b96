// `npm start` runs this first: compile when dist/ is missing or older than any source file.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { newestMtime } from './newest-mtime.mjs';

const root = new URL('..', import.meta.url).pathname;
const target = join(root, 'dist/src/server.js');

// What the build reads: the sources and the compiler settings.
const inputs = newestMtime(...['src', 'scripts', 'tsconfig.json', 'tsconfig.build.json'].map((p) => join(root, p)));
const stale = !existsSync(target) || inputs > statSync(target).mtimeMs;
if (stale) {
  console.error('building (tsc)...');
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
}
