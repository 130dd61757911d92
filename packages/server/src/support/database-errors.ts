// Errors that mean "the database is not reachable right now", as opposed to a bug or bad data.
// Requests that need the database answer 503 for these, quickly, and the server recovers by itself
// when the database is back (pg reconnects per query; better-sqlite3 has no network to lose).

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up / shutting down)
  '53300', // too_many_connections
  '08000',
  '08003',
  '08006', // connection exceptions
  'SQLITE_BUSY', // a writer held the lock past busy_timeout
]);

/** True when `error` says the database is unavailable (connection refused, shut down, timed out). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code;
  if (code && UNAVAILABLE_CODES.has(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED/i.test(error.message);
}

/**
 * True when the database refused text it cannot store or compare: PostgreSQL takes no NUL character
 * (U+0000) in text (22021 character_not_in_repertoire, 22P05 untranslatable_character); SQLite does.
 * Such text comes from a client, so it is a bad request, not a server error.
 */
export function isUnstorableText(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '22021' || code === '22P05';
}

/**
 * True when PostgreSQL aborted a transaction only because another one got in its way (40P01
 * deadlock_detected, 40001 serialization_failure): running it again is correct and will succeed.
 */
export function isTransientConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}
