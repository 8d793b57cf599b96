// `npm test`: type-check (tap does not), run tap, and end with one line `N passed, M failed`.
// Extra arguments go to tap (e.g. a test file).
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = (name) => join(root, 'node_modules/.bin', name);

const tsc = process.env.SKIP_TYPECHECK ? { status: 0 } : spawnSync(bin('tsc'), ['--noEmit', '-p', root], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.log('type check failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const args = process.argv.slice(2);
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
