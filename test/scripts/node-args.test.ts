import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVER_NODE_ARGS } from '../../src/node-args.js';

const root = process.cwd();

t.test('npm start and the Dockerfile run the server with the same Node.js options as the benchmarks', async (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  t.equal(pkg.scripts.start, ['node', ...SERVER_NODE_ARGS, 'dist/src/server.js'].join(' '));
  const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  t.ok(cmd, 'the Dockerfile has an exec-form CMD');
  t.same(JSON.parse(cmd![1]), ['node', ...SERVER_NODE_ARGS, 'dist/src/server.js']);
});

t.test('this Node.js accepts the options', async (t) => {
  const r = spawnSync(process.execPath, [...SERVER_NODE_ARGS, '-e', 'process.exit(0)'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  // The check can fail: an option node does not know is refused.
  t.not(spawnSync(process.execPath, ['--max-semi-space-sise=64', '-e', 'process.exit(0)']).status, 0);
});
