// Wire types of the Platform API come from @latchkey/wire, the one definition the server validates
// with and documents in OpenAPI. Type-only: no schema code reaches the bundle.
export type {
  Admin,
  ApiCatalogue,
  ApiId,
  AuditEntry,
  AuditPage,
  BrowserTokenSettings,
  BrowserTokenSettingsUpdate,
  BrowserUse,
  Environment,
  Grants,
  Integration,
  IntegrationPage,
  IntegrationWithSecret,
  PermissionsResult,
  PermissionsUpdate,
  Problem as ProblemBody,
  ProblemCode,
  Secret,
  ServerMetadata,
  SessionInfo,
  Usage,
} from '@latchkey/wire';

import type { BROWSER_TOKEN_LIFETIME } from '@latchkey/wire';

/**
 * The bounds of an environment's browser-token lifetime, in seconds. Written out here so the bundle
 * takes no schema code; typed as the wire's constant, so a change there fails the console's type check.
 */
export const BROWSER_TOKEN_LIFETIME_BOUNDS: typeof BROWSER_TOKEN_LIFETIME = { min: 60, max: 3600, default: 900 };
