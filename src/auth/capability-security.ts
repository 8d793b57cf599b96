import type { CapabilityStatementRestSecurity } from 'fhir/r4.js';
import type { Config } from '../config.js';
import { authEnabled, authUrls } from './urls.js';

/** CapabilityStatement.rest.security: SMART-on-FHIR with the token endpoint (when the server issues tokens). */
export function restSecurity(config: Config): CapabilityStatementRestSecurity | undefined {
  if (!authEnabled(config)) return undefined;
  const urls = authUrls(config);
  const sec: CapabilityStatementRestSecurity = {
    cors: config.auth.corsOrigins.length > 0,
    service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }], text: 'OAuth2 using SMART-on-FHIR profile' }],
    description:
      'Bearer JWT access tokens with SMART v1/v2 scopes (system/, user/, patient/). ' +
      (config.auth.userAccess === 'care-team'
        ? "user/ scopes reach the patients the fhirUser cares for (general practitioner or current care team member), or a Patient/RelatedPerson user's own record. "
        : 'user/ scopes reach all data (USER_ACCESS=all). ') +
      (config.auth.clientsFile ? `SMART Backend Services: POST ${urls.tokenUrl} (client_credentials, private_key_jwt RS384/ES384). ` : '') +
      `See ${config.baseUrl}/.well-known/smart-configuration.`,
  };
  if (config.auth.clientsFile) {
    sec.extension = [{ url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris', extension: [{ url: 'token', valueUri: urls.tokenUrl }] }];
  }
  return sec;
}
