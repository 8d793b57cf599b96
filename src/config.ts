import { join } from 'node:path';
import { projectRoot } from './project-root.js';

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
}

const num = (v: string | undefined, d: number) => {
  if (v === undefined || v === '') return d;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`invalid number in configuration: ${v}`);
  return n;
};
const bool = (v: string | undefined, d: boolean) => (v === undefined || v === '' ? d : /^(1|true|yes|on)$/i.test(v));

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const port = num(env.PORT, 8080);
  const host = env.HOST || '127.0.0.1';
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
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
  };
}
