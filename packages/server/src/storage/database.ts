import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import type { Schema } from './schema.ts';
import { migrateToLatest } from './migrations.ts';

/** Which SQL engine a connection talks to; a branch on it always carries a comment saying why. */
export type Dialect = 'sqlite' | 'postgres';

/** An open database: the Kysely handle plus what callers need to know about it. */
export interface Database {
  db: Kysely<Schema>;
  dialect: Dialect;
  close(): Promise<void>;
}

const INT8_OID = 20;

/** Opens `sqlite:<path>` or `postgres://…`, and (unless told not to) migrates it to the latest schema. */
export async function openDatabase(url: string, options: { migrate?: boolean; poolSize?: number } = {}): Promise<Database> {
  const database = url.startsWith('sqlite:') ? openSqlite(url.slice('sqlite:'.length)) : openPostgres(url, options.poolSize ?? 10);
  if (options.migrate !== false) await migrateToLatest(database.db, database.dialect);
  return database;
}

function openSqlite(file: string): Database {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SQLite(file);
  // WAL lets the CLI write while a server reads; busy_timeout makes a writer wait instead of failing.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

function openPostgres(connectionString: string, max: number): Database {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 5000,
    // Times are bigint columns; node-postgres returns int8 as strings unless told otherwise.
    // Millisecond timestamps are far below 2^53, so Number is exact.
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}
