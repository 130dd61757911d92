import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS } from './support/databases.ts';
import { openDatabase, type Database } from '../packages/server/src/storage/database.ts';
import { systemClock } from '../packages/server/src/support/clock.ts';
import { isSoleTokenWriter, prepareToServe, processRole, type ProcessRole } from '../packages/server/src/boot.ts';

// Process topology in one place (boot.ts): who takes the SQLite serving lease, who is the token
// table's sole writer, and that whoever prepares to serve finds a signing key afterwards.

const config = { signingAlgorithm: 'ES256' as const, tokenTtlSeconds: 300 };
const signingKeySealKey = randomBytes(32);

describe('boot', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('is a single server in a plain process, and the cluster primary when workers are asked for', () => {
    expect(processRole()).toBe('single');
    expect(processRole(1)).toBe('single');
    expect(processRole(4)).toBe('primary');
  });

  for (const dialect of DIALECTS) {
    const open = async (): Promise<Database> => {
      const testDatabase = await createTestDatabase(dialect);
      const database = await openDatabase(testDatabase.url);
      cleanups.push(async () => {
        await database.close();
        await testDatabase.drop();
      });
      return database;
    };
    const leaseRows = (database: Database) => database.db.selectFrom('serving_lease').selectAll().execute();
    const keyRows = (database: Database) => database.db.selectFrom('signing_keys').select('kid').execute();

    for (const role of ['single', 'primary', 'worker'] as ProcessRole[]) {
      const leases = dialect === 'sqlite' && role !== 'worker';
      it(`as ${role} over ${dialect}: ${leases ? 'takes the serving lease, then' : 'takes no lease, and'} makes the first signing key once`, async () => {
        const database = await open();
        expect(isSoleTokenWriter(role, database)).toBe(dialect === 'sqlite' && role === 'single');
        const lease = await prepareToServe({ config, database, clock: systemClock, signingKeySealKey, role, onLeaseLost: () => {} });
        expect(lease !== undefined).toBe(leases);
        expect(await leaseRows(database)).toHaveLength(leases ? 1 : 0);
        expect(await keyRows(database)).toHaveLength(1);
        // Every instance and worker asks; the key is made once.
        await prepareToServe({ config, database, clock: systemClock, signingKeySealKey, role: 'worker', onLeaseLost: () => {} });
        expect(await keyRows(database)).toHaveLength(1);
        await lease?.release();
        expect(await leaseRows(database)).toHaveLength(0);
      });
    }

    it(`gives the lease back when making the signing key fails, over ${dialect}`, async () => {
      const database = await open();
      const failing = { ...config, signingAlgorithm: 'none' as unknown as typeof config.signingAlgorithm };
      await expect(prepareToServe({ config: failing, database, clock: systemClock, signingKeySealKey, role: 'single', onLeaseLost: () => {} })).rejects.toThrow();
      expect(await leaseRows(database)).toHaveLength(0);
      expect(await keyRows(database)).toHaveLength(0);
    });
  }
});
