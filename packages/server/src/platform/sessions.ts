import { createHash, randomBytes } from 'node:crypto';
import type { Database } from '../storage/database.ts';
import { deleteLapsedSessions, deleteSessionRow, findSession, insertSession, touchSession } from '../storage/repositories/sessions.ts';
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
  await insertSession(database.db, { id_hash: hashSessionId(cookieValue), admin_id: adminId, csrf_token: csrfToken, created_at: now, last_seen_at: now, expires_at: expiresAt });
  return { cookieValue, session: { adminId, csrfToken, expiresAt, idleExpiresAt: now + policy.idleSeconds * 1000 } };
}

/** The session for a cookie value if it is neither idle-expired nor past its absolute expiry; refreshes its idle timer. */
export async function loadSession(database: Database, clock: Clock, policy: SessionPolicy, cookieValue: string): Promise<Session | null> {
  const idHash = hashSessionId(cookieValue);
  const row = await findSession(database.db, idHash);
  const now = clock.now();
  if (!row) return null;
  if (row.expires_at <= now || row.last_seen_at + policy.idleSeconds * 1000 <= now) {
    await deleteSessionRow(database.db, idHash);
    return null;
  }
  // Write the idle timer at most once a minute (or a quarter of the idle timeout, if shorter):
  // reading the console must not mean a write per request, and a session in use must not lapse.
  if (now - row.last_seen_at > Math.min(60_000, (policy.idleSeconds * 1000) / 4)) await touchSession(database.db, idHash, now);
  const lastSeen = now - row.last_seen_at > Math.min(60_000, (policy.idleSeconds * 1000) / 4) ? now : row.last_seen_at;
  return { adminId: row.admin_id, csrfToken: row.csrf_token, expiresAt: row.expires_at, idleExpiresAt: Math.min(row.expires_at, lastSeen + policy.idleSeconds * 1000) };
}

/** Ends a session (sign-out). */
export async function deleteSession(database: Database, cookieValue: string): Promise<void> {
  await deleteSessionRow(database.db, hashSessionId(cookieValue));
}

/** Removes expired sessions (maintenance). */
export async function pruneSessions(database: Database, clock: Clock, policy: SessionPolicy): Promise<void> {
  const now = clock.now();
  await deleteLapsedSessions(database.db, now, now - policy.idleSeconds * 1000);
}
