// Shared by the in-thread SQLite driver (database.ts) and the SQLite thread (sqlite-worker.ts). Why
// each rule: database.ts.

/** Statements cached before the cache is cleared and refilled. */
const MAX_STATEMENTS = 500;

/**
 * Wraps a better-sqlite3 `prepare` so that identical SQL reuses its prepared statement, and a plain
 * BEGIN becomes BEGIN IMMEDIATE.
 */
export function cachedPreparer<S>(prepare: (sql: string) => S): (sql: string) => S {
  const statements = new Map<string, S>();
  return (sql) => {
    const source = /^begin$/i.test(sql.trim()) ? 'begin immediate' : sql;
    let statement = statements.get(source);
    if (!statement) {
      if (statements.size >= MAX_STATEMENTS) statements.clear();
      statement = prepare(source);
      statements.set(source, statement);
    }
    return statement;
  };
}
