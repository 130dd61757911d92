import type { Kysely } from 'kysely';
import type { Schema } from '../schema.ts';
import { serializeFeedWrites } from '../change-log.ts';

// The revocations table: one row per revoked token (kind 'token', subject = jti), per integration
// ('client', subject = Client ID) and per deleted environment ('environment'). What a revocation
// covers and when one supersedes another is decided in platform/revocations.ts; the feed resource
// servers follow reads these rows by seq.

/** One revocation row as read by the feed. */
export interface RevocationRow {
  seq: number;
  kind: string;
  subject: string;
  not_before: number | null;
  expires_at: number;
}

/** A revocation row as written (times in ms). */
export interface NewRevocation {
  kind: 'token' | 'client' | 'environment';
  subject: string;
  /** The integration a revoked token belonged to ('token' rows), to bound how many one client can add. */
  clientId: string | null;
  notBefore: number | null;
  expiresAt: number;
  createdAt: number;
}

/**
 * Inserts a revocation row in the caller's transaction, after taking the feed lock (its seq must
 * commit in order, see serializeFeedWrites). With `supersede`, earlier rows of the same kind and
 * subject are deleted first.
 */
export async function insertRevocation(trx: Kysely<Schema>, revocation: NewRevocation, supersede: boolean): Promise<void> {
  await serializeFeedWrites(trx);
  if (supersede) await trx.deleteFrom('revocations').where('kind', '=', revocation.kind).where('subject', '=', revocation.subject).execute();
  await trx
    .insertInto('revocations')
    .values({ kind: revocation.kind, subject: revocation.subject, client_id: revocation.clientId, not_before: revocation.notBefore, expires_at: revocation.expiresAt, created_at: revocation.createdAt })
    .execute();
}

/** Whether a single token (by jti) is revoked already. */
export async function isTokenRevocationStored(db: Kysely<Schema>, jti: string): Promise<boolean> {
  const row = await db.selectFrom('revocations').select('seq').where('kind', '=', 'token').where('subject', '=', jti).executeTakeFirst();
  return row !== undefined;
}

/** Live single-token revocations of one client (`now` in ms). */
export async function countLiveRevocationsOfClient(db: Kysely<Schema>, clientId: string, now: number): Promise<number> {
  const row = await db
    .selectFrom('revocations')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('client_id', '=', clientId)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}

/** The latest not-before (ms) of a subject's revocations of one kind, 0 when none. */
export async function latestRevocationNotBefore(db: Kysely<Schema>, kind: 'client' | 'environment', subject: string): Promise<number> {
  const row = await db
    .selectFrom('revocations')
    .select((eb) => eb.fn.max('not_before').as('not_before'))
    .where('kind', '=', kind)
    .where('subject', '=', subject)
    .executeTakeFirst();
  return Number(row?.not_before ?? 0);
}

/** Revocation rows after `seq`, oldest first, at most `limit`. */
export async function readRevocationRowsAfter(db: Kysely<Schema>, seq: number, limit: number): Promise<RevocationRow[]> {
  const rows = await db.selectFrom('revocations').select(['seq', 'kind', 'subject', 'not_before', 'expires_at']).where('seq', '>', seq).orderBy('seq').limit(limit).execute();
  return rows.map((row) => ({ ...row, seq: Number(row.seq) }));
}

/** Deletes revocations whose tokens have all expired (`now` in ms). */
export async function deleteExpiredRevocations(db: Kysely<Schema>, now: number): Promise<void> {
  await db.deleteFrom('revocations').where('expires_at', '<', now).execute();
}
