import type { Static } from '@sinclair/typebox';
import type { AdminDto, EnvironmentDto, Grants as GrantsSchema, IntegrationDto, Problem, SecretDto } from '../../server/src/http/routes/platform/schemas.ts';

// Wire types of the Platform API. The shapes exported by the server's schemas.ts are imported (type
// only: nothing of the server reaches the bundle); the few response shapes the server declares
// inline in a route file are written out here and follow that route.

/** An environment as the Platform API returns it. */
export type Environment = Static<typeof EnvironmentDto>;
/** An integration (never its secret). */
export type Integration = Static<typeof IntegrationDto>;
/** One secret of an integration: dates and status, never the secret. */
export type Secret = Static<typeof SecretDto>;
/** The signed-in console user. */
export type Admin = Static<typeof AdminDto>;
/** Scopes granted per API id. */
export type Grants = Static<typeof GrantsSchema>;
/** RFC 9457 problem details with Latchkey's stable `code`. */
export type ProblemBody = Static<typeof Problem>;
/** The API ids grants are keyed by. */
export type ApiId = keyof Grants;

/** GET/POST /api/v1/session (routes/platform/session.ts). */
export interface SessionInfo {
  admin: Admin;
  csrfToken: string;
  expiresAt: string;
  idleExpiresAt: string;
}

/** GET /api/v1/environments/{env}/integrations. */
export interface IntegrationPage {
  integrations: Integration[];
  nextCursor: string | null;
}

/** POST …/integrations and POST …/secrets: the secret is in this response and nowhere else. */
export interface IntegrationWithSecret {
  integration: Integration;
  clientSecret: string;
}

/** GET/PUT …/permissions (routes/platform/credentials.ts). */
export interface PermissionsResult {
  grants: Grants;
  grantVersion: number;
  changed?: { added: string[]; removed: string[] };
  note?: string;
}

/** GET /api/v1/apis (routes/platform/activity.ts). */
export interface ApiCatalogue {
  apis: { id: ApiId; name: string; audience: string; scopes: { name: string; description: string }[] }[];
  presets: Record<string, string[]>;
}

/** GET …/usage. */
export interface Usage {
  lastUsedAt: string | null;
  days: { day: string; tokensMinted: number; tokensCached: number; failures: number }[];
}

/** One audit log entry. */
export interface AuditEntry {
  id: string;
  at: string;
  environmentId: string | null;
  actor: { type: string; id: string };
  action: string;
  target: { type: string; id: string };
  ip: string | null;
  outcome: string;
  details: Record<string, unknown>;
}

/** GET …/audit. */
export interface AuditPage {
  entries: AuditEntry[];
  nextCursor: number | null;
}

/** The parts of RFC 8414 metadata the console uses. */
export interface ServerMetadata {
  issuer: string;
  token_endpoint: string;
}
