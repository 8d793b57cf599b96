import jsonPatch from 'fast-json-patch';
import { badRequest, FhirError, gone, notFound, preconditionFailed } from '../fhir/errors.js';
import type { StoredVersion } from '../store/port.js';
import { assertId, assertKnownType, assertResourceBody, assertVersionId } from './checks.js';
import { resourceOf } from '../fhir/json-decimals.js';
import { ifNoneMatchHits, parseVersionTag } from './etag.js';
import { applyJsonPatch } from './json-patch.js';
import { prepare } from './prepare.js';
import { conditionCriteria, ifNoneExistCriteria } from './query-params.js';
import type { RestResult } from './result.js';
import type { Services } from './services.js';
import { conditionalDeleteIn, conditionalUpdateIn, createIn, deleteIn, updateIn, type WriteOutcome } from './write-ops.js';

/** The parts of an HTTP request the interactions look at. */
export interface RestRequest {
  type: string;
  id?: string;
  vid?: string;
  /** Raw query string without '?'. */
  query: string;
  body?: unknown;
  header(name: string): string | undefined;
}

const resultOf = (o: WriteOutcome, s: Services, warnings = [] as RestResult['issues']): RestResult => ({
  status: o.status,
  version: o.version,
  issues: warnings,
  location: o.version && o.status === 201 ? `${s.config.baseUrl}/${o.version.type}/${o.version.id}/_history/${o.version.vid}` : undefined,
});

const ifMatchOf = (req: RestRequest) => {
  const h = req.header('if-match');
  return h === undefined ? undefined : parseVersionTag(h, 'If-Match');
};

/**
 * If-None-Match on a write of [type]/[id] (RFC 9110 13.1.2): evaluated against the current version
 * before the method is performed, inside its transaction. `*` fails while the resource exists (a
 * deleted one has no current representation), an ETag when it names the current version; the
 * failure is a 412 and nothing is written. `*` is how a client asks for a PUT that only creates.
 */
function assertNoneMatch(req: RestRequest, current: StoredVersion | undefined): void {
  const inm = req.header('if-none-match');
  if (inm === undefined || !current || current.deleted) return;
  if (ifNoneMatchHits(inm, String(current.vid))) {
    throw preconditionFailed(`If-None-Match: ${inm.trim().slice(0, 40)}: ${current.type}/${current.id} exists at version ${current.vid}, so nothing was written`);
  }
}

/** A conditional update or delete names no single resource before it runs: If-None-Match there is refused, not ignored. */
function refuseNoneMatch(req: RestRequest, what: string): void {
  if (req.header('if-none-match') !== undefined) {
    throw badRequest(`If-None-Match is not supported on ${what}: use it on [type]/[id], or POST with If-None-Exist to create only when nothing matches`, 'not-supported');
  }
}

export async function create(s: Services, req: RestRequest): Promise<RestResult> {
  assertKnownType(s, req.type);
  const resource = assertResourceBody(req.body, req.type);
  const p = prepare(s, resource);
  const ine = req.header('if-none-exist');
  const criteria = ine !== undefined ? ifNoneExistCriteria(ine) : undefined;
  const o = await s.store.transact((tx) => createIn(tx, s, p, criteria));
  return resultOf(o, s, p.warnings);
}

export async function read(s: Services, req: RestRequest): Promise<RestResult> {
  assertKnownType(s, req.type);
  assertId(req.id!);
  const v = await s.store.read(req.type, req.id!);
  return { status: 200, version: liveOrThrow(v, req.type, req.id!) };
}

export async function vread(s: Services, req: RestRequest): Promise<RestResult> {
  assertKnownType(s, req.type);
  assertId(req.id!);
  const vid = assertVersionId(req.vid!);
  const v = await s.store.readVersion(req.type, req.id!, vid);
  if (!v) throw notFound(`${req.type}/${req.id}/_history/${req.vid} does not exist`);
  if (v.deleted) throw Object.assign(gone(`${req.type}/${req.id} version ${vid} is a deletion`), { version: v });
  return { status: 200, version: v };
}

export function liveOrThrow(v: StoredVersion | undefined, type: string, id: string): StoredVersion {
  if (!v) throw notFound(`${type}/${id} is not known`);
  if (v.deleted) throw Object.assign(gone(`${type}/${id} was deleted (version ${v.vid})`), { version: v });
  return v;
}

export async function update(s: Services, req: RestRequest): Promise<RestResult> {
  assertKnownType(s, req.type);
  const resource = assertResourceBody(req.body, req.type);
  const ifMatch = ifMatchOf(req);
  if (req.id === undefined) {
    // Conditional update: PUT [type]?criteria
    const params = conditionCriteria(req.query, `PUT ${req.type}?criteria (a conditional update)`);
    refuseNoneMatch(req, 'a conditional update');
    const p = prepare(s, resource);
    const o = await s.store.transact((tx) => conditionalUpdateIn(tx, s, p, params, ifMatch));
    return resultOf(o, s, p.warnings);
  }
  assertId(req.id);
  if (resource.id === undefined) throw badRequest(`The ${req.type} in the body has no id: it must equal the URL id '${req.id}'`, 'required', `${req.type}.id`);
  if (resource.id !== req.id) {
    throw badRequest(`The body id '${String(resource.id).slice(0, 64)}' differs from the URL id '${req.id}'`, 'invalid', `${req.type}.id`);
  }
  const p = prepare(s, resource);
  const o = await s.store.transact(async (tx) => {
    if (req.header('if-none-match') !== undefined) assertNoneMatch(req, await tx.read(req.type, req.id!));
    return updateIn(tx, p, req.id!, ifMatch);
  });
  return resultOf(o, s, p.warnings);
}

export async function patch(s: Services, req: RestRequest): Promise<RestResult> {
  assertKnownType(s, req.type);
  assertId(req.id!);
  const ops = req.body;
  if (!Array.isArray(ops)) throw badRequest('A JSON Patch body must be an array of operations (RFC 6902)', 'structure');
  const invalid = jsonPatch.validate(ops as jsonPatch.Operation[]);
  if (invalid) throw badRequest(`Invalid JSON Patch operation at index ${invalid.index}: ${invalid.name}`, 'structure');
  const ifMatch = ifMatchOf(req);
  // Apply to the version current inside the transaction, so a concurrent change cannot be lost.
  let warnings: RestResult['issues'] = [];
  const o = await s.store.transact(async (tx) => {
    const current = liveOrThrow(await tx.read(req.type, req.id!), req.type, req.id!);
    if (ifMatch !== undefined && current.vid !== ifMatch) {
      throw FhirError.of(412, 'conflict', `If-Match: ${req.type}/${req.id} is at version ${current.vid}, not ${ifMatch}`);
    }
    assertNoneMatch(req, current);
    const p = prepare(s, applyJsonPatch(resourceOf(current), ops as jsonPatch.Operation[], s.config.auth.maxJsonDepth, s.config.bodyLimit));
    warnings = p.warnings;
    return updateIn(tx, p, req.id!, current.vid, 'PATCH');
  });
  return resultOf(o, s, warnings);
}

export async function remove(s: Services, req: RestRequest): Promise<RestResult> {
  assertKnownType(s, req.type);
  const ifMatch = ifMatchOf(req);
  if (req.id === undefined) {
    const params = conditionCriteria(req.query, `DELETE ${req.type}?criteria (a conditional delete)`);
    refuseNoneMatch(req, 'a conditional delete');
    const o = await s.store.transact((tx) => conditionalDeleteIn(tx, s, req.type, params));
    return deleted(o, `No ${req.type} matched: nothing was deleted`);
  }
  assertId(req.id);
  const o = await s.store.transact(async (tx) => {
    if (req.header('if-none-match') !== undefined) assertNoneMatch(req, await tx.read(req.type, req.id!));
    return deleteIn(tx, req.type, req.id!, ifMatch);
  });
  return deleted(o, `${req.type}/${req.id} does not exist: nothing was deleted`);
}

/** A delete's 204, with what it did for Prefer: return=OperationOutcome (a 204 alone cannot tell). */
function deleted(o: WriteOutcome, nothing: string): RestResult {
  const v = o.version;
  const diagnostics = !v ? nothing : o.changed ? `${v.type}/${v.id} deleted: version ${v.vid}` : `${v.type}/${v.id} was already deleted (version ${v.vid})`;
  const accessed = v && o.previous ? [{ type: v.type, id: v.id, resource: o.previous }] : undefined;
  return { status: 204, version: v, issues: [{ severity: 'information', code: 'informational', diagnostics }], accessed };
}
