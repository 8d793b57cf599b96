import { randomUUID } from 'node:crypto';
import type { Resource } from 'fhir/r4.js';
import { badRequest, conflict, FhirError, notFound, preconditionFailed } from '../fhir/errors.js';
import type { StoredVersion, StoreTx } from '../store/port.js';
import { assertId } from './checks.js';
import type { Prepared } from './prepare.js';
import { conditionKey } from './query-params.js';
import { sameContent } from './same-content.js';
import type { Services } from './services.js';
import { resourceOf } from '../fhir/json-decimals.js';

/**
 * The write interactions as steps inside one store transaction, shared by the single
 * interactions and by transaction/batch bundles.
 */
export interface WriteOutcome {
  /** 200 updated/matched, 201 created, 204 deleted (or nothing to delete). */
  status: 200 | 201 | 204;
  /** The version now current (for 204: the deletion, when one was written). */
  version?: StoredVersion;
  /** False when nothing was written (identical update, matched conditional create, repeated delete). */
  changed: boolean;
  /** A delete's: the content it ended (for the audit record). */
  previous?: Resource;
}

/** Current matches of a conditional query, serialised against identical concurrent ones. */
async function conditionalMatches(tx: StoreTx, s: Services, type: string, params: Array<[string, string]>): Promise<StoredVersion[]> {
  await tx.lock(conditionKey(type, params));
  return s.search.findMatches(tx, type, params);
}

export async function createIn(
  tx: StoreTx,
  s: Services,
  p: Prepared,
  ifNoneExist?: Array<[string, string]>,
  id: string = randomUUID(),
): Promise<WriteOutcome> {
  const type = p.resource.resourceType;
  if (ifNoneExist) {
    const match = ifNoneExistMatch(type, await conditionalMatches(tx, s, type, ifNoneExist));
    if (match) return { status: 200, version: match, changed: false };
  }
  const version = await tx.put({ type, id, resource: p.resource, idx: p.idx, expectVid: 0 });
  return { status: 201, version, changed: true };
}

/** `via`: the interaction that made the new content (a PATCH's result, or a PUT's body), for history. */
export async function updateIn(tx: StoreTx, p: Prepared, id: string, ifMatch?: number, via: 'PUT' | 'PATCH' = 'PUT'): Promise<WriteOutcome> {
  const type = p.resource.resourceType;
  const current = await tx.read(type, id);
  if (ifMatch !== undefined) {
    if (!current) throw preconditionFailed(`If-Match: ${type}/${id} does not exist`);
    if (current.vid !== ifMatch) {
      throw preconditionFailed(`If-Match: ${type}/${id} is at version ${current.vid}, not ${ifMatch}: read it again and reapply the change`);
    }
  }
  if (current && !current.deleted && sameContent(resourceOf(current), p.resource)) {
    return { status: 200, version: current, changed: false };
  }
  const version = await tx.put({ type, id, resource: p.resource, idx: p.idx, expectVid: current?.vid ?? 0, made: via === 'PATCH' ? 'PATCH' : current ? undefined : 'PUT' });
  return { status: !current || current.deleted ? 201 : 200, version, changed: true };
}

/**
 * The resource a conditional create finds (http.html#ccreate): the one match, which is returned
 * instead of creating; none, and the create goes on; more than one is a 412. Shared by POST with
 * If-None-Exist and bundle entries with ifNoneExist.
 */
export function ifNoneExistMatch(type: string, matches: readonly StoredVersion[]): StoredVersion | undefined {
  if (matches.length > 1) throw tooManyMatches(`If-None-Exist matched ${matches.length} ${type} resources: the criteria are not selective enough`);
  return matches[0];
}

/** PUT [type]?params: update the one match, or create when there is none. */
export async function conditionalUpdateIn(
  tx: StoreTx,
  s: Services,
  p: Prepared,
  params: Array<[string, string]>,
  ifMatch?: number,
): Promise<WriteOutcome> {
  const type = p.resource.resourceType;
  const id = await conditionalUpdateTarget(tx, type, await conditionalMatches(tx, s, type, params), p.resource.id);
  if (id === undefined) return createIn(tx, s, p);
  return updateIn(tx, id === p.resource.id ? p : withId(p, id), id, ifMatch);
}

/**
 * The id a conditional update writes (http.html#cond-update), from the matches of its criteria:
 * more than one is a 412; the one match's id, which a body id must equal (else 400); with no
 * match, the body's id (update as create, so it must be a FHIR id), or undefined for a new one.
 * Update as create is for an id that holds no resource: one that holds a live resource the
 * criteria did not match is a 409 (as R5 says outright), where it was overwritten.
 * Shared by PUT [type]?criteria, batches and transactions (which need the id before writing).
 */
/** http.html#cond-update and friends: more than one match is a 412, issue code multiple-matches (as for conditional references). */
const tooManyMatches = (diagnostics: string) => FhirError.of(412, 'multiple-matches', diagnostics);

export async function conditionalUpdateTarget(tx: StoreTx, type: string, matches: readonly StoredVersion[], bodyId: string | undefined): Promise<string | undefined> {
  const id = matchedTarget(type, matches, bodyId);
  if (matches.length === 0 && id !== undefined) {
    const current = await tx.read(type, id);
    if (current && !current.deleted) {
      throw conflict(`The criteria matched no ${type}, and ${type}/${id} (the body's id) is another resource: a conditional update creates only at an id that holds none`);
    }
  }
  return id;
}

function matchedTarget(type: string, matches: readonly StoredVersion[], bodyId: string | undefined): string | undefined {
  if (matches.length > 1) {
    throw tooManyMatches(`Conditional update matched ${matches.length} ${type} resources: the criteria are not selective enough`);
  }
  const match = matches[0];
  if (match) {
    if (bodyId && bodyId !== match.id) {
      throw badRequest(`The resource id '${bodyId}' differs from the id of the resource the criteria matched ('${match.id}')`, 'invalid', `${type}.id`);
    }
    return match.id;
  }
  if (bodyId !== undefined) assertId(bodyId, `${type}.id`);
  return bodyId;
}

export async function deleteIn(tx: StoreTx, type: string, id: string, ifMatch?: number): Promise<WriteOutcome> {
  const current = await tx.read(type, id);
  if (!current) {
    // http.html#delete: deleting a resource that "does not exist at all" succeeds (204). A token
    // whose reads are narrowed cannot tell that from one it may not see: 404 for both, so the
    // answer never reveals another patient's resource.
    if (tx.narrowed) throw notFound(`${type}/${id} is not known`);
    if (ifMatch !== undefined) throw preconditionFailed(`If-Match: ${type}/${id} does not exist`);
    return { status: 204, changed: false };
  }
  if (ifMatch !== undefined && current.vid !== ifMatch) {
    throw preconditionFailed(`If-Match: ${type}/${id} is at version ${current.vid}, not ${ifMatch}`);
  }
  if (current.deleted) return { status: 204, version: current, changed: false };
  const version = await tx.put({ type, id, expectVid: current.vid });
  return { status: 204, version, changed: true, previous: current.resource };
}

export async function conditionalDeleteIn(tx: StoreTx, s: Services, type: string, params: Array<[string, string]>): Promise<WriteOutcome> {
  const matches = await conditionalMatches(tx, s, type, params);
  if (matches.length === 0) return { status: 204, changed: false };
  if (matches.length > 1) {
    throw tooManyMatches(`Conditional delete matched ${matches.length} ${type} resources; this server deletes one at a time (conditionalDelete = single)`);
  }
  return deleteIn(tx, type, matches[0].id);
}

function withId(p: Prepared, id: string): Prepared {
  return { ...p, resource: { ...p.resource, id } as Resource };
}
