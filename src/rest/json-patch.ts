import type { Resource } from 'fhir/r4.js';
import jsonPatch from 'fast-json-patch';
import { badRequest, FhirError } from '../fhir/errors.js';
import { markTexts, newMark, unmarkTexts } from '../fhir/json-decimals.js';
import { jsonDepth } from '../fhir/json-depth.js';

/** What failed, in words, by fast-json-patch's error name (its own texts are terse or misleading). */
const FAILURES: Record<string, string> = {
  TEST_OPERATION_FAILED: 'the value at the path is not the value the test gives',
  OPERATION_PATH_UNRESOLVABLE: 'the path does not exist in the resource',
  OPERATION_FROM_UNRESOLVABLE: 'the from path does not exist in the resource',
  OPERATION_PATH_CANNOT_ADD: 'the parent of the path does not exist in the resource',
  OPERATION_PATH_ILLEGAL_ARRAY_INDEX: "an array index must be a non-negative integer (or '-' to add at the end)",
  OPERATION_VALUE_OUT_OF_BOUNDS: 'the array index is past the end of the array',
};

const describe = (op: jsonPatch.Operation, index: number) =>
  `operation ${index} (${op.op} ${op.path}${'from' in op ? ` from ${op.from}` : ''})`;

/** RFC 6901: an array index has no leading zero; FHIR element names are never all digits, so such a segment is always wrong. */
const leadingZero = (pointer: unknown) => typeof pointer === 'string' && pointer.split('/').find((seg) => /^0\d+$/.test(seg));

/**
 * Applies a JSON Patch to a stored resource, one operation at a time so a failure names its
 * operation: a malformed pointer is a 400, an operation the resource does not allow a 422.
 * The result must keep the resource's type and id. The input is not modified.
 *
 * Numbers keep the text they were written with (json-decimals.ts), the resource's and the
 * patch's alike: while the patch runs, each such number is a marked string, which moves, is
 * copied and shifts along its array as a value does, and is a number again in the result.
 */
export function applyJsonPatch(current: Resource, ops: readonly jsonPatch.Operation[], maxDepth: number, maxCopied = DEFAULT_MAX_COPIED): Resource {
  const mark = newMark();
  let doc: unknown = markTexts(current, mark);
  // What copy operations may duplicate in all: each copy clones its source, so n copies of a
  // value into itself make 2^n of it (a 1 KB patch of 22 copies built a 2 GB resource).
  let copyBudget = maxCopied;
  ops.forEach((sent, i) => {
    const zero = leadingZero(sent.path) || ('from' in sent && leadingZero(sent.from));
    if (zero) throw badRequest(`JSON Patch ${describe(sent, i)}: the array index '${zero}' has a leading zero (RFC 6901)`, 'structure');
    if (sent.op === 'copy') {
      // A `from` that names nothing costs nothing here: the library reports it below.
      copyBudget -= sizeAtMost(valueAt(doc, sent.from)?.value, copyBudget + 1);
      if (copyBudget < 0) throw FhirError.of(422, 'too-costly', `The patch could not be applied: ${describe(sent, i)}: its copy operations would duplicate more than ${maxCopied} bytes of the resource`);
    }
    let op = 'value' in sent ? markTexts(sent, mark) : sent;
    // A test compares JSON values (RFC 6902 4.6: numbers by value), not texts: 1.5 tests a stored 1.50.
    if (sent.op === 'test') op = { ...sent, value: testedValue(doc, sent, mark) };
    try {
      doc = jsonPatch.applyOperation(doc, op, validateOperation, true, true, i).newDocument;
    } catch (e) {
      // A JsonPatchError says what failed; anything else is the library failing on an odd path: its text is internal.
      const what = e instanceof jsonPatch.JsonPatchError ? (FAILURES[e.name] ?? e.message.split('\n')[0]) : 'it cannot be applied to this resource';
      throw FhirError.of(422, 'processing', `The patch could not be applied: ${describe(op, i)}: ${what}`);
    }
  });
  const patched = (doc && typeof doc === 'object' ? unmarkTexts(doc, mark) : doc) as Resource | null;
  if (!patched || typeof patched !== 'object' || patched.resourceType !== current.resourceType || patched.id !== current.id) {
    throw FhirError.of(422, 'processing', 'A patch may not change the resourceType or id');
  }
  // Bodies are held to MAX_JSON_DEPTH before they are read; a patch, adding levels below the
  // deepest, is the one way a resource grows past it.
  if (jsonDepth(patched, maxDepth) > maxDepth) throw FhirError.of(422, 'too-costly', `The patched resource would be nested deeper than ${maxDepth} levels (MAX_JSON_DEPTH)`);
  return patched;
}

/**
 * fast-json-patch's own validator, except for move and copy: to learn whether `from` exists it
 * applies a patch to a deep clone of the whole document (core.js validate()), so every such
 * operation cost a JSON round trip of the resource (2,000 moves in a 3.5 MB resource: 133 s).
 * Here `from` is looked up in place.
 */
function validateOperation(operation: jsonPatch.Operation, index: number, document: unknown, existingPath: string): void {
  if ((operation.op === 'move' || operation.op === 'copy') && document !== undefined) {
    jsonPatch.validator(operation, index); // its checks of the operation itself, none of the document
    if (!valueAt(document, operation.from)) {
      throw new jsonPatch.JsonPatchError('Cannot perform the operation from a path that does not exist', 'OPERATION_FROM_UNRESOLVABLE', index, operation, document);
    }
    return;
  }
  jsonPatch.validator(operation, index, document, existingPath);
}

/**
 * The value a JSON pointer names in the document, or undefined when it names none (an array
 * step: an index below its length; an object step: an own member, never one of its prototype's).
 */
function valueAt(document: unknown, pointer: string): { value: unknown } | undefined {
  if (pointer === '') return { value: document };
  if (!pointer.startsWith('/')) return undefined;
  let at: unknown = document;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(at)) {
      if (!/^(0|[1-9]\d*)$/.test(key) || Number(key) >= at.length) return undefined;
      at = at[Number(key)];
    } else if (at !== null && typeof at === 'object' && Object.hasOwn(at, key)) {
      at = (at as Record<string, unknown>)[key];
    } else return undefined;
    if (at === undefined) return undefined;
  }
  return { value: at };
}

/** Copy operations together may duplicate as much as a request body may hold (BODY_LIMIT_BYTES's default). */
export const DEFAULT_MAX_COPIED = 50 * 1024 * 1024;

/**
 * About the size of a value as JSON text (strings by their length, each name, number and
 * delimiter a few bytes), counted only up to `limit`: a walk of at most that much however large
 * the value is.
 */
function sizeAtMost(value: unknown, limit: number): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length && size <= limit) {
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (Array.isArray(v)) {
      size += 2 + v.length;
      for (const x of v) stack.push(x);
    } else if (v !== null && typeof v === 'object') {
      size += 2;
      for (const k in v as Record<string, unknown>) {
        size += k.length + 4;
        stack.push((v as Record<string, unknown>)[k]);
      }
    } else size += 8;
  }
  return size;
}

/**
 * What a test operation is run with: the marked value at its path when that equals the test's
 * value as JSON (so the library sees them equal), else the test's own value (so it fails).
 */
function testedValue(doc: unknown, op: jsonPatch.TestOperation<unknown>, mark: string): unknown {
  let at: unknown;
  try {
    at = jsonPatch.getValueByPointer(doc, op.path);
  } catch {
    return op.value; // the library reports the path
  }
  return at !== undefined && sameJson(unmarkTexts(at, mark), op.value) ? at : op.value;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
