import t from 'tap';
import { type AuthTestServer, condition, ids, PL, seeder, startAuthServer } from './helpers.js';

// SMART v2 query-restricted grants (`patient/Condition.rs?category=...`): counts, totals and
// pages hold exactly the resources the grants allow, whatever the shape of the search.

let s: AuthTestServer;
let B: string;

const ORACLE = '38341003';
const SCT = 'http://snomed.info/sct';
const problemList = `category=${encodeURIComponent(`${PL}|problem-list-item`)}`;
const resolvedStatus = 'clinical-status=resolved';

/** pa's Conditions by id: problem-list items and encounter diagnoses interleaved, so a page of matches loses rows to the restriction. */
const PA = [
  ['c01', 'problem-list-item', '101'],
  ['c02', 'encounter-diagnosis', ORACLE],
  ['c03', 'problem-list-item', '103'],
  ['c04', 'encounter-diagnosis', '204'],
  ['c05', 'problem-list-item', '105'],
  ['c06', 'encounter-diagnosis', '206'],
  ['c07', 'problem-list-item', '107'],
  ['c08', 'encounter-diagnosis', '208'],
  ['c09', 'problem-list-item', '109'],
  ['c10', 'encounter-diagnosis', '210'],
] as const;
const PROBLEMS = PA.filter(([, cat]) => cat === 'problem-list-item').map(([id]) => `Condition/${id}`);
/** A resolved encounter diagnosis: visible to a clinical-status=resolved grant only. */
const RESOLVED = 'Condition/c11';

t.before(async () => {
  s = await startAuthServer();
  B = s.base;
  const admin = await s.token({ scope: 'system/*.cruds' });
  const put = seeder(s, admin);
  await put({ resourceType: 'Practitioner', id: 'dr' } as never);
  await put({ resourceType: 'Patient', id: 'pa', generalPractitioner: [{ reference: 'Practitioner/dr' }] } as never);
  await put({ resourceType: 'Patient', id: 'pb' } as never);
  for (const [id, cat, code] of PA) await put(condition(id, 'pa', cat, code));
  await put({
    ...condition('c11', 'pa', 'encounter-diagnosis', '211'),
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'resolved' }] },
  } as never);
  await put(condition('cb1', 'pb', 'problem-list-item', '301'));
  await put({ resourceType: 'Procedure', id: 'pr1', status: 'completed', subject: { reference: 'Patient/pa' }, reasonReference: [{ reference: 'Condition/c02' }] } as never);
});
t.teardown(() => s.close());

const total = async (tok: string, url: string) => {
  const r = await s.as(tok, 'GET', url);
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${r.text}`);
  return r.body.total as number;
};

/** Every match reachable from the first page through next links, and the totals the pages gave. */
const allPages = async (tok: string, url: string) => {
  const seen: string[] = [];
  const totals = new Set<number>();
  let next: string | undefined = url;
  for (let n = 0; next && n < 50; n++) {
    const r = await s.as(tok, 'GET', next);
    if (r.status !== 200) throw new Error(`${next}: ${r.status} ${r.text}`);
    totals.add(r.body.total);
    seen.push(...ids({ entry: (r.body.entry ?? []).filter((e: { search?: { mode?: string } }) => e.search?.mode === 'match') }));
    next = (r.body.link as Array<{ relation: string; url: string }>).find((l) => l.relation === 'next')?.url;
  }
  return { ids: seen.sort(), totals: [...totals] };
};

t.test('counts and totals count only what a restricted grant allows', async (t) => {
  const tok = await s.token({ scope: `patient/Condition.rs?${problemList}`, patient: 'pa' });
  t.equal(await total(tok, `${B}/Patient/pa/Condition?_summary=count`), PROBLEMS.length, 'compartment search, _summary=count');
  t.equal(await total(tok, `${B}/Patient/pa/Condition`), PROBLEMS.length, 'compartment search, Bundle.total');
  t.equal(await total(tok, `${B}/Patient/pa/Condition?code=${SCT}|${ORACLE}&_summary=count`), 0, 'no oracle on the codes of excluded Conditions (compartment)');
  t.equal(await total(tok, `${B}?_type=Condition&code=${ORACLE}&_summary=count`), 0, 'nor through _type');
  t.equal(await total(tok, `${B}/Patient/pa/*?_type=Condition&code=${ORACLE}&_summary=count`), 0, 'nor through Patient/pa/*');
  t.equal(await total(tok, `${B}?_type=Condition&_summary=count`), PROBLEMS.length, '_type search count');
  t.equal(await total(tok, `${B}/Condition?_summary=count`), PROBLEMS.length, 'type search count');
  t.equal(await total(tok, `${B}/Condition?_total=accurate&_count=1`), PROBLEMS.length, 'type search total');

  const two = await s.token({ scope: `patient/Condition.rs?${problemList} patient/Condition.rs?${resolvedStatus}`, patient: 'pa' });
  const visible = [...PROBLEMS, RESOLVED].sort();
  t.same(ids((await s.as(two, 'GET', `${B}/Condition?_count=100`)).body), visible, 'two restricted grants: the union of what each allows');
  t.equal(await total(two, `${B}/Condition?_summary=count`), visible.length, 'two restricted grants: count');
  t.equal(await total(two, `${B}/Condition`), visible.length, 'two restricted grants: Bundle.total');
  t.equal(await total(two, `${B}/Condition?code=${SCT}|${ORACLE}&_summary=count`), 0, 'two restricted grants: no oracle');

  const user = await s.token({ scope: `user/Condition.rs?${problemList}`, fhirUser: 'Practitioner/dr' });
  t.equal(await total(user, `${B}/Patient/pa/Condition?_summary=count`), PROBLEMS.length, 'user/ grant: compartment count');
  t.equal(await total(user, `${B}/Patient/pa/Condition?code=${ORACLE}&_summary=count`), 0, 'user/ grant: no oracle');

  const sys = await s.token({ scope: `system/Condition.rs?${problemList}` });
  t.equal(await total(sys, `${B}/Patient/pa/Condition?_summary=count`), PROBLEMS.length, 'system/ grant: compartment count');
  t.equal(await total(sys, `${B}?_type=Condition&_summary=count`), PROBLEMS.length + 1, "system/ grant: _type count (pb's problem too)");
});

t.test('every match a restricted grant allows is reachable through next links', async (t) => {
  const tok = await s.token({ scope: `patient/Condition.rs?${problemList}`, patient: 'pa' });
  for (const url of [
    `${B}/Patient/pa/Condition?_count=1`,
    `${B}/Patient/pa/Condition?_count=2&_sort=_id`,
    `${B}/Patient/pa/*?_type=Condition&_count=2`,
    `${B}?_type=Condition&_count=1`,
    `${B}/Condition?_count=2`,
  ]) {
    const r = await allPages(tok, url);
    t.same(r.ids, PROBLEMS, `${url.slice(B.length)}: every visible match`);
    t.same(r.totals, [PROBLEMS.length], `${url.slice(B.length)}: the same total on every page`);
  }
  const two = await s.token({ scope: `patient/Condition.rs?${problemList} patient/Condition.rs?${resolvedStatus}`, patient: 'pa' });
  const r = await allPages(two, `${B}/Condition?_count=1`);
  t.same(r.ids, [...PROBLEMS, RESOLVED].sort(), 'two restricted grants: every visible match');
  t.same(r.totals, [PROBLEMS.length + 1]);
  const user = await s.token({ scope: `user/Condition.rs?${problemList}`, fhirUser: 'Practitioner/dr' });
  t.same((await allPages(user, `${B}/Patient/pa/Condition?_count=1`)).ids, PROBLEMS, 'user/ grant: every visible match');
});

t.test('includes, chains and _has through a restricted type stay filtered', async (t) => {
  const tok = await s.token({ scope: `patient/Patient.rs patient/Procedure.rs patient/Condition.rs?${problemList}`, patient: 'pa' });
  const rev = await s.as(tok, 'GET', `${B}/Patient?_revinclude=Condition:subject`);
  t.same(ids(rev.body), [...PROBLEMS, 'Patient/pa'].sort(), '_revinclude');
  const inc = await s.as(tok, 'GET', `${B}/Procedure?_include=Procedure:reason-reference`);
  t.same(ids(inc.body), ['Procedure/pr1'], '_include of an excluded Condition');
  t.same(ids((await s.as(tok, 'GET', `${B}/Procedure?reason-reference:Condition.code=${ORACLE}`)).body), [], 'chain into an excluded Condition');
  t.equal(await total(tok, `${B}/Procedure?reason-reference:Condition.code=${ORACLE}&_summary=count`), 0, 'chain: count');
  t.same(ids((await s.as(tok, 'GET', `${B}/Patient?_has:Condition:subject:code=${ORACLE}`)).body), [], '_has on an excluded Condition');
  t.equal(await total(tok, `${B}/Patient?_has:Condition:subject:code=${ORACLE}&_summary=count`), 0, '_has: count');
  t.same(ids((await s.as(tok, 'GET', `${B}/Patient?_has:Condition:subject:code=101`)).body), ['Patient/pa'], '_has on a visible Condition');
  t.equal((await s.as(tok, 'GET', `${B}/Condition/c02`)).status, 404, 'read of an excluded Condition');
  t.equal((await s.as(tok, 'GET', `${B}/Condition/c01`)).status, 200, 'read of a visible one');
  t.equal((await s.as(tok, 'GET', `${B}/Condition/c02/_history`)).status, 404, 'history of an excluded Condition');
});

t.test('a wildcard grant restricted by a parameter reaches only the types that have it', async (t) => {
  const tok = await s.token({ scope: `patient/*.rs?${problemList}`, patient: 'pa' });
  const conditions = await s.as(tok, 'GET', `${B}/Condition?_count=100`);
  t.equal(conditions.status, 200);
  t.same(ids(conditions.body), PROBLEMS, 'Condition: the restricted set');
  for (const url of [`${B}/Patient/pa`, `${B}/Patient?_id=pa`, `${B}/Procedure`, `${B}/Patient/pa/Procedure`]) {
    const r = await s.as(tok, 'GET', url);
    t.not(r.status, 400, `${url.slice(B.length)}: not a 400 (the grant names no parameter of the type)`);
    t.ok(r.status === 404 || r.status === 403 || (r.status === 200 && ids(r.body).length === 0), `${url.slice(B.length)}: nothing shown (${r.status})`);
  }
  const everything = await s.as(tok, 'GET', `${B}/Patient/pa/*?_count=100`);
  t.equal(everything.status, 200, 'a compartment search over every type');
  t.same(ids(everything.body), PROBLEMS, 'holds the Conditions only');
});
