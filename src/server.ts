import { buildApp } from './app.js';
import { checkBind } from './auth/bind-check.js';
import { configFromEnv } from './config.js';

/** Reads the environment, builds, listens; on SIGTERM/SIGINT drains and exits 0. */
async function main(): Promise<void> {
  const config = configFromEnv();
  // Secure default: no auth -> loopback only (throws before anything is opened otherwise).
  const authWarning = checkBind(config);
  const { app, close, services } = await buildApp(config);
  if (authWarning) app.log.warn({ security: 'auth-off' }, `!!! ${authWarning} !!!`);
  await app.listen({ port: config.port, host: config.host });
  app.log.info({ baseUrl: config.baseUrl, store: services.store.capabilities.backend }, 'FHIR server ready');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    close().then(
      () => process.exit(0),
      (e: unknown) => {
        app.log.error({ err: { message: (e as Error).message } }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  // No request data can be in a start-up error; print the message for the operator.
  console.error(JSON.stringify({ level: 'fatal', msg: 'server failed to start', error: (e as Error).message }));
  process.exit(1);
});
