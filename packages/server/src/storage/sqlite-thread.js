// The server's SQLite connection, on a worker thread of its own (plain JavaScript: worker threads do
// not get the tsx loader the server's TypeScript runs under). better-sqlite3 is synchronous, so on the
// event loop every statement, every page written to the write-ahead log and every checkpoint stops
// the server; here they overlap with request handling on another core. The main thread compiles the
// queries (Kysely) and sends SQL and parameters; see sqlite-thread-dialect.ts.
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { cachedPreparer } from './statement-cache.js';

const { file, pragmas, role } = workerData;
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
  parentPort.on('message', () => {
    clearInterval(timer);
    db.close();
    parentPort.close();
  });
}

// The same few statements run all the time: reuse their prepared form; BEGIN becomes BEGIN IMMEDIATE.
const prepare = cachedPreparer((source) => db.prepare(source));

// Structured cloning turns Buffers into plain Uint8Arrays; better-sqlite3 binds only Buffers.
const toBindable = (value) => (value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value);

// The writer checkpoints by itself only as a backstop, should the checkpointer fall behind or stop:
// at ten times SQLite's default log size (about 40 MB).
if (role === 'connection') db.pragma('wal_autocheckpoint = 10000');

if (role === 'connection') parentPort.on('message', (message) => {
  if (message.close) {
    db.close();
    parentPort.close();
    return;
  }
  const { id, sql, parameters } = message;
  try {
    const statement = prepare(sql);
    const bound = parameters.map(toBindable);
    if (statement.reader) {
      parentPort.postMessage({ id, rows: statement.all(bound) });
    } else {
      const { changes, lastInsertRowid } = statement.run(bound);
      parentPort.postMessage({ id, changes, lastInsertRowid: BigInt(lastInsertRowid) });
    }
  } catch (error) {
    parentPort.postMessage({ id, error: { message: String(error?.message ?? error), code: error?.code, name: error?.name ?? 'Error' } });
  }
});
