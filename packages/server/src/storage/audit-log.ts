import { sql, type Kysely } from 'kysely';
import type { Schema } from './schema.ts';
import type { Database } from './database.ts';
import { newId } from '../support/ids.ts';
import { MultiRowInsert } from './multi-row-insert.ts';

// The audit log's table. Its vocabulary (who acts, what an entry holds) is defined here because
// storage is the lowest layer that needs it; platform/audit.ts is how the rest of the code names it.
// What an entry says (its action and details) is decided by the domain code that writes it.

/** Who did something. */
export type Actor =
  | { type: 'admin'; id: string; email: string }
  | { type: 'integration'; id: string; environmentId: string }
  | { type: 'cli'; id: string }
  | { type: 'system'; id: string };

/** Who acts and from where; passed to every domain function that changes something. */
export interface ActionContext {
  actor: Actor;
  ip?: string | undefined;
}

/** The context of changes the server makes by itself (bootstrap, maintenance). */
export const SYSTEM_CONTEXT: ActionContext = { actor: { type: 'system', id: 'latchkey' } };

/** One audit entry as written. */
export interface AuditEntryInput {
  at: number;
  environmentId: string | null;
  action: string;
  targetType: string;
  targetId: string;
  outcome?: string;
  /** What changed. Callers pass names and scopes, never secrets, hashes or tokens. */
  details?: Record<string, unknown>;
}

/** One audit entry as read. */
export interface AuditEntry {
  id: string;
  seq: number;
  at: number;
  environmentId: string | null;
  actor: { type: string; id: string };
  action: string;
  target: { type: string; id: string };
  ip: string | null;
  outcome: string;
  details: Record<string, unknown>;
}

// Defence in depth: keys whose values must never reach the audit log, whatever a caller passes.
// Exact names, so harmless identifiers such as secretId survive.
const FORBIDDEN_DETAIL_KEYS = new Set(['secret', 'clientSecret', 'client_secret', 'secretHash', 'secret_hash', 'hash', 'token', 'accessToken', 'access_token', 'password', 'passwordHash', 'password_hash']);

function scrub(details: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details).filter(([key]) => !FORBIDDEN_DETAIL_KEYS.has(key)));
}

/**
 * Appends an audit entry with `db` (a transaction, so the entry and the change commit together; or the
 * database, for entries that record no change, such as a sign-in).
 */
export async function appendAudit(trx: Kysely<Schema>, context: ActionContext, entry: AuditEntryInput): Promise<void> {
  await trx
    .insertInto('audit_log')
    .values(toRow(context, entry))
    .execute();
}

function toRow(context: ActionContext, entry: AuditEntryInput) {
  return {
    id: newId('aud', entry.at),
    at: entry.at,
    environment_id: entry.environmentId,
    actor_type: context.actor.type,
    actor_id: context.actor.type === 'admin' ? context.actor.email : context.actor.id,
    action: entry.action,
    target_type: entry.targetType,
    target_id: entry.targetId,
    ip: context.ip ?? null,
    outcome: entry.outcome ?? 'success',
    details: JSON.stringify(scrub(entry.details ?? {})),
  };
}

const AUDIT_COLUMNS = ['id', 'at', 'environment_id', 'actor_type', 'actor_id', 'action', 'target_type', 'target_id', 'ip', 'outcome', 'details'] as const;
// One compiled statement per batch size and database (storage/multi-row-insert.ts).
const batchInserts = new WeakMap<Kysely<Schema>, MultiRowInsert<'audit_log', (typeof AUDIT_COLUMNS)[number]>>();

/** Appends many entries at once (the token endpoint's buffered entries). */
export async function appendAuditBatch(db: Kysely<Schema>, entries: { context: ActionContext; entry: AuditEntryInput }[]): Promise<void> {
  let insert = batchInserts.get(db);
  if (!insert) batchInserts.set(db, (insert = new MultiRowInsert(db, 'audit_log', AUDIT_COLUMNS)));
  // Chunks keep each statement under SQLite's bound-parameter limit.
  for (let i = 0; i < entries.length; i += 500) {
    await db.executeQuery(insert.compile(entries.slice(i, i + 500).map((e) => toRow(e.context, e.entry))));
  }
}

/** Filters for reading the audit log. */
export interface AuditQuery {
  environmentId?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
  /** Return entries older than this sequence number (the previous page's `nextCursor`). */
  before?: number | undefined;
  limit: number;
}

/** Reads the audit log newest first, filtered and paginated by cursor. */
export async function queryAudit(database: Database, query: AuditQuery): Promise<{ entries: AuditEntry[]; nextCursor: number | null }> {
  let q = database.db.selectFrom('audit_log').selectAll();
  if (query.environmentId !== undefined) q = q.where('environment_id', '=', query.environmentId);
  if (query.actor !== undefined) q = q.where('actor_id', '=', query.actor);
  if (query.action !== undefined) {
    // A trailing '*' means "starts with": compared with substr so it is exact (case and '_') in both dialects.
    const prefix = query.action.endsWith('*') ? query.action.slice(0, -1) : null;
    q = prefix === null ? q.where('action', '=', query.action) : q.where(sql<string>`substr(action, 1, ${prefix.length})`, '=', prefix);
  }
  if (query.from !== undefined) q = q.where('at', '>=', query.from);
  if (query.to !== undefined) q = q.where('at', '<', query.to);
  if (query.before !== undefined) q = q.where('seq', '<', query.before);
  const rows = await q.orderBy('seq', 'desc').limit(query.limit + 1).execute();
  const page = rows.slice(0, query.limit);
  return {
    entries: page.map((row) => ({
      id: row.id,
      seq: Number(row.seq),
      at: row.at,
      environmentId: row.environment_id,
      actor: { type: row.actor_type, id: row.actor_id },
      action: row.action,
      target: { type: row.target_type, id: row.target_id },
      ip: row.ip,
      outcome: row.outcome,
      details: JSON.parse(row.details) as Record<string, unknown>,
    })),
    nextCursor: rows.length > query.limit ? Number(page[page.length - 1]!.seq) : null,
  };
}
