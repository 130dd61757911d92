import type { RevocationEntry } from '@latchkey/resource';
import type { Database, Executor } from '../storage/database.ts';
import type { Clock } from '../support/clock.ts';
import { writeWithChanges, type ChangeLog, type ChangeWriterDeps } from '../storage/change-log.ts';
import * as rows from '../storage/repositories/revocations.ts';
import { readSetting, writeSetting } from '../storage/repositories/settings.ts';
import { advanceTokensNotBefore, findIntegrationByClientId, readTokensNotBefore } from '../storage/repositories/integrations.ts';
import type { ActionContext } from './audit.ts';

// Revocation: how authority already handed out is taken back (docs/revocation.md).
//
// Latchkey's access tokens are self-contained JWTs, so a revocation is a fact every verifier must
// learn: "this jti", "every token of this integration issued before T", "every token of this
// environment issued before T". Each is a row of `revocations`, which the in-memory list of every
// server (platform/revocation-list.ts) and the feed resource servers follow read by seq. A row lives
// only as long as the tokens it covers, so the feed stays as small as the set of live revoked tokens.

/** One revocation as resource servers receive it (times are NumericDate seconds, as in JWTs). */
export type { RevocationEntry };

/** A revocation with its place in the feed. */
export interface SequencedRevocation {
  seq: number;
  entry: RevocationEntry;
}

const LONGEST_TTL_SETTING = 'longest_token_ttl_seconds';

/**
 * Remembers the longest token lifetime this installation has used (LATCHKEY_TOKEN_TTL may be
 * lowered later while older, longer-lived tokens are still out there), and returns it. A revocation
 * that covers "every token issued before T" must outlive every such token.
 */
export async function recordTokenLifetime(database: Database, ttlSeconds: number): Promise<number> {
  const longest = await readLongestTokenLifetime(database.db, ttlSeconds);
  if (longest === ttlSeconds) await writeSetting(database.db, LONGEST_TTL_SETTING, String(ttlSeconds));
  return longest;
}

async function readLongestTokenLifetime(db: Executor, configuredSeconds: number): Promise<number> {
  const stored = Number((await readSetting(db, LONGEST_TTL_SETTING)) ?? 0);
  return Math.max(configuredSeconds, Number.isFinite(stored) ? stored : 0);
}

/**
 * The "not before" of a revocation made at `now` (ms): the next whole second. Every token issued up
 * to `now` has `iat` ≤ floor(now) < it, and the token endpoint issues later tokens with
 * `iat` ≥ it (mintAccessToken), so `iat < notBefore` refuses exactly the tokens issued before.
 */
export function notBeforeAfter(now: number): number {
  return Math.floor(now / 1000) + 1;
}

/**
 * Waits, before a revocation of this integration, until its previous one's not-before second has
 * begun. Tokens issued right after that revocation carry `iat` = its not-before; a second revocation
 * in the same second needs a later not-before to catch them, and this keeps that later value at the
 * next whole second instead of drifting ahead of the clock. Only repeated revocations within one
 * second wait (at most a second); revokeTokensOfIntegration stays exact without it under races.
 */
export async function waitForRevocationSecond(deps: { database: Database; clock: Clock }, clientId: string): Promise<void> {
  const wait = ((await readTokensNotBefore(deps.database.db, clientId)) ?? 0) - deps.clock.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 1000)));
}

/**
 * Inserts one revocation row and its change notice (other instances then read it by seq). A client or
 * environment entry supersedes the earlier ones for the same subject — a later not-before covers
 * every token they covered, for at least as long — so those rows are dropped: however often an
 * integration's tokens are revoked, the feed holds one entry for it.
 */
async function insertRevocation(trx: Executor, log: ChangeLog, entry: RevocationEntry, now: number, clientId: string | null = null): Promise<void> {
  const subject = entry.type === 'token' ? entry.jti : entry.type === 'client' ? entry.clientId : entry.environmentId;
  await rows.insertRevocation(
    trx,
    { kind: entry.type, subject, clientId, notBefore: entry.type === 'token' ? null : entry.notBefore * 1000, expiresAt: entry.expiresAt * 1000, createdAt: now },
    entry.type !== 'token',
  );
  await log.change('revocation', subject);
}

/**
 * Revokes every token of one integration issued up to now, inside the caller's transaction: moves its
 * `tokens_not_before` and writes a client entry. Returns the not-before (s). The new value is at
 * least the next second, and always later than the previous one — tokens issued since the previous
 * revocation carry that one as their `iat` — in one statement, so concurrent revocations stay exact.
 */
export async function revokeTokensOfIntegration(
  trx: Executor,
  log: ChangeLog,
  integration: { id: string; clientId: string },
  now: number,
  ttlSeconds: number,
): Promise<number> {
  const next = notBeforeAfter(now) * 1000;
  const notBefore = Math.floor((await advanceTokensNotBefore(trx, integration.id, next)) / 1000);
  const lifetime = await readLongestTokenLifetime(trx, ttlSeconds);
  await insertRevocation(trx, log, { type: 'client', clientId: integration.clientId, notBefore, expiresAt: notBefore + lifetime }, now);
  await log.change('integration', integration.clientId);
  return notBefore;
}

/** Revokes every token of an environment issued up to now (it is being deleted), inside the caller's transaction. */
export async function revokeTokensOfEnvironment(trx: Executor, log: ChangeLog, environmentId: string, now: number, ttlSeconds: number): Promise<void> {
  const notBefore = notBeforeAfter(now);
  const lifetime = await readLongestTokenLifetime(trx, ttlSeconds);
  await insertRevocation(trx, log, { type: 'environment', environmentId, notBefore, expiresAt: notBefore + lifetime }, now);
}

/** Live single-token revocations one client may have before its next one revokes all its tokens instead. */
export const TOKEN_REVOCATIONS_PER_CLIENT = 100;

/**
 * Revokes one token by its `jti` until it expires (RFC 7009), inside the caller's transaction. No
 * instance hands it out again: each forgets it from memory when it reads the revocation, and a
 * revoked token stored in the shared token cache is replaced rather than adopted (oauth/token-cache.ts).
 * Revoking it twice is a no-op.
 *
 * Every resource server holds every live revocation in memory, so one client must not be able to grow
 * the feed without bound (revoke, get a new token, revoke, …). Past TOKEN_REVOCATIONS_PER_CLIENT live
 * single-token revocations, the next one revokes every token of the client issued so far instead — one
 * entry that covers them all, as RFC 7009 §2.1 allows ("may cause the revocation of related tokens").
 */
export async function revokeSingleToken(
  trx: Executor,
  log: ChangeLog,
  token: { jti: string; expiresAt: number; clientId: string },
  now: number,
  ttlSeconds: number,
): Promise<'revoked' | 'already' | 'all-of-client'> {
  if (await rows.isTokenRevocationStored(trx, token.jti)) return 'already';
  if ((await rows.countLiveRevocationsOfClient(trx, token.clientId, now)) >= TOKEN_REVOCATIONS_PER_CLIENT) {
    const integration = await findIntegrationByClientId(trx, token.clientId);
    if (integration) {
      // The single-token rows stay until they expire: deleting them would let the count, and the
      // feed's subscribers' memory, grow again by another hundred on every round.
      await revokeTokensOfIntegration(trx, log, { id: integration.id, clientId: token.clientId }, now, ttlSeconds);
      return 'all-of-client';
    }
  }
  await insertRevocation(trx, log, { type: 'token', jti: token.jti, expiresAt: token.expiresAt }, now, token.clientId);
  return 'revoked';
}

/**
 * Revokes one access token (RFC 7009), audited: every API that follows the revocation feed refuses it
 * from now until it expires, and no instance hands it out from the token cache again.
 */
export async function revokeAccessToken(
  deps: ChangeWriterDeps & { clock: Clock; tokenTtlSeconds: number },
  token: { jti: string; exp: number; clientId: string; environmentId: string },
  context: ActionContext,
): Promise<void> {
  const now = deps.clock.now();
  await writeWithChanges(deps, now, async (trx, log) => {
    const outcome = await revokeSingleToken(trx, log, { jti: token.jti, expiresAt: token.exp, clientId: token.clientId }, now, deps.tokenTtlSeconds);
    if (outcome === 'already') return;
    await log.audit(context, {
      at: now,
      environmentId: token.environmentId,
      action: 'token.revoke',
      targetType: 'token',
      targetId: token.jti,
      details: { clientId: token.clientId, expiresAt: new Date(token.exp * 1000).toISOString(), ...(outcome === 'all-of-client' ? { allTokensOfClient: true } : {}) },
    });
  });
}

function toEntry(row: { kind: string; subject: string; not_before: number | null; expires_at: number }): RevocationEntry | undefined {
  const expiresAt = Math.ceil(row.expires_at / 1000);
  const notBefore = Math.floor((row.not_before ?? 0) / 1000);
  switch (row.kind) {
    case 'token':
      return { type: 'token', jti: row.subject, expiresAt };
    case 'client':
      return { type: 'client', clientId: row.subject, notBefore, expiresAt };
    case 'environment':
      return { type: 'environment', environmentId: row.subject, notBefore, expiresAt };
    default:
      return undefined;
  }
}

/**
 * Revocations written after `seq`, oldest first, at most `limit` rows; expired ones included (readers
 * prune). `lastSeq` is the cursor to continue from (it also passes rows of a kind this version does
 * not know, written by a newer one).
 */
export async function readRevocationsAfter(database: Database, seq: number, limit = 1000): Promise<{ revocations: SequencedRevocation[]; lastSeq: number; full: boolean }> {
  const found = await rows.readRevocationRowsAfter(database.db, seq, limit);
  const revocations: SequencedRevocation[] = [];
  let lastSeq = seq;
  for (const row of found) {
    lastSeq = row.seq;
    const entry = toEntry(row);
    if (entry) revocations.push({ seq: lastSeq, entry });
  }
  return { revocations, lastSeq, full: found.length === limit };
}

/** Deletes revocations whose tokens have all expired (`now` in ms). */
export async function pruneRevocations(database: Database, now: number): Promise<void> {
  await rows.deleteExpiredRevocations(database.db, now);
}
