import type { SearchService } from '../rest/services.js';
import type { ResourceStore } from '../store/port.js';
import type { AuthContext } from './context.js';
import { PatientCompartment } from './patient-compartment.js';
import { AccessPolicy, seesEverything } from './policy.js';
import { userConfinement, type UserAccessMode } from './user-access.js';

/**
 * One AccessPolicy per verified token (per request), shared by the interaction checks
 * (src/auth/security.ts) and the guarded store. A user/ token's reach is read from the current
 * data once per request, so it follows care team changes without any cache to invalidate.
 */
export class Policies {
  private readonly cache = new WeakMap<AuthContext, Promise<AccessPolicy>>();
  private readonly comp = new PatientCompartment();

  constructor(
    private readonly raw: Pick<ResourceStore, 'find' | 'read'>,
    private readonly search: SearchService,
    readonly userMode: UserAccessMode,
    private readonly baseUrl: string,
  ) {}

  /** Whether the token reads everything unnarrowed (decided without loading anything). */
  seesEverything(ctx: AuthContext): boolean {
    return seesEverything(ctx.grants, this.userMode);
  }

  for(ctx: AuthContext): Promise<AccessPolicy> {
    let p = this.cache.get(ctx);
    if (!p) this.cache.set(ctx, (p = this.load(ctx)));
    return p;
  }

  private async load(ctx: AuthContext): Promise<AccessPolicy> {
    const needsUser = this.userMode === 'care-team' && ctx.grants.some((g) => g.context === 'user');
    const confinement = needsUser ? await userConfinement(ctx.fhirUser, this.baseUrl, this.raw) : undefined;
    return new AccessPolicy(ctx, this.comp, this.search, { mode: this.userMode, confinement });
  }
}
