import type { Database } from '../storage/database.ts';
import { readHolderState } from '../storage/repositories/integrations.ts';
import type { ApiId } from './apis.ts';

/** The claims of a verified access token that tie it to its integration. */
export interface HolderClaims {
  client_id: string;
  environment?: unknown;
  iat: number;
  scope: string;
}

/** A token that still speaks for its integration, with the scopes it may use now; or why it does not. */
export type HolderCheck = { live: true; scopes: Set<string> } | { live: false; reason: string };

/**
 * Checks a verified token against its integration as the database has it now — for APIs where a
 * stale answer would hand out authority (the Platform API, which can create credentials). The token's
 * integration must still exist in the token's environment, be enabled, not have had its tokens revoked
 * since this token was issued, and still hold permission for `api`; the scopes left are those of the
 * token that the integration is still granted.
 */
export async function checkTokenHolder(database: Database, claims: HolderClaims, api: ApiId): Promise<HolderCheck> {
  const row = await readHolderState(database.db, claims.client_id, api);
  if (!row || row.environment_id !== claims.environment) return { live: false, reason: 'the integration this token was issued to no longer exists' };
  if (row.disabled === 1) return { live: false, reason: 'the integration this token was issued to is disabled' };
  if (claims.iat * 1000 < row.tokens_not_before) return { live: false, reason: 'this token has been revoked' };
  const granted = new Set((row.scopes ?? '').split(' ').filter((scope) => scope !== ''));
  const scopes = new Set(claims.scope.split(' ').filter((scope) => granted.has(scope)));
  if (scopes.size === 0) return { live: false, reason: 'the integration this token was issued to no longer holds the scopes it carries' };
  return { live: true, scopes };
}
