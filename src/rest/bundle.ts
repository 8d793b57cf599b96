import { randomUUID } from 'node:crypto';
import type { Binary, Bundle, BundleEntry, BundleEntryResponse, OperationOutcomeIssue, Resource } from 'fhir/r4.js';
import jsonPatch from 'fast-json-patch';
import { badRequest, FhirError, gone, notFound, outcomeOf, preconditionFailed } from '../fhir/errors.js';
import { parseJson, resourceOf } from '../fhir/json-decimals.js';
import { hasDuplicateKeys } from '../fhir/duplicate-keys.js';
import { Query } from 'mingo';
import type { StoredVersion, StoreTx } from '../store/port.js';
import { assertId, assertKnownType, assertResourceBody, assertVersionId } from './checks.js';
import { etagOf, notModified, parseVersionTag } from './etag.js';
import { prepare, type Prepared } from './prepare.js';
import { entryTypes, rerootIssues } from '../validation/validator.js';
import { rerootPath } from '../validation/issues.js';
import { conditionCriteria, conditionKey, FORMAT_PARAMS, ifNoneExistCriteria, parseConditionalUrl, parseQuery } from './query-params.js';
import { collectReferences, rewriteReferences } from './references.js';
import type { Accessed, RestResult } from './result.js';
import type { Services } from './services.js';
import { conditionalDeleteIn, conditionalUpdateIn, conditionalUpdateTarget, createIn, deleteIn, ifNoneExistMatch, updateIn, type WriteOutcome } from './write-ops.js';
import { sameContent } from './same-content.js';
import { applyJsonPatch } from './json-patch.js';
import { liveOrThrow } from './interactions.js';
import { entryTarget } from './entry-url.js';
import { LoopTurns } from './loop-turns.js';

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One entry of the request bundle, parsed. */
interface Planned {
  index: number;
  method: Method;
  url: string;
  /** The url's path segments and query, as entryTarget read them. */
  parts: string[];
  query?: string;
  type: string;
  id?: string;
  /** Search criteria of a conditional PUT/DELETE. */
  criteria?: Array<[string, string]>;
  ifNoneExist?: Array<[string, string]>;
  ifMatch?: number;
  /** A GET's conditional read (Bundle.entry.request.ifNoneMatch / ifModifiedSince). */
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  fullUrl?: string;
  resource?: Resource;
  /** JSON Patch operations for PATCH (from a Binary). */
  patch?: jsonPatch.Operation[];
  outcome?: WriteOutcome;
  /** A GET entry's read or vread: the version it returned. */
  read?: StoredVersion;
  response?: BundleEntryResponse & { resource?: Resource };
}

/** transaction.html: processing order DELETE, POST, PUT/PATCH, GET/HEAD. */
const ORDER: Record<Method, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

export interface BundleOptions {
  /** Batch entries the access checks refused (by index): each is answered with its error, the others run. */
  refused?: ReadonlyMap<number, FhirError>;
  /** Include the resulting resources in the response entries (Prefer: return=representation). */
  representation: boolean;
  /** A GET entry is executed by the same code as a GET request; passed in so this layer stays below HTTP. */
  get: (url: string) => Promise<RestResult>;
}

export async function processBundle(s: Services, body: unknown, opts: BundleOptions): Promise<RestResult> {
  const bundle = assertResourceBody(body, 'Bundle') as Bundle;
  if (bundle.type !== 'transaction' && bundle.type !== 'batch') {
    throw badRequest(`POST to the base accepts a Bundle of type transaction or batch (got '${String(bundle.type).slice(0, 30)}')`, 'invalid', 'Bundle.type');
  }
  const entries = bundle.entry ?? [];
  if (!Array.isArray(entries)) throw badRequest('Bundle.entry must be an array', 'structure', 'Bundle.entry');
  if (entries.length > s.config.bundleEntryLimit) {
    throw FhirError.of(413, 'too-costly', `The bundle has ${entries.length} entries; this server accepts at most ${s.config.bundleEntryLimit} per request (BUNDLE_ENTRY_LIMIT)`);
  }
  return bundle.type === 'transaction' ? transaction(s, entries, opts) : batch(s, entries, opts);
}

function planEntry(s: Services, e: BundleEntry, index: number): Planned {
  const where = `Bundle.entry[${index}]`;
  const req = e?.request;
  if (!req || typeof req.method !== 'string' || typeof req.url !== 'string') {
    throw badRequest(`${where}.request with method and url is required in a ${'transaction or batch'}`, 'required', `${where}.request`);
  }
  // A code of http-verb: case matters, as for every FHIR code.
  const method = req.method as Method;
  if (!Object.hasOwn(ORDER, method)) throw badRequest(`${where}: unsupported method '${req.method.slice(0, 20)}': use GET, HEAD, POST, PUT, DELETE or PATCH`, 'not-supported', `${where}.request.method`);
  // The same reading as the access checks' (src/auth/security.ts): what they checked is what runs.
  const { url: rel, parts, query } = entryTarget(req.url, s.config.baseUrl, where);
  const p: Planned = { index, method, url: rel, parts, query, type: parts[0] ?? '', fullUrl: e.fullUrl };
  if (method === 'GET' || method === 'HEAD') {
    if (typeof req.ifNoneMatch === 'string') p.ifNoneMatch = req.ifNoneMatch;
    if (typeof req.ifModifiedSince === 'string') p.ifModifiedSince = req.ifModifiedSince;
    return p;
  }
  try {
    assertKnownType(s, p.type);
    if (req.ifMatch !== undefined) p.ifMatch = parseVersionTag(req.ifMatch, 'ifMatch');
    if (method === 'POST') {
      if (parts.length !== 1) throw badRequest(`POST url must be a resource type (got '${rel.slice(0, 80)}')`);
      p.resource = assertResourceBody(e.resource, p.type, `${where}.resource`);
      if (req.ifNoneExist !== undefined) p.ifNoneExist = ifNoneExistCriteria(req.ifNoneExist);
    } else if (method === 'PUT' || method === 'DELETE' || method === 'PATCH') {
      if (parts.length === 2) {
        assertId(parts[1]);
        p.id = parts[1];
      } else if (parts.length === 1 && query && method !== 'PATCH') {
        p.criteria = conditionCriteria(query, `${method} ${p.type}?criteria`);
      } else throw badRequest(`${method} url must be [type]/[id]${method === 'PATCH' ? '' : ' or [type]?criteria'} (got '${rel.slice(0, 80)}')`);
      if (method === 'PUT') {
        p.resource = assertResourceBody(e.resource, p.type, `${where}.resource`);
        if (p.id && p.resource.id !== p.id) throw badRequest(`The resource id '${p.resource.id}' differs from the url id '${p.id}'`, 'invalid', `${where}.resource.id`);
      }
      if (method === 'PATCH') p.patch = patchOf(e.resource, where);
    }
  } catch (err) {
    throw prefixed(err, where);
  }
  return p;
}

function patchOf(resource: Resource | undefined, where: string): jsonPatch.Operation[] {
  const bin = resource as Binary | undefined;
  if (bin?.resourceType !== 'Binary' || bin.contentType !== 'application/json-patch+json' || !bin.data) {
    throw badRequest('A PATCH entry carries its JSON Patch as a Binary with contentType application/json-patch+json', 'not-supported', `${where}.resource`);
  }
  let ops: jsonPatch.Operation[];
  let text: string;
  try {
    // As a PATCH body is read: UTF-8 (not replaced), numbers as written, each key once.
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(bin.data, 'base64'));
    ops = parseJson(text) as jsonPatch.Operation[];
  } catch {
    throw badRequest('The Binary does not hold JSON (a JSON Patch) in UTF-8', 'structure', `${where}.resource.data`);
  }
  if (hasDuplicateKeys(text, ops)) throw badRequest('The JSON Patch repeats a property name within one JSON object: each property may appear once', 'structure', `${where}.resource.data`);
  if (!Array.isArray(ops) || jsonPatch.validate(ops)) throw badRequest('The Binary does not hold a valid JSON Patch', 'structure', `${where}.resource.data`);
  return ops;
}

/** Adds the entry position to an error's issues. */
function prefixed(err: unknown, where: string): unknown {
  if (!(err instanceof FhirError)) return err;
  const issues = err.issues.map((i) => ({
    ...i,
    expression: i.expression?.length ? i.expression.map((x) => (x.startsWith('Bundle.') ? x : rerootPath(x, `${where}.resource`))) : [where],
    diagnostics: i.diagnostics?.startsWith(where) ? i.diagnostics : `${where}: ${i.diagnostics ?? ''}`,
  }));
  return new FhirError(err.status, issues, err.headers);
}


const statusText: Record<number, string> = { 200: '200 OK', 201: '201 Created', 204: '204 No Content' };

function responseOf(o: WriteOutcome, p: Planned, representation: boolean): Planned['response'] {
  const v = o.version;
  const r: Planned['response'] = { status: statusText[o.status] ?? String(o.status) };
  if (v) {
    r.etag = etagOf(v.vid);
    r.lastModified = new Date(v.lu).toISOString();
    if (p.method !== 'DELETE') r.location = `${v.type}/${v.id}/_history/${v.vid}`;
    if (representation && !v.deleted) r.resource = resourceOf(v);
  }
  return r;
}

async function transaction(s: Services, entries: BundleEntry[], opts: BundleOptions): Promise<RestResult> {
  const planned = entries.map((e, i) => planEntry(s, e, i));
  // Validate content before taking the store's lock; references are still the client's here.
  const preparedIssues = new Map<number, Prepared['warnings']>();
  const withResource = planned.filter((p) => p.resource);
  // A urn:uuid reference names the type of the entry with that fullUrl: checked as Type/id would be.
  const results = await validateEntries(s, withResource.map((p) => p.resource!), entryTypes({ entry: entries }));
  // Every refused entry is named, so that a client fixes the bundle in one round trip.
  const refused: OperationOutcomeIssue[] = [];
  withResource.forEach((p, i) => {
    const issues = rerootIssues(results[i], `Bundle.entry[${p.index}].resource`);
    if (issues.some((x) => x.severity === 'error' || x.severity === 'fatal')) refused.push(...(prefixed(new FhirError(422, issues), `Bundle.entry[${p.index}]`) as FhirError).issues);
    else preparedIssues.set(p.index, issues);
  });
  if (refused.length) {
    refused.sort((a, b) => Number(b.severity === 'error' || b.severity === 'fatal') - Number(a.severity === 'error' || a.severity === 'fatal'));
    throw new FhirError(422, refused);
  }
  const fullUrls = new Set<string>();
  for (const p of planned) {
    if (!p.fullUrl) continue;
    if (fullUrls.has(p.fullUrl)) throw badRequest(`Duplicate fullUrl '${p.fullUrl.slice(0, 100)}' in the transaction`, 'invalid', `Bundle.entry[${p.index}].fullUrl`);
    fullUrls.add(p.fullUrl);
  }
  const writes = planned.filter((p) => p.method !== 'GET' && p.method !== 'HEAD').sort((a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index);
  const noValidate = { ...s, config: { ...s.config, validate: false } };
  await s.store.transact(async (tx) => {
    const map = new Map<string, string>();
    // 1. Deletes.
    for (const p of writes.filter((w) => w.method === 'DELETE')) {
      p.outcome = await step(p, () => (p.criteria ? conditionalDeleteIn(tx, s, p.type, p.criteria) : deleteIn(tx, p.type, p.id!, p.ifMatch)));
    }
    // 2. Identities: new ids for creates (or the match of If-None-Exist), targets of conditional PUTs.
    for (const p of writes) {
      if (p.method === 'POST') {
        if (p.ifNoneExist) {
          const match = await step(p, async () => {
            await tx.lock(conditionKey(p.type, p.ifNoneExist!));
            return ifNoneExistMatch(p.type, await s.search.findMatches(tx, p.type, p.ifNoneExist!));
          });
          if (match) {
            p.outcome = { status: 200, version: match, changed: false };
            p.id = match.id;
          }
        }
        p.id ??= randomUUID();
      } else if (p.method === 'PUT' && p.criteria) {
        const target = await step(p, async () => {
          await tx.lock(conditionKey(p.type, p.criteria!));
          return conditionalUpdateTarget(tx, p.type, await s.search.findMatches(tx, p.type, p.criteria!), p.resource!.id);
        });
        p.id = target ?? randomUUID();
      }
      if (p.fullUrl && p.id && (p.method === 'POST' || p.method === 'PUT')) map.set(p.fullUrl, `${p.type}/${p.id}`);
    }
    assertDistinctTargets(writes);
    // 3. The bundle's own resources with their urn:uuid/fullUrl references rewritten, and their
    //    index values, so conditional references can match resources this bundle creates.
    const pending = new Map<Planned, Prepared>();
    const prepareEntry = (p: Planned) => {
      const resource = rewriteReferences(p.resource!, map) as Resource;
      if (p.id) resource.id = p.id;
      pending.set(p, { ...prepare(noValidate, resource), warnings: preparedIssues.get(p.index) ?? [] });
    };
    const creating = writes.filter((p) => p.resource && (p.method === 'PUT' || (p.method === 'POST' && !p.outcome)));
    for (const p of creating) prepareEntry(p);
    // 4. Conditional references (Patient?identifier=...): exactly one match in the store or in this bundle.
    const reader = bundleReader(tx, [...pending.entries()].map(([p, prep]) => ({ type: p.type, id: p.id!, prep })));
    for (const p of creating) {
      let resolved = false;
      for (const ref of collectReferences(p.resource)) {
        // A urn:uuid/urn:oid reference in a transaction is a placeholder for one of its entries (bundle.html#references): one no entry has would be stored pointing nowhere.
        if (/^urn:(uuid|oid):/.test(ref.value) && !map.has(ref.value)) {
          throw prefixed(badRequest(`The reference '${ref.value.slice(0, 100)}' names no entry of this transaction (no entry creating or updating a resource has it as fullUrl)`, 'invalid'), `Bundle.entry[${p.index}]`);
        }
        if (!/^[A-Z][A-Za-z]+\?/.test(ref.value)) continue;
        if (!map.has(ref.value)) {
          const { type, params } = parseConditionalUrl(ref.value);
          const matches = await step(p, () => s.search.findMatches(reader, type, params));
          if (matches.length !== 1) {
            throw prefixed(
              FhirError.of(matches.length === 0 ? 404 : 412, matches.length === 0 ? 'not-found' : 'multiple-matches', `Conditional reference '${ref.value.slice(0, 100)}' matched ${matches.length} resources; it must match exactly one`),
              `Bundle.entry[${p.index}]`,
            );
          }
          map.set(ref.value, `${type}/${matches[0].id}`);
        }
        resolved = true;
      }
      if (resolved) prepareEntry(p); // index values again, with the resolved references
    }
    // 5. Write creates and updates.
    for (const p of writes) {
      if (p.method === 'DELETE' || (p.method === 'POST' && p.outcome)) continue;
      p.outcome = await step(p, async () => {
        if (p.method === 'PATCH') return patchIn(tx, noValidate, s, p);
        const prepared = pending.get(p)!;
        if (p.method === 'POST') return createIn(tx, s, prepared, undefined, p.id);
        return updateIn(tx, prepared, p.id!, p.ifMatch);
      });
    }
    // Reads are among the transaction's actions: one that would fail fails it, before the commit.
    for (const p of planned) if (p.method === 'GET' || p.method === 'HEAD') await step(p, () => assertReadable(s, tx, p.parts, p.query ?? ''));
  });
  for (const p of writes) p.response = responseOf(p.outcome!, p, opts.representation);
  // 6. Reads, after the writes, as the processing order says.
  const budget = readBudget(s);
  for (const p of planned.filter((x) => x.method === 'GET' || x.method === 'HEAD')) p.response = await getEntry(p, opts, budget);
  return { status: 200, body: responseBundle('transaction-response', planned), accessed: accessedBy(planned) };
}

/**
 * A transaction's GET that would fail (http.html#transaction: "accept all actions ... or reject
 * all"): an unknown type, a read or vread of what does not exist (or, for a read, is deleted)
 * after the transaction's writes, or a search the engine refuses. The reads themselves run after
 * the commit, as the processing order says.
 */
async function assertReadable(s: Services, tx: StoreTx, parts: readonly string[], query: string): Promise<void> {
  if (parts.length === 0 || parts[0] === '_history' || parts[0] === 'metadata') return;
  assertKnownType(s, parts[0]);
  if (parts.length === 1 || (parts.length === 2 && parts[1] === '_search')) {
    await s.search.filterFor(tx, parts[0], parseQuery(query).filter(([k]) => !FORMAT_PARAMS.has(k)));
    return;
  }
  if (parts[1] === '_history') return;
  assertId(parts[1]);
  if (parts.length === 2 || (parts.length === 4 && parts[2] === '_history')) {
    const v = await tx.read(parts[0], parts[1]);
    if (!v) throw notFound(`${parts[0]}/${parts[1]} is not known`);
    if (parts.length === 2) {
      if (v.deleted) throw gone(`${parts[0]}/${parts[1]} was deleted (version ${v.vid})`);
      return;
    }
    // A vread: the version as the transaction sees it when it is the latest; an earlier one is
    // committed history, which no transaction changes.
    const vid = assertVersionId(parts[3]);
    const version = vid === v.vid ? v : vid < v.vid ? await s.store.readVersion(parts[0], parts[1], vid) : undefined;
    if (!version) throw notFound(`${parts[0]}/${parts[1]}/_history/${parts[3]} does not exist`);
    if (version.deleted) throw gone(`${parts[0]}/${parts[1]} version ${vid} is a deletion`);
  }
}

/**
 * http.html#trules: a transaction fails when resource identities overlap among its deletes,
 * creates and updates, conditional ones as resolved (a delete's from its outcome, steps 1-2
 * have run). The entry later in the bundle is named, with the earlier one.
 */
function assertDistinctTargets(writes: Planned[]): void {
  const seen = new Map<string, number>();
  const targets: Array<{ key: string; index: number }> = [];
  for (const p of writes) {
    // A plain DELETE names its target whether or not it exists; a conditional one, what it matched.
    const id = p.method === 'DELETE' ? (p.criteria ? p.outcome?.version?.id : p.id) : p.method === 'POST' && p.outcome ? undefined : p.id;
    if (id !== undefined) targets.push({ key: `${p.type}/${id}`, index: p.index });
  }
  targets.sort((a, b) => a.index - b.index);
  for (const { key, index } of targets) {
    const first = seen.get(key);
    if (first !== undefined) {
      throw badRequest(`${key} is also written by Bundle.entry[${first}]: a transaction may write a resource once`, 'invalid', `Bundle.entry[${index}]`);
    }
    seen.set(key, index);
  }
}

async function patchIn(tx: StoreTx, noValidate: Services, s: Services, p: Planned): Promise<WriteOutcome> {
  const current = liveOrThrow(await tx.read(p.type, p.id!), p.type, p.id!);
  if (p.ifMatch !== undefined && p.ifMatch !== current.vid) throw preconditionFailed(`ifMatch: ${p.type}/${p.id} is at version ${current.vid}`);
  const base = resourceOf<Resource>(current);
  const patched = applyJsonPatch(base, p.patch!, s.config.auth.maxJsonDepth, s.config.bodyLimit);
  if (sameContent(patched, base)) return { status: 200, version: current, changed: false };
  // Validated here (not before the lock) because the result depends on the current version.
  const prepared = prepare(s.config.validate ? s : noValidate, patched, `Bundle.entry[${p.index}].resource`);
  return updateIn(tx, prepared, p.id!, current.vid, 'PATCH');
}

async function step<T>(p: Planned, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw prefixed(err, `Bundle.entry[${p.index}]`);
  }
}

/**
 * What the GET entries of one bundle may read in all, and when the bundle last let other requests
 * run. A batch of 1,000 `Condition?_count=1000` (59 KB) held every result in memory (3 GB, then a
 * 500) and the event loop for 17 s: each entry is capped by MAX_COUNT, the bundle was not.
 */
interface ReadBudget {
  /** Resources still to be returned: ten pages of the largest size. */
  left: number;
  readonly total: number;
  readonly turns: LoopTurns;
}

const readBudget = (s: Services): ReadBudget => ({ left: 10 * s.config.auth.maxCount, total: 10 * s.config.auth.maxCount, turns: new LoopTurns() });

async function getEntry(p: Planned, opts: BundleOptions, budget: ReadBudget): Promise<Planned['response']> {
  try {
    await budget.turns.yieldIfDue();
    if (budget.left <= 0)
      throw FhirError.of(400, 'too-costly', `The GET entries before this one returned ${budget.total} resources, the most one bundle returns (10 x MAX_COUNT): ask for the rest in another request`);
    const r = await opts.get(p.url);
    budget.left -= r.body?.resourceType === 'Bundle' ? ((r.body as Bundle).entry?.length ?? 0) : 1;
    p.read = r.version;
    const unchanged = r.version !== undefined && notModified(r.version, p.ifNoneMatch, p.ifModifiedSince, true);
    const resp: Planned['response'] = { status: unchanged ? '304' : String(r.status) };
    if (r.version) {
      resp.etag = etagOf(r.version.vid);
      resp.lastModified = new Date(r.version.lu).toISOString();
      if (p.method === 'GET' && !unchanged && !r.version.deleted) resp.resource = (r.body as Resource | undefined) ?? resourceOf(r.version);
    } else if (r.body && p.method === 'GET') resp.resource = r.body;
    return resp;
  } catch (err) {
    if (err instanceof FhirError) return { status: String(err.status), outcome: err.outcome() };
    throw err;
  }
}

async function batch(s: Services, entries: BundleEntry[], opts: BundleOptions): Promise<RestResult> {
  const planned: Planned[] = [];
  const entryOf = new Map<string, number>();
  entries.forEach((e, i) => typeof e?.fullUrl === 'string' && !entryOf.has(e.fullUrl) && entryOf.set(e.fullUrl, i));
  const budget = readBudget(s);
  for (let i = 0; i < entries.length; i++) {
    let p: Planned | undefined;
    try {
      const refusal = opts.refused?.get(i);
      if (refusal) throw refusal;
      p = planEntry(s, entries[i], i);
      if (p.resource) assertIndependent(p.resource, entryOf, i);
      if (p.method === 'GET' || p.method === 'HEAD') {
        p.response = await getEntry(p, opts, budget);
      } else {
        await budget.turns.yieldIfDue();
        const q = p;
        const prepared = q.resource && q.method !== 'DELETE' ? prepare(s, q.resource, `Bundle.entry[${i}].resource`) : undefined;
        q.outcome = await s.store.transact(async (tx) => {
          switch (q.method) {
            case 'POST':
              return createIn(tx, s, prepared!, q.ifNoneExist);
            case 'PUT':
              if (q.criteria) return conditionalUpdateIn(tx, s, prepared!, q.criteria, q.ifMatch);
              return updateIn(tx, prepared!, q.id!, q.ifMatch);
            case 'PATCH':
              return patchIn(tx, s, s, q);
            default:
              return q.criteria ? conditionalDeleteIn(tx, s, q.type, q.criteria) : deleteIn(tx, q.type, q.id!, q.ifMatch);
          }
        });
        q.response = responseOf(q.outcome, q, opts.representation);
      }
    } catch (err) {
      if (!(err instanceof FhirError)) throw err;
      const e = prefixed(err, `Bundle.entry[${i}]`) as FhirError;
      p ??= { index: i, method: 'GET', url: '', parts: [], type: '' };
      p.response = { status: String(e.status), outcome: outcomeOf(e.issues) };
    }
    planned.push(p!);
  }
  return { status: 200, body: responseBundle('batch-response', planned), accessed: accessedBy(planned) };
}

const ENTRY_CODES: Record<Method, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete', GET: 'read', HEAD: 'read' };

/** The resources the entries wrote or read, as their outcomes already hold them (for the audit record: no re-read). */
function accessedBy(planned: Planned[]): Accessed[] {
  const out: Accessed[] = [];
  for (const p of planned) {
    const v = p.outcome?.version ?? p.read;
    if (!v) continue;
    out.push({ type: v.type, id: v.id, ...(v.deleted ? { resource: p.outcome?.previous } : { version: v }), code: ENTRY_CODES[p.method] });
  }
  return out;
}

/**
 * http.html#brules: "References within a Bundle.entry.resource to another Bundle.entry.resource
 * that is being created within the batch are considered to be non-conformant", and servers SHOULD
 * check: a batch does not resolve them, so such an entry would be stored pointing nowhere.
 */
function assertIndependent(resource: Resource, entryOf: ReadonlyMap<string, number>, index: number): void {
  for (const ref of collectReferences(resource)) {
    const other = entryOf.get(ref.value);
    if (other !== undefined && other !== index) {
      throw badRequest(`The reference '${ref.value.slice(0, 100)}' names Bundle.entry[${other}]: entries of a batch may not depend on each other (http.html#brules); send a transaction to have it resolved`, 'invalid');
    }
  }
}

/** The response Bundle, one entry per request entry; an empty bundle's has no `entry` (json.html: arrays are never empty). */
function responseBundle(type: 'transaction-response' | 'batch-response', planned: Planned[]): Bundle {
  const bundle: Bundle = { resourceType: 'Bundle', type };
  if (planned.length === 0) return bundle;
  bundle.entry = planned.map((p) => {
    const { resource, ...response } = p.response ?? { status: '500' };
    const entry: BundleEntry = { response };
    if (resource) entry.resource = resource;
    return entry;
  });
  return bundle;
}

/**
 * A reader for conditional references inside a transaction: the store as the transaction sees
 * it, plus the resources this bundle is about to write (matched with the same filter documents).
 */
function bundleReader(tx: StoreTx, own: Array<{ type: string; id: string; prep: Prepared }>): { find: StoreTx['find'] } {
  const docs = own.map((o) => ({ o, doc: { type: o.type, id: o.id, vid: 0, lu: 0, idx: o.prep.idx } }));
  return {
    async find(q) {
      const stored = await tx.find(q);
      const seen = new Set(stored.map((v) => `${v.type}/${v.id}`));
      const test = new Query(q.filter);
      const extra: StoredVersion[] = docs
        .filter(({ o, doc }) => (q.types.length === 0 || q.types.includes(o.type)) && !seen.has(`${o.type}/${o.id}`) && test.test(doc))
        .map(({ o }) => ({ type: o.type, id: o.id, vid: 0, lu: 0, deleted: false, resource: o.prep.resource, json: undefined }));
      return [...stored, ...extra];
    },
  };
}

/** Below this many resources a transaction is validated on this thread only. */
const POOL_THRESHOLD = 64;

/**
 * Issues per resource. A large transaction is shared with the validator threads: they take
 * part of the entries while this thread validates the rest, so two cores work on it.
 */
async function validateEntries(s: Services, resources: Resource[], referenceTypes: Record<string, string>): Promise<Prepared['warnings'][]> {
  const v = s.config.validate ? s.validator : undefined;
  if (!v) return resources.map(() => []);
  const pool = s.validatorPool;
  const opts = { referenceTypes };
  if (!pool || resources.length < POOL_THRESHOLD) return resources.map((r) => v.validate(r, opts));
  // Workers get a share each, this thread the same share, in order.
  const share = Math.ceil(resources.length / (pool.size + 1));
  const remote = Array.from({ length: pool.size }, (_, k) => pool.validateMany(resources.slice((k + 1) * share, (k + 2) * share), opts));
  const local = resources.slice(0, share).map((r) => v.validate(r, opts));
  return [...local, ...(await Promise.all(remote)).flat()];
}
