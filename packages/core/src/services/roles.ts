import type { AppRole } from '../app/types.js';
import { TipError, TipErrorCodes } from '../errors/TipError.js';
import type { ServiceDefinition, ServiceRole } from './types.js';

/** The roles of {@link ServiceDefinition.runsOn} when it is not given. */
export const DEFAULT_SERVICE_ROLES: readonly ServiceRole[] = ['worker'];

const SERVICE_ROLES: readonly string[] = ['worker', 'web'];

/**
 * The services a process of `role` runs: every one for `'all'`, otherwise those whose `runsOn`
 * (default `['worker']`) lists the role. Checked first, so a typo (`runsOn: ['webs']`) fails the
 * start instead of silently never running the service.
 * @throws TIP_CONFIG_INVALID naming the service, its plugin and the bad role
 * @internal
 */
export function servicesForRole<S extends { def: ServiceDefinition; plugin?: string }>(services: readonly S[], role: AppRole): S[] {
  for (const { def, plugin } of services) {
    const runsOn: unknown = def.runsOn;
    if (runsOn === undefined) continue;
    if (!Array.isArray(runsOn) || runsOn.some((r) => !SERVICE_ROLES.includes(r as string))) {
      const owner = plugin ? ` of plugin ${plugin}` : '';
      throw new TipError(TipErrorCodes.CONFIG_INVALID, `service "${def.id}"${owner}: runsOn must list roles out of worker, web (got ${JSON.stringify(runsOn)})`, {
        details: { service: def.id, plugin, runsOn },
      });
    }
  }
  if (role === 'all') return [...services];
  return services.filter(({ def }) => (def.runsOn ?? DEFAULT_SERVICE_ROLES).includes(role));
}
