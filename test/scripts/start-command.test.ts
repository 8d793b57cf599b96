import { readFileSync } from 'node:fs';
import t from 'tap';
import { SERVER_NODE_ARGS } from '../../scripts/server-node-args.js';

// The server is started three ways: npm start, the Docker image, and the benchmarks and child-process
// tests (SERVER_NODE_ARGS). They must run it with the same node flags, or the benchmarks measure
// a server nobody runs.
t.test('npm start and the Dockerfile run the server with SERVER_NODE_ARGS', async (t) => {
  t.ok(SERVER_NODE_ARGS.length > 0);
  const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts.start;
  t.equal(start, ['node', ...SERVER_NODE_ARGS, 'dist/src/server.js'].join(' '), 'package.json start');
  const cmd = /^CMD (\[.*\])\s*$/m.exec(readFileSync('Dockerfile', 'utf8'));
  t.ok(cmd, 'the Dockerfile has an exec-form CMD');
  t.same(JSON.parse(cmd![1]), ['node', ...SERVER_NODE_ARGS, 'dist/src/server.js'], 'Dockerfile CMD');
});
