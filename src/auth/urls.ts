import type { Config } from '../config.js';

/** Auth is on when a JWKS or a clients file is configured, unless AUTH_DISABLED=true. */
export function authEnabled(config: Config): boolean {
  const a = config.auth;
  return !a.disabled && Boolean(a.jwksUrl || a.jwksFile || a.clientsFile);
}

/** Where the auth endpoints live: the base URL without its trailing /fhir. */
export function authUrls(config: Config): { tokenUrl: string; issuer: string; jwksUrl: string } {
  const root = config.baseUrl.replace(/\/fhir$/, '');
  return { tokenUrl: `${root}/auth/token`, issuer: `${root}/auth`, jwksUrl: `${root}/auth/jwks.json` };
}
