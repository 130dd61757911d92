import { CompiledQuery, type InsertQueryBuilder, type Kysely } from 'kysely';
import type { Schema } from './schema.ts';

/**
 * A multi-row INSERT into `table`, compiled by Kysely once per row count and then reused with new
 * parameters. Building and compiling a 500-row insert anew for every batch cost more event-loop time
 * than sending it (perf profiles of the token cache and of the audit flush under minting load). The
 * parameter order Kysely binds (rows in order, columns in `columns` order) is checked once per
 * statement against a sample, so a change in Kysely cannot silently mix up columns.
 */
export class MultiRowInsert<T extends keyof Schema & string, C extends keyof Schema[T] & string = keyof Schema[T] & string> {
  private readonly statements = new Map<number, string>();

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly table: T,
    private readonly columns: readonly C[],
    /** Adds clauses after VALUES (ON CONFLICT, RETURNING); they must not bind parameters. */
    private readonly finish: (query: InsertQueryBuilder<Schema, T, any>) => InsertQueryBuilder<Schema, T, any> = (query) => query,
  ) {}

  /** The statement for `rows`, ready for `executeQuery`. */
  compile(rows: readonly Record<C, unknown>[]): CompiledQuery {
    const parameters: unknown[] = [];
    for (const row of rows) for (const column of this.columns) parameters.push(row[column]);
    return CompiledQuery.raw(this.sql(rows.length), parameters);
  }

  private sql(count: number): string {
    let text = this.statements.get(count);
    if (text === undefined) {
      // Every cell a distinct marker, so the comparison below proves where each one is bound.
      const sample = Array.from({ length: count }, (_, row) => Object.fromEntries(this.columns.map((column, i) => [column, `\u0000${row}:${i}`])) as Record<C, string>);
      const compiled = this.finish(this.db.insertInto(this.table).values(sample as never)).compile();
      const expected = sample.flatMap((row) => this.columns.map((column) => row[column]));
      if (compiled.parameters.length !== expected.length || compiled.parameters.some((value, i) => value !== expected[i])) {
        throw new Error(`${this.table} insert: Kysely bound the parameters in an unexpected order`);
      }
      text = compiled.sql;
      // Batch sizes vary with load; a bounded set of them is kept.
      if (this.statements.size >= 500) this.statements.clear();
      this.statements.set(count, text);
    }
    return text;
  }
}
