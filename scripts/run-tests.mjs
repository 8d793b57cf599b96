// `npm test`: type-check and compile (tsc -p tsconfig.json writes src, scripts and test to dist/),
// run tap on the compiled tests, and end with one line `N passed, M failed`.
// The tests run compiled: a tap process per test file that compiled its TypeScript on the fly
// (ts-node) cost about 5 s of CPU more than the same file compiled once, for every file that
// imports the server.
// Extra arguments go to tap; test paths may name the sources (test/x.test.ts, test/store).
// SKIP_TYPECHECK=1: compile only when a source changed since the last compile, and run even when
// the type check fails (scripts/test-mongo.sh, after `npm test` has checked).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newestMtime } from './newest-mtime.mjs';

const root = new URL('..', import.meta.url).pathname;
const bin = (name) => join(root, 'node_modules/.bin', name);
const stamp = join(root, 'dist/test/.compiled');

const skipCheck = Boolean(process.env.SKIP_TYPECHECK);
const inputs = newestMtime(...['src', 'scripts', 'test', 'tsconfig.json'].map((p) => join(root, p)));
if (!skipCheck || !existsSync(stamp) || inputs > statSync(stamp).mtimeMs) {
  // A test deleted from test/ must not keep running from dist/test/.
  rmSync(join(root, 'dist/test'), { recursive: true, force: true });
  const tsc = spawnSync(bin('tsc'), ['-p', root], { stdio: 'inherit' });
  if (tsc.status !== 0 && !skipCheck) {
    console.log('type check failed');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  writeFileSync(stamp, '');
}

// test/x.test.ts → dist/test/x.test.js, test/store → dist/test/store; other arguments as they are.
const args = process.argv.slice(2).map((a) => (/^test(\/|$)/.test(a) ? join('dist', a.replace(/\.ts$/, '.js')) : a));
const child = spawn(bin('tap'), ['--reporter=tap', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
let pass = 0;
let fail = 0;
let carry = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (carry + chunk.toString()).split('\n');
  carry = lines.pop() ?? '';
  for (const line of lines) count(line);
});
// Count leaf test points (asserts) at any depth. A point that closes a subtest comes right
// after that subtest's plan line (deeper indentation): it is a summary, not counted again.
let previous = '';
function count(line) {
  const m = /^(\s*)(not ok|ok) \d+/.exec(line);
  if (m) {
    const plan = /^(\s*)1\.\.\d+/.exec(previous);
    const closesSubtest = plan && plan[1].length > m[1].length;
    if (!closesSubtest && !/# (SKIP|TODO)/i.test(line)) {
      if (m[2] === 'ok') pass++;
      else fail++;
    }
  }
  if (line.trim()) previous = line;
}
child.on('close', (code) => {
  if (carry) count(carry);
  if (code !== 0 && fail === 0) fail = 1;
  console.log(`${pass} passed, ${fail} failed`);
  process.exit(code ?? 1);
});
