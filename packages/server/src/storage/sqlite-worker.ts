// The server's SQLite connection, on a worker thread of its own. better-sqlite3 is synchronous, so on
// the event loop every statement, every page written to the write-ahead log and every checkpoint
// stops the server; here they overlap with request handling on another core. The main thread
// compiles the queries (Kysely) and sends SQL and parameters; see sqlite-thread-dialect.ts, which
// starts this module through support/start-worker.ts (as .ts from the sources, .js when compiled).
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { cachedPreparer } from './statement-cache.ts';

/** What the thread is started with: the database file, its pragmas, and which of the two threads it is. */
export interface SqliteWorkerData {
  file: string;
  pragmas: string[];
  role: 'connection' | 'checkpointer';
}

/** A query for the connection thread, or the request to close it. */
export type SqliteRequest = { id: number; sql: string; parameters: readonly unknown[]; close?: undefined } | { close: true };

/** The connection thread's answer to one query. */
export type SqliteReply =
  | { id: number; rows: unknown[] }
  | { id: number; changes: number; lastInsertRowid: bigint }
  | { id: number; error: { message: string; code?: string; name: string } };

const port = parentPort;
if (!port) throw new Error('sqlite-worker runs on a worker thread only (see sqlite-thread-dialect.ts)');
const { file, pragmas, role } = workerData as SqliteWorkerData;
const db = new SQLite(file);
for (const pragma of pragmas) db.pragma(pragma);

// The checkpointer: a second thread and connection that copies the write-ahead log into the database
// file (and syncs it) every CHECKPOINT_MS. Left to the writer, that work happens inside whichever
// commit pushes the log past its limit, and every query queued behind that commit waits for the disk.
// PASSIVE checkpoints never block the writer or readers (SQLite's advice for exactly this).
const CHECKPOINT_MS = 200;
if (role === 'checkpointer') {
  const timer = setInterval(() => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Busy or locked: the next tick tries again; the writer's own backstop bounds the log.
    }
  }, CHECKPOINT_MS);
  port.on('message', () => {
    clearInterval(timer);
    db.close();
    port.close();
  });
}

// The same few statements run all the time: reuse their prepared form; BEGIN becomes BEGIN IMMEDIATE.
const prepare = cachedPreparer((source) => db.prepare(source));

// Structured cloning turns Buffers into plain Uint8Arrays; better-sqlite3 binds only Buffers.
const toBindable = (value: unknown): unknown => (value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value);

// The writer checkpoints by itself only as a backstop, should the checkpointer fall behind or stop:
// at ten times SQLite's default log size (about 40 MB).
if (role === 'connection') db.pragma('wal_autocheckpoint = 10000');

if (role === 'connection') port.on('message', (message: SqliteRequest) => {
  if (message.close) {
    db.close();
    port.close();
    return;
  }
  const { id, sql, parameters } = message;
  const reply = (answer: SqliteReply) => port.postMessage(answer);
  try {
    const statement = prepare(sql);
    const bound = parameters.map(toBindable);
    if (statement.reader) {
      reply({ id, rows: statement.all(bound) });
    } else {
      const { changes, lastInsertRowid } = statement.run(bound);
      reply({ id, changes, lastInsertRowid: BigInt(lastInsertRowid) });
    }
  } catch (error) {
    const failure = error as { message?: unknown; code?: string; name?: string } | undefined;
    reply({ id, error: { message: String(failure?.message ?? error), code: failure?.code, name: failure?.name ?? 'Error' } });
  }
});
