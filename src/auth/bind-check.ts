import type { Config } from '../config.js';
import { authEnabled } from './urls.js';

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/**
 * Secure default: without authentication the server listens on loopback only. Binding anywhere
 * else without auth is refused (throws) unless AUTH_DISABLED=true says it is meant. Returns a
 * warning to log loudly when the server runs without authentication.
 */
export function checkBind(config: Config): string | undefined {
  if (authEnabled(config)) return undefined;
  if (config.auth.disabled) {
    return `AUTHENTICATION IS DISABLED (AUTH_DISABLED=true): every client reaching ${config.host}:${config.port} can read and change all data`;
  }
  if (!isLoopback(config.host)) {
    throw new Error(
      `Refusing to listen on ${config.host} without authentication: configure AUTH_JWKS_URL/AUTH_JWKS_FILE + AUTH_ISSUER or AUTH_CLIENTS_FILE, ` +
        'or set AUTH_DISABLED=true to run unauthenticated on purpose',
    );
  }
  return `NO AUTHENTICATION CONFIGURED: listening on ${config.host} (loopback) only; configure AUTH_JWKS_URL/AUTH_JWKS_FILE + AUTH_ISSUER or AUTH_CLIENTS_FILE before exposing this server`;
}
