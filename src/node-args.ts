/**
 * The Node.js options the server runs with: `npm start`, the Dockerfile and the benchmarks all
 * use these (a test checks that package.json and the Dockerfile say the same).
 *
 * A 32 MB semi-space (V8's default is 16 MB): every request allocates short-lived objects, and
 * with the smaller young generation the scavenger ran twice as often, copying the objects of
 * the requests then in flight each time. A/B on the same data, server CPU per request: reads
 * -9%, patient+status searches -6 to -7%, with the same p99/p50 and ~90 MB more RSS after the
 * load (373 MB instead of 286). 64 MB saved a few percent more but made the tail longer.
 */
export const SERVER_NODE_ARGS: readonly string[] = ['--max-semi-space-size=32'];
