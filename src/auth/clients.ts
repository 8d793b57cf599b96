import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { parseScope, type Grant } from './scopes.js';

/** A Backend Services client as registered (AUTH_CLIENTS_FILE, scripts/register-client). */
export interface ClientRecord {
  client_id: string;
  /** Public keys the client signs its assertions with (or jwks_uri). */
  jwks?: JSONWebKeySet;
  jwks_uri?: string;
  /** Scopes the client may be granted (space-separated), e.g. "system/*.rs system/ChargeItem.cu". */
  scope: string;
  /** Optional patient context put into the client's tokens (patient/ scopes). */
  patient?: string;
  name?: string;
}

export interface ClientsFile {
  clients: ClientRecord[];
}

export interface RegisteredClient {
  record: ClientRecord;
  keys: JWTVerifyGetKey;
  allowed: Grant[];
}

export function validateClient(c: ClientRecord): void {
  if (!c || typeof c.client_id !== 'string' || !/^[A-Za-z0-9\-._~]{1,128}$/.test(c.client_id)) throw new Error('client_id must be 1-128 characters of A-Z a-z 0-9 - . _ ~');
  if (!c.jwks && !c.jwks_uri) throw new Error(`client ${c.client_id}: jwks or jwks_uri is required`);
  if (c.jwks && (!Array.isArray(c.jwks.keys) || c.jwks.keys.length === 0)) throw new Error(`client ${c.client_id}: jwks.keys must be a non-empty array`);
  if (c.jwks?.keys.some((k) => 'd' in k || k.kty === 'oct')) throw new Error(`client ${c.client_id}: jwks must hold public asymmetric keys only`);
  if (typeof c.scope !== 'string' || !c.scope.trim()) throw new Error(`client ${c.client_id}: scope is required`);
}

export function loadClients(file: string | undefined): Map<string, RegisteredClient> {
  const map = new Map<string, RegisteredClient>();
  if (!file) return map;
  if (!existsSync(file)) throw new Error(`AUTH_CLIENTS_FILE ${file} does not exist`);
  const data = JSON.parse(readFileSync(file, 'utf8')) as ClientsFile;
  for (const c of data.clients ?? []) {
    validateClient(c);
    if (map.has(c.client_id)) throw new Error(`client ${c.client_id} is registered twice`);
    map.set(c.client_id, {
      record: c,
      keys: c.jwks ? createLocalJWKSet(c.jwks) : createRemoteJWKSet(new URL(c.jwks_uri!)),
      allowed: c.scope.split(/\s+/).map(parseScope).filter((g): g is Grant => g !== undefined),
    });
  }
  return map;
}

/**
 * Adds (or replaces) a client in the clients file, creating the file when absent; validated
 * first, written atomically (temp file + rename) with owner-only permissions.
 */
export function registerClient(file: string, client: ClientRecord): ClientsFile {
  validateClient(client);
  const data: ClientsFile = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ClientsFile) : { clients: [] };
  data.clients = (data.clients ?? []).filter((c) => c.client_id !== client.client_id);
  data.clients.push(client);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
  return data;
}
