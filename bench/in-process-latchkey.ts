/**
 * A Latchkey in the benchmark's own process (SQLite in a temporary directory, no socket: requests go
 * through `app.inject`), for the micro-benchmarks that time library calls rather than HTTP round trips
 * (verify.ts, verify-dpop.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../packages/server/src/config/load-config.ts';
import { openDatabase } from '../packages/server/src/storage/database.ts';
import { createRuntime } from '../packages/server/src/runtime.ts';
import { buildApp } from '../packages/server/src/app.ts';
import { createLogger } from '../packages/server/src/support/logger.ts';
import { systemClock } from '../packages/server/src/support/clock.ts';

/** What a started in-process Latchkey offers; `close()` stops it and removes its directory. */
export interface InProcessLatchkey {
  config: ReturnType<typeof loadConfig>;
  database: Awaited<ReturnType<typeof openDatabase>>;
  runtime: Awaited<ReturnType<typeof createRuntime>>;
  app: Awaited<ReturnType<typeof buildApp>>;
  close(): Promise<void>;
}

/** Starts one with issuer http://127.0.0.1:8080 (never listened on) and a new master key; `prefix` names its temporary directory. */
export async function startInProcessLatchkey(prefix: string): Promise<InProcessLatchkey> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const config = loadConfig({
    PORT: '8080',
    LATCHKEY_ISSUER: 'http://127.0.0.1:8080',
    LATCHKEY_DATABASE_URL: `sqlite:${join(dir, 'latchkey.db')}`,
    LATCHKEY_DATA_DIR: dir,
    LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64url'),
    LATCHKEY_LOG_LEVEL: 'silent',
  });
  const database = await openDatabase(config.databaseUrl);
  const runtime = await createRuntime({ config, database, clock: systemClock, logger: createLogger('silent') });
  const app = await buildApp({ runtime });
  const close = async (): Promise<void> => {
    await app.close();
    await runtime.stop();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await app.ready();
  } catch (err) {
    await close();
    throw err;
  }
  return { config, database, runtime, app, close };
}
