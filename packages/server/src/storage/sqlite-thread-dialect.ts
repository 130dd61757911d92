import type { Worker } from 'node:worker_threads';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';

import { startWorker } from '../support/start-worker.ts';
import type { SqliteReply as Reply, SqliteRequest, SqliteWorkerData } from './sqlite-worker.ts';

/** Rebuilds a thread's error with the fields callers look at (`code`: SQLITE_BUSY and the like). */
function toError(reply: { message: string; code?: string; name: string }): Error {
  const error = new Error(reply.message) as Error & { code?: string };
  error.name = reply.name;
  if (reply.code !== undefined) error.code = reply.code;
  return error;
}

// Rows come back structured-cloned: BLOB columns arrive as Uint8Array; callers expect Buffers.
function withBuffers(rows: unknown[]): unknown[] {
  for (const row of rows as Record<string, unknown>[]) {
    for (const key in row) {
      const value = row[key];
      if (value instanceof Uint8Array && !Buffer.isBuffer(value)) row[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  }
  return rows;
}

/** The one connection: SQL and parameters go to the thread, results come back in order. */
class ThreadConnection implements DatabaseConnection {
  private worker: Worker | undefined;
  private checkpointer: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();

  constructor(
    private readonly file: string,
    private readonly pragmas: string[],
  ) {}

  private start(): Worker {
    if (!this.checkpointer) {
      const checkpointer = startWorker('sqlite-worker', import.meta.url, { workerData: { file: this.file, pragmas: this.pragmas, role: 'checkpointer' } satisfies SqliteWorkerData });
      checkpointer.unref();
      // Without it the writer's backstop checkpoints: slower, never unsafe. The next start retries.
      const forget = () => {
        if (this.checkpointer === checkpointer) this.checkpointer = undefined;
      };
      checkpointer.on('error', forget);
      checkpointer.on('exit', forget);
      this.checkpointer = checkpointer;
    }
    const worker = startWorker('sqlite-worker', import.meta.url, { workerData: { file: this.file, pragmas: this.pragmas, role: 'connection' } satisfies SqliteWorkerData });
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      // The thread keeps the process alive only while it owes answers.
      if (this.pending.size === 0) worker.unref();
      waiter.resolve(reply);
    });
    // A thread that dies fails what it owed; the next query starts a new one (an open transaction
    // is lost with the thread's connection, which SQLite rolls back).
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(Object.assign(new Error(`the SQLite thread stopped (exit code ${code})`), { code: 'SQLITE_THREAD_EXITED' })));
    worker.unref();
    return worker;
  }

  private send(sql: string, parameters: readonly unknown[]): Promise<Reply> {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, sql, parameters } satisfies SqliteRequest);
    });
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const reply = await this.send(compiledQuery.sql, compiledQuery.parameters);
    if ('error' in reply) throw toError(reply.error);
    if ('rows' in reply) return { rows: withBuffers(reply.rows) as R[] };
    return { numAffectedRows: BigInt(reply.changes), insertId: reply.lastInsertRowid, rows: [] };
  }

  // eslint-disable-next-line require-yield -- Kysely requires the method; it throws before it could yield, by design
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported by the SQLite thread; read pages instead');
  }

  async close(): Promise<void> {
    const threads = [this.worker, this.checkpointer].filter((w): w is Worker => w !== undefined);
    this.worker = undefined;
    this.checkpointer = undefined;
    await Promise.all(
      threads.map(
        (worker) =>
          new Promise<void>((resolve) => {
            worker.ref();
            worker.once('exit', () => resolve());
            worker.postMessage({ close: true });
            // A thread stuck in a statement is not worth waiting for at shutdown.
            setTimeout(() => void worker.terminate().then(() => resolve()), 2000).unref();
          }),
      ),
    );
  }
}

/** One connection, used by one caller (or transaction) at a time, as Kysely's own SQLite driver does. */
class ThreadDriver implements Driver {
  private locked: Promise<void> | undefined;
  private unlock: (() => void) | undefined;

  constructor(private readonly connection: ThreadConnection) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    while (this.locked) await this.locked;
    this.locked = new Promise((resolve) => (this.unlock = resolve));
    return this.connection;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(): Promise<void> {
    const unlock = this.unlock;
    this.locked = undefined;
    this.unlock = undefined;
    unlock?.();
  }

  async destroy(): Promise<void> {
    await this.connection.close();
  }
}

/**
 * Kysely's SQLite dialect with the connection on a worker thread (sqlite-worker.ts): same SQL, same
 * adapter and introspection, but statements run off the event loop. Used by serving processes; the
 * CLI, which runs a few statements and exits, keeps the in-thread driver.
 */
export class SqliteThreadDialect implements Dialect {
  constructor(
    private readonly file: string,
    private readonly pragmas: string[],
  ) {}

  createDriver(): Driver {
    return new ThreadDriver(new ThreadConnection(this.file, this.pragmas));
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
