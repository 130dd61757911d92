import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import type pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { Schema } from './schema.ts';
import { migrateToLatest } from './migrations.ts';
import { SqliteThreadDialect } from './sqlite-thread-dialect.ts';
import { cachedPreparer } from './statement-cache.ts';

/** Which SQL engine a connection talks to; a branch on it always carries a comment saying why. */
export type Dialect = 'sqlite' | 'postgres';

/**
 * What a repository function runs on: the database's Kysely handle, or the transaction of a write
 * (writeWithChanges). Domain code passes it along without writing SQL of its own.
 */
export type Executor = Kysely<Schema>;

/** An open database: the Kysely handle plus what callers need to know about it. */
export interface Database {
  db: Kysely<Schema>;
  dialect: Dialect;
  /** The PostgreSQL pool, for pool metrics; absent for SQLite. */
  pool?: pg.Pool;
  close(): Promise<void>;
}

const INT8_OID = 20;

/** Checks the database answers (for /readyz), within `timeoutMs`. */
export async function pingDatabase(database: Database, timeoutMs = 1000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const ping = sql`select 1`.execute(database.db).then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens `sqlite:<path>` or `postgres://…`, and (unless told not to) migrates it to the latest schema. */
export async function openDatabase(url: string, options: { migrate?: boolean; poolSize?: number; sqliteOnThread?: boolean } = {}): Promise<Database> {
  const database = url.startsWith('sqlite:') ? openSqlite(url.slice('sqlite:'.length), options.sqliteOnThread === true) : await openPostgres(url, options.poolSize ?? 10);
  if (options.migrate !== false) await migrateToLatest(database.db, database.dialect);
  return database;
}

// WAL lets the CLI write while a server reads; busy_timeout makes a writer wait instead of failing.
const SQLITE_PRAGMAS = ['journal_mode = WAL', 'busy_timeout = 5000', 'foreign_keys = ON', 'synchronous = NORMAL'];

/**
 * Creates the database file, if it does not exist yet, readable and writable by its owner only
 * (0600), like the master key next to it: it holds secret hashes, sealed keys and the audit log.
 * SQLite gives its -wal and -shm files the database file's mode, so they are 0600 too. An existing
 * file keeps the mode it has.
 */
function createPrivateFile(file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.closeSync(fs.openSync(file, 'a', 0o600));
}

function openSqlite(file: string, onThread: boolean): Database {
  if (file !== ':memory:') createPrivateFile(file);
  if (onThread && file !== ':memory:') {
    const db = new Kysely<Schema>({ dialect: new SqliteThreadDialect(path.resolve(file), SQLITE_PRAGMAS) });
    return { db, dialect: 'sqlite', close: () => db.destroy() };
  }
  const sqlite = new SQLite(file);
  for (const pragma of SQLITE_PRAGMAS) sqlite.pragma(pragma);
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

/**
 * Two adjustments to how Kysely's SQLite driver uses better-sqlite3:
 * - It prepares every query anew; the same few statements run all the time (token cache, change
 *   feed), and preparing costs more than running them. better-sqlite3 statements are reusable, so
 *   identical SQL reuses its prepared statement (bounded: the cache is cleared past 500).
 * - Its transactions start with a plain (deferred) BEGIN. A transaction that reads and then writes
 *   cannot upgrade its lock if another process (the server, the CLI) committed in between: SQLite
 *   answers SQLITE_BUSY at once, without waiting for busy_timeout. BEGIN IMMEDIATE takes the write
 *   lock up front, waiting for it (busy_timeout) like any writer; WAL readers are not blocked.
 */
function withStatementCache(sqlite: SQLite.Database): SQLite.Database {
  const prepare = cachedPreparer((source) => sqlite.prepare(source));
  return new Proxy(sqlite, {
    get(target, property, receiver) {
      if (property === 'prepare') return prepare;
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function openPostgres(connectionString: string, max: number): Promise<Database> {
  // node-postgres is loaded only here: a server on SQLite never pays its load time and memory
  // (measured for issue 15: about 5 MB of RSS and a tenth of the module loading).
  const { Pool, types } = (await import('pg')).default;
  const pool = new Pool({
    connectionString,
    max,
    // Fail fast when the database is down: requests that need it answer 503 within ~2 s, not hang.
    connectionTimeoutMillis: 2000,
    query_timeout: 10_000,
    // Times are bigint columns; node-postgres returns int8 as strings unless told otherwise.
    // Millisecond timestamps are far below 2^53, so Number is exact.
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === INT8_OID ? (value: string) => Number(value) : types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // A client losing its server (shutdown, a terminated session) must not crash the process. The pool
  // reports idle clients here; a checked-out client with no query running reports on itself, and
  // node-postgres listens there only while the client is idle. Either way its next query fails and
  // the pool drops the client on release; the next checkout reconnects.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', pool, close: () => db.destroy() };
}
