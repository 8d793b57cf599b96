import type { Config } from '../config.js';
import { authUrls } from './urls.js';
import { ASSERTION_ALGS } from './token-endpoint.js';

/** GET [base]/.well-known/smart-configuration (SMART App Launch 2.x, "Conformance"). */
export function smartConfiguration(config: Config, tokenEndpoint: boolean): Record<string, unknown> {
  const urls = authUrls(config);
  const external = config.auth.issuer;
  const doc: Record<string, unknown> = {
    issuer: tokenEndpoint ? urls.issuer : external,
    grant_types_supported: tokenEndpoint ? ['client_credentials'] : [],
    scopes_supported: ['system/*.rs', 'system/*.cruds', 'system/*.read', 'system/*.write', 'user/*.cruds', 'patient/*.rs', 'patient/*.cruds', 'system/AuditEvent.rs'],
    capabilities: ['permission-v1', 'permission-v2', 'permission-patient', 'permission-user', ...(tokenEndpoint ? ['client-confidential-asymmetric'] : [])],
    code_challenge_methods_supported: ['S256'],
  };
  if (tokenEndpoint) {
    doc.token_endpoint = urls.tokenUrl;
    doc.jwks_uri = urls.jwksUrl;
    doc.token_endpoint_auth_methods_supported = ['private_key_jwt'];
    doc.token_endpoint_auth_signing_alg_values_supported = ASSERTION_ALGS;
  } else if (config.auth.jwksUrl) {
    doc.jwks_uri = config.auth.jwksUrl;
  }
  return doc;
}
