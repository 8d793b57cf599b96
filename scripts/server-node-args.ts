/**
 * The node flags the server runs with. `npm start` and the Dockerfile pass the same
 * (test/scripts/start-command.test.ts); so do the benchmarks and the tests that run the server
 * in a child process. The benchmarks give them to the bare-Fastify ceiling too, so that a ratio
 * compares code, not runtime settings.
 *
 * A 64 MB semi-space (V8's default is 16 MB on 64-bit) means fewer scavenges of the requests in
 * flight. A/B on this machine, server CPU per request: searches 9-12% lower, a read 6%, for
 * about 100 MB more resident memory (README, Performance).
 */
export const SERVER_NODE_ARGS: readonly string[] = ['--max-semi-space-size=64'];
