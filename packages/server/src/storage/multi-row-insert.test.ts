import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../../../../test/support/databases.ts';
import { openDatabase, type Database } from './database.ts';
import { MultiRowInsert } from './multi-row-insert.ts';

describe.each(DIALECTS)('MultiRowInsert (%s)', (dialect) => {
  let testDatabase: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    testDatabase = await createTestDatabase(dialect);
    database = await openDatabase(testDatabase.url, { migrate: true });
  });

  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  const columns = ['seq', 'kind', 'subject', 'at'] as const;
  const rows = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ seq: from + i, kind: `kind-${from + i}`, subject: `subject-${from + i}`, at: 1000 + from + i }));

  it('writes every row with each value in its own column, reusing the statement for a repeated size', async () => {
    const insert = new MultiRowInsert(database.db, 'changes', columns);
    // Columns in an order unlike the table's, and two batches of one size share a compiled statement.
    const first = insert.compile(rows(1_000_001, 3));
    const second = insert.compile(rows(1_000_004, 3));
    expect(second.sql).toBe(first.sql);
    expect(second.parameters).toEqual([1_000_004, 'kind-1000004', 'subject-1000004', 1_001_004, 1_000_005, 'kind-1000005', 'subject-1000005', 1_001_005, 1_000_006, 'kind-1000006', 'subject-1000006', 1_001_006]);
    await database.db.executeQuery(first);
    await database.db.executeQuery(second);
    await database.db.executeQuery(insert.compile(rows(1_000_007, 1)));
    const stored = await database.db.selectFrom('changes').select(['seq', 'kind', 'subject', 'at']).where('seq', '>', 1_000_000).orderBy('seq').execute();
    expect(stored.map((row) => ({ ...row, seq: Number(row.seq), at: Number(row.at) }))).toEqual(rows(1_000_001, 7));
  });

  it('adds the clauses it is given after the values', async () => {
    const insert = new MultiRowInsert(database.db, 'changes', columns, (query) => query.onConflict((oc) => oc.column('seq').doNothing()).returning('seq'));
    const { rows: inserted } = await database.db.executeQuery<{ seq: number }>(insert.compile(rows(1_000_006, 4)));
    // 1000006 and 1000007 exist from the test above; only the two new rows come back.
    expect(inserted.map((row) => Number(row.seq)).sort()).toEqual([1_000_008, 1_000_009]);
  });
});
