/**
 * The Node.js options the server runs with: `npm start`, the Dockerfile and the benchmarks all
 * use these (a test checks that package.json and the Dockerfile say the same).
 *
 * A 64 MB semi-space (V8's default is 16 MB): every request allocates short-lived objects, and
 * with the smaller young generation the scavenger ran four times as often, copying the objects
 * of the requests then in flight each time. A/B on the same data, server CPU per request:
 * reads -8%, patient+status searches -8 to -12%, 100-entry population pages -5%. The price is
 * memory: after the same search load, RSS was 383 MB instead of 254 MB (peak 522 instead of 421).
 */
export const SERVER_NODE_ARGS: readonly string[] = ['--max-semi-space-size=64'];
