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
export function applyJsonPatch(current: Resource, ops: readonly jsonPatch.Operation[], maxDepth: number): Resource {
  const mark = newMark();
  let doc: unknown = markTexts(current, mark);
  ops.forEach((sent, i) => {
    const zero = leadingZero(sent.path) || ('from' in sent && leadingZero(sent.from));
    if (zero) throw badRequest(`JSON Patch ${describe(sent, i)}: the array index '${zero}' has a leading zero (RFC 6901)`, 'structure');
    let op = 'value' in sent ? markTexts(sent, mark) : sent;
    // A test compares JSON values (RFC 6902 4.6: numbers by value), not texts: 1.5 tests a stored 1.50.
    if (sent.op === 'test') op = { ...sent, value: testedValue(doc, sent, mark) };
    try {
      doc = jsonPatch.applyOperation(doc, op, true, true, true, i).newDocument;
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
