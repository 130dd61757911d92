import type { ApiCatalogue } from '../../../platform/apis.ts';
import type { Grants } from '../../../platform/integrations.ts';
import { parsePreset } from '../../options.ts';

/** Options that set permissions, shared by `create` and `set-permissions`. */
export interface PermissionOptions {
  preset?: string;
  scope?: string[] | undefined;
  platformScope?: string[] | undefined;
  clearPlatform?: boolean;
}

/**
 * Turns permission options into grants: `--preset` and `--scope` together set the Environment API
 * scopes (their union); `--platform-scope` sets the Platform API scopes. An API not mentioned is left out.
 */
export function grantsFromOptions(apis: ApiCatalogue, options: PermissionOptions, allowNone: boolean): Grants {
  const grants: Grants = {};
  const preset = parsePreset(options.preset, allowNone);
  const scope = options.scope ?? [];
  const platformScope = options.platformScope ?? [];
  if (preset !== undefined || scope.length > 0) grants['environment-api'] = [...(preset ? apis.presetScopes(preset) : []), ...scope];
  if (platformScope.length > 0) grants['platform-api'] = platformScope;
  if (options.clearPlatform) grants['platform-api'] = [];
  return grants;
}
