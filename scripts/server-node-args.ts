/**
 * The node flags the server runs with. `npm start` passes the same, and the Docker image sets
 * them as NODE_OPTIONS, which an operator can override (test/scripts/start-command.test.ts); so
 * do the benchmarks and the tests that run the server in a child process. The benchmarks give them to the bare-Fastify ceiling too, so that a ratio
 * compares code, not runtime settings.
 *
 * A 128 MB semi-space (V8's default is 16 MB on 64-bit): every scavenge of the young generation
 * also costs time in proportion to the old one, where the embedded store keeps its data, so
 * fewer scavenges pay off more as the data grows. README, Benchmark, has the measurements.
 */
export const SERVER_NODE_ARGS: readonly string[] = ['--max-semi-space-size=128'];
