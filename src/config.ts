import { join } from 'node:path';
import { projectRoot } from './project-root.js';
import { CONTAINED_POLICIES, MARKDOWN_HTML_LEVELS, oneOf, type ValidationPolicies } from './validation/policies.js';
import { ccmTimeZone } from './operations/ccm-config.js';

/** Server configuration, read from the environment (documented in the README). */
export interface Config {
  port: number;
  host: string;
  /** Public base URL of the FHIR endpoint, e.g. http://localhost:8080/fhir */
  baseUrl: string;
  mongodbUri: string | undefined;
  mongodbDb: string;
  dataDir: string;
  logLevel: string;
  /** Maximum request body in bytes. */
  bodyLimit: number;
  /** Maximum entries in a transaction or batch Bundle. */
  bundleEntryLimit: number;
  /** Folders or .tgz files of FHIR IG packages to load (e.g. US Core). */
  igPackages: string[];
  /** Folder of our own conformance resources. */
  profilesDir: string;
  /** An unknown profile in meta.profile is an error instead of a warning. */
  strictProfiles: boolean;
  /** Validate every write (turning it off is for bulk loads of trusted data only). */
  validate: boolean;
  /** Validator worker threads that share the validation of large transactions (0 = none). */
  validationWorkers: number;
  /**
   * Send the responses finished in one turn of the event loop together, at its end
   * (src/http/turn-batch.ts); false sends each as soon as it is ready.
   */
  batchResponses: boolean;
  /** Optional validator checks (src/validation/policies.ts); defaults chosen for a PHI server, see the README. */
  validationPolicies: ValidationPolicies;
  /** Security (src/auth, src/audit; README "Security"). Auth is on when a JWKS or a clients file is configured. */
  auth: AuthConfig;
}

export interface AuthConfig {
  /** JWKS of an external authorization server (URL or local file) and its issuer. */
  jwksUrl?: string;
  jwksFile?: string;
  issuer?: string;
  /** Backend Services clients (JSON file) for our own token endpoint POST /auth/token. */
  clientsFile?: string;
  /** Private JWK the token endpoint signs with; generated into DATA_DIR/auth when absent. */
  signingKeyFile?: string;
  /** Lifetime of issued access tokens, seconds. */
  tokenLifetime: number;
  /** Explicitly run without authentication (required to bind beyond loopback without auth). */
  disabled: boolean;
  /** Origins allowed by CORS; empty = CORS off. */
  corsOrigins: string[];
  /** Requests per client (token client id, else IP) per window; 0 = off. */
  rateLimitMax: number;
  rateLimitWindowMs: number;
  /** A request not answered within this many ms gets a 503; 0 = off. */
  requestTimeoutMs: number;
  /** Deepest JSON nesting accepted in a body. */
  maxJsonDepth: number;
  /** Largest _count accepted (larger is a 400). */
  maxCount: number;
  /** Most _include/_revinclude parameters in one search. */
  maxIncludes: number;
  /** Write an AuditEvent for every request (DATA_DIR/audit). */
  audit: boolean;
  /**
   * What user/ scopes reach (src/auth/user-access.ts): 'care-team' (default) = the data of the
   * patients the token's fhirUser cares for; 'all' = everything (deployments whose authorization
   * server already confines user tokens).
   */
  userAccess: 'care-team' | 'all';
}

/** Auth off, limits on: what tests and a local developer get with an empty environment. */
export const defaultAuthConfig = (): AuthConfig => ({
  tokenLifetime: 300,
  disabled: false,
  corsOrigins: [],
  rateLimitMax: 0,
  rateLimitWindowMs: 60_000,
  requestTimeoutMs: 0,
  maxJsonDepth: 64,
  maxCount: 1000,
  maxIncludes: 10,
  audit: true,
  userAccess: 'care-team',
});

const num = (v: string | undefined, d: number) => {
  if (v === undefined || v === '') return d;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`invalid number in configuration: ${v}`);
  return n;
};
const bool = (v: string | undefined, d: boolean) => (v === undefined || v === '' ? d : /^(1|true|yes|on)$/i.test(v));

function userAccessOf(v: string | undefined): AuthConfig['userAccess'] {
  if (v === undefined || v === '' || v === 'care-team') return 'care-team';
  if (v === 'all') return 'all';
  throw new Error(`USER_ACCESS must be care-team or all, not ${v}`);
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  // Read where used (src/operations/ccm-config.ts); read once here too, so that a zone Node does
  // not know stops the start rather than failing every CCM call with a 500.
  ccmTimeZone(env);
  const port = num(env.PORT, 8080);
  const host = env.HOST || '127.0.0.1';
  const shownHost = ['0.0.0.0', '::', '127.0.0.1', '::1'].includes(host) ? 'localhost' : host;
  return {
    port,
    host,
    baseUrl: (env.BASE_URL || `http://${shownHost}:${port}/fhir`).replace(/\/+$/, ''),
    mongodbUri: env.MONGODB_URI || undefined,
    mongodbDb: env.MONGODB_DB || 'ccm_fhir',
    dataDir: env.DATA_DIR || './data',
    logLevel: env.LOG_LEVEL || 'info',
    bodyLimit: num(env.BODY_LIMIT_BYTES, 50 * 1024 * 1024),
    bundleEntryLimit: num(env.BUNDLE_ENTRY_LIMIT, 10_000),
    igPackages: (env.IG_PACKAGES || '').split(/[,:]/).map((s) => s.trim()).filter(Boolean),
    profilesDir: env.PROFILES_DIR || join(projectRoot(), 'profiles'),
    strictProfiles: bool(env.STRICT_PROFILES, false),
    validate: bool(env.VALIDATE, true),
    // Opt-in: each validator thread costs ~150 MB (its own definitions).
    validationWorkers: num(env.VALIDATION_WORKERS, 0),
    batchResponses: bool(env.BATCH_RESPONSES, true),
    validationPolicies: {
      securityChecks: bool(env.VALIDATE_SECURITY_CHECKS, true),
      htmlInMarkdown: oneOf(MARKDOWN_HTML_LEVELS, env.VALIDATE_HTML_IN_MARKDOWN || 'warning', 'VALIDATE_HTML_IN_MARKDOWN'),
      contained: oneOf(CONTAINED_POLICIES, env.VALIDATE_CONTAINED || 'CHECK_VALID', 'VALIDATE_CONTAINED'),
      // Writes are validated one resource at a time before the store is read: existence cannot be judged here.
      references: oneOf(['IGNORE', 'CHECK_TYPE_IF_EXISTS'] as const, env.VALIDATE_REFERENCES || 'IGNORE', 'VALIDATE_REFERENCES'),
    },
    auth: {
      ...defaultAuthConfig(),
      jwksUrl: env.AUTH_JWKS_URL || undefined,
      jwksFile: env.AUTH_JWKS_FILE || undefined,
      issuer: env.AUTH_ISSUER || undefined,
      clientsFile: env.AUTH_CLIENTS_FILE || undefined,
      signingKeyFile: env.AUTH_SIGNING_KEY_FILE || undefined,
      tokenLifetime: num(env.AUTH_TOKEN_LIFETIME_SECONDS, 300),
      disabled: bool(env.AUTH_DISABLED, false),
      corsOrigins: (env.CORS_ORIGINS || '').split(',').map((s) => s.trim()).filter(Boolean),
      rateLimitMax: num(env.RATE_LIMIT_MAX, 0),
      rateLimitWindowMs: num(env.RATE_LIMIT_WINDOW_MS, 60_000),
      requestTimeoutMs: num(env.REQUEST_TIMEOUT_MS, 0),
      maxJsonDepth: num(env.MAX_JSON_DEPTH, 64),
      maxCount: num(env.MAX_COUNT, 1000),
      maxIncludes: num(env.MAX_INCLUDES, 10),
      audit: bool(env.AUDIT, true),
      userAccess: userAccessOf(env.USER_ACCESS),
    },
  };
}
