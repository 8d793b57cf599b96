// The access policy behind SMART user/ scopes. SMART App Launch leaves "what the current user can
// access" to the server; in Chronic Care Management that is the user's own patient panel:
// https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
//
// The token names its user in the `fhirUser` claim. What the user reaches is read from the
// current data on every request, so access follows the care team as it changes:
//  - Practitioner / PractitionerRole: the Patient compartments of the patients they care for, i.e.
//    patients whose Patient.generalPractitioner is the user, or who are the subject of an active
//    CareTeam with the user as a current participant (CareTeam.participant.member, period covering
//    now). A Practitioner counts through its current PractitionerRoles too. These are the two places R4 records "this practitioner is responsible for this patient"
//    as a relation (both are in the R4 Practitioner CompartmentDefinition); a Practitioner also
//    reads its own Practitioner compartment (e.g. Encounters it took part in). CarePlan.author is
//    not used: R4 has no search parameter for it, and a CCM care plan is owned by its care team.
//  - Patient: that patient's compartment, as patient/ scopes.
//  - RelatedPerson: the compartment of RelatedPerson.patient (while the RelatedPerson is active).
// A user/ token without a usable fhirUser reaches nothing. USER_ACCESS=all turns this off.
import type { CareTeam, Period, PractitionerRole, RelatedPerson } from 'fhir/r4.js';
import { dateRange } from '../search/date-range.js';
import type { StoreTx } from '../store/port.js';

export type UserAccessMode = 'care-team' | 'all';

/** Whose data a confined grant reaches: Patient compartments, plus (reads) a Practitioner compartment. */
export interface Confinement {
  patients: ReadonlySet<string>;
  /** Practitioner id whose own compartment is readable (the user itself). */
  practitioner?: string;
  /** References of a caring user (itself, a Practitioner's active roles): it may register a new Patient naming one as general practitioner. */
  careRefs?: readonly string[];
}

const USER_TYPES = ['Practitioner', 'PractitionerRole', 'Patient', 'RelatedPerson'] as const;
type UserType = (typeof USER_TYPES)[number];

/** `Type/id` of a fhirUser claim (relative, or absolute under this server's base URL); undefined when unusable. */
export function fhirUserRef(claim: string | undefined, baseUrl: string): { type: UserType; id: string } | undefined {
  if (!claim) return undefined;
  const rel = claim.startsWith(baseUrl + '/') ? claim.slice(baseUrl.length + 1) : claim;
  const m = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(rel);
  if (!m || !(USER_TYPES as readonly string[]).includes(m[1])) return undefined;
  return { type: m[1] as UserType, id: m[2] };
}

/** Care team statuses under which participants count (absent status counts: the team exists). */
const ACTIVE_TEAM = new Set([undefined, 'active']);

type Reader = { find: StoreTx['find']; read: StoreTx['read'] };

/** Reference params that relate a patient to a caring user, by the resource type they are on. */
const CARE_LINKS: Array<{ type: 'Patient' | 'CareTeam'; param: string }> = [
  { type: 'Patient', param: 'general-practitioner' },
  { type: 'CareTeam', param: 'participant' },
];

/** The confinement of a user/ token in care-team mode, from the current data; undefined when fhirUser names no usable user. */
export async function userConfinement(fhirUser: string | undefined, baseUrl: string, reader: Reader, now = Date.now()): Promise<Confinement | undefined> {
  const user = fhirUserRef(fhirUser, baseUrl);
  if (!user) return undefined;
  if (user.type === 'Patient') return { patients: new Set([user.id]) };
  if (user.type === 'RelatedPerson') {
    const rp = (await reader.read('RelatedPerson', user.id))?.resource as RelatedPerson | undefined;
    const patient = rp && rp.active !== false ? /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(rp.patient?.reference ?? '')?.[1] : undefined;
    return { patients: new Set(patient ? [patient] : []) };
  }
  const ref = `${user.type}/${user.id}`;
  // A Practitioner acts through its roles too: care teams often list a PractitionerRole.
  const refs = [ref];
  if (user.type === 'Practitioner') {
    const roles = await reader.find({ types: ['PractitionerRole'], filter: { 'idx.ref': { $elemMatch: { p: 'practitioner', r: ref } } } });
    for (const row of roles) if (isCurrentRole(row.resource as PractitionerRole | undefined, now)) refs.push(`PractitionerRole/${row.id}`);
  }
  const patients = new Set<string>();
  for (const link of CARE_LINKS) {
    const rows = await reader.find({ types: [link.type], filter: { 'idx.ref': { $elemMatch: { p: link.param, r: refs.length === 1 ? ref : { $in: refs } } } } });
    for (const row of rows) {
      // A Patient counts by its id alone (its content is never parsed here).
      if (row.type === 'Patient') {
        patients.add(row.id);
        continue;
      }
      const r = row.resource;
      if (r && isCurrentMember(r as CareTeam, refs, now)) {
        const p = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec((r as CareTeam).subject?.reference ?? '')?.[1];
        if (p) patients.add(p);
      }
    }
  }
  return { patients, practitioner: user.type === 'Practitioner' ? user.id : undefined, careRefs: refs };
}

/** The care team is active and one of `refs` is among its participants now. */
function isCurrentMember(team: CareTeam, refs: readonly string[], now: number): boolean {
  if (!ACTIVE_TEAM.has(team.status) || !covers(team.period, now)) return false;
  return (team.participant ?? []).some((p) => refs.includes(p.member?.reference ?? '') && covers(p.period, now));
}

/** The role is not marked inactive and its period covers now. */
function isCurrentRole(role: PractitionerRole | undefined, now: number): boolean {
  return role !== undefined && role.active !== false && covers(role.period, now);
}

/** No period, or one that has started and not ended (read as date search reads them: the start from its first millisecond, the end to its last; an unreadable bound does not bound). */
function covers(period: Period | undefined, now: number): boolean {
  if (period?.start && (dateRange(period.start)?.[0] ?? Number.NEGATIVE_INFINITY) > now) return false;
  return !(period?.end && (dateRange(period.end)?.[1] ?? Number.POSITIVE_INFINITY) < now);
}
