import { readFileSync } from 'node:fs';
import t from 'tap';
import { SERVER_NODE_ARGS } from '../../scripts/server-node-args.js';

// The server is started three ways: npm start, the Docker image, and the benchmarks and child-process
// tests (SERVER_NODE_ARGS). They must run it with the same node flags, or the benchmarks measure
// a server nobody runs.
t.test('npm start and the Docker image run the server with SERVER_NODE_ARGS', async (t) => {
  t.ok(SERVER_NODE_ARGS.length > 0);
  const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts.start;
  t.equal(start, ['node', ...SERVER_NODE_ARGS, 'dist/src/server.js'].join(' '), 'package.json start');
  // The image passes them in NODE_OPTIONS, which an operator can override (a container with little memory).
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  const cmd = /^CMD (\[.*\])\s*$/m.exec(dockerfile);
  t.ok(cmd, 'the Dockerfile has an exec-form CMD');
  t.same(JSON.parse(cmd![1]), ['node', 'dist/src/server.js'], 'Dockerfile CMD');
  const options = /^ENV .*\bNODE_OPTIONS=(?:"([^"]*)"|(\S+))/m.exec(dockerfile);
  t.ok(options, 'the Dockerfile sets NODE_OPTIONS');
  t.equal(options![1] ?? options![2], SERVER_NODE_ARGS.join(' '), 'Dockerfile NODE_OPTIONS');
});
