import { createHash, randomBytes } from 'node:crypto';
import type { Database } from '../storage/database.ts';
import type { Clock } from '../support/clock.ts';

/** Session lifetimes: idle expiry (no request for this long) and absolute expiry (since sign-in). */
export interface SessionPolicy {
  idleSeconds: number;
  absoluteSeconds: number;
}

/** A live console session. */
export interface Session {
  adminId: string;
  csrfToken: string;
  expiresAt: number;
  idleExpiresAt: number;
}

// The cookie carries 256 random bits; the table stores only their SHA-256, so a database dump
// holds no usable session.
const hashSessionId = (id: string) => createHash('sha256').update(id).digest('hex');

/** Starts a session; returns the cookie value (shown to the browser only) and its CSRF token. */
export async function createSession(database: Database, clock: Clock, policy: SessionPolicy, adminId: string): Promise<{ cookieValue: string; session: Session }> {
  const cookieValue = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const now = clock.now();
  const expiresAt = now + policy.absoluteSeconds * 1000;
  await database.db.insertInto('admin_sessions').values({ id_hash: hashSessionId(cookieValue), admin_id: adminId, csrf_token: csrfToken, created_at: now, last_seen_at: now, expires_at: expiresAt }).execute();
  return { cookieValue, session: { adminId, csrfToken, expiresAt, idleExpiresAt: now + policy.idleSeconds * 1000 } };
}

/** The session for a cookie value if it is neither idle-expired nor past its absolute expiry; refreshes its idle timer. */
export async function loadSession(database: Database, clock: Clock, policy: SessionPolicy, cookieValue: string): Promise<Session | null> {
  const idHash = hashSessionId(cookieValue);
  const row = await database.db.selectFrom('admin_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
  const now = clock.now();
  if (!row) return null;
  if (row.expires_at <= now || row.last_seen_at + policy.idleSeconds * 1000 <= now) {
    await database.db.deleteFrom('admin_sessions').where('id_hash', '=', idHash).execute();
    return null;
  }
  // Write the idle timer at most once a minute (or a quarter of the idle timeout, if shorter):
  // reading the console must not mean a write per request, and a session in use must not lapse.
  if (now - row.last_seen_at > Math.min(60_000, (policy.idleSeconds * 1000) / 4)) await database.db.updateTable('admin_sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute();
  const lastSeen = now - row.last_seen_at > Math.min(60_000, (policy.idleSeconds * 1000) / 4) ? now : row.last_seen_at;
  return { adminId: row.admin_id, csrfToken: row.csrf_token, expiresAt: row.expires_at, idleExpiresAt: Math.min(row.expires_at, lastSeen + policy.idleSeconds * 1000) };
}

/** Ends a session (sign-out). */
export async function deleteSession(database: Database, cookieValue: string): Promise<void> {
  await database.db.deleteFrom('admin_sessions').where('id_hash', '=', hashSessionId(cookieValue)).execute();
}

/** Ends every session of an admin but the one with this cookie value (after a password change). */
export async function deleteOtherSessions(database: Database, adminId: string, keepCookieValue: string): Promise<void> {
  await database.db.deleteFrom('admin_sessions').where('admin_id', '=', adminId).where('id_hash', '!=', hashSessionId(keepCookieValue)).execute();
}

/** Removes expired sessions (maintenance). */
export async function pruneSessions(database: Database, clock: Clock, policy: SessionPolicy): Promise<void> {
  const now = clock.now();
  await database.db
    .deleteFrom('admin_sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', now - policy.idleSeconds * 1000)]))
    .execute();
}
