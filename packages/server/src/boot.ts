// Process topology, decided in one place: which process of a deployment holds the SQLite serving
// lease, which one makes sure a signing key exists, and what a node:cluster worker leaves to its
// primary. Both the runtime (runtime.ts) and `latchkey serve` (cli/commands/serve.ts) ask here.
import cluster from 'node:cluster';
import type { Config } from './config/load-config.ts';
import type { Database } from './storage/database.ts';
import type { Clock } from './support/clock.ts';
import { ensureSigningKey } from './keys/signing-keys.ts';
import { ServingLease } from './storage/serving-lease.ts';

/**
 * How this process takes part in serving:
 * - `single`: serves requests on its own (`latchkey serve`, an embedded server, a test);
 * - `primary`: the node:cluster primary of `latchkey serve --workers N`: prepares the database and,
 *   on SQLite, holds the serving lease for its workers; it answers no request itself;
 * - `worker`: a node:cluster worker: serves requests under its primary's lease.
 */
export type ProcessRole = 'single' | 'primary' | 'worker';

/** The role of this process, given how many worker processes were asked for (`--workers`). */
export function processRole(workers = 1): ProcessRole {
  if (cluster.isWorker) return 'worker';
  return workers > 1 ? 'primary' : 'single';
}

/**
 * True when this process is the only writer of the token table, so its token cache may answer a new
 * token before storing it (oauth/token-cache.ts): a single server on SQLite, which holds the serving
 * lease. Cluster workers share their primary's lease and store before answering, as every instance
 * on PostgreSQL does.
 */
export function isSoleTokenWriter(role: ProcessRole, database: Database): boolean {
  return role === 'single' && database.dialect === 'sqlite';
}

/** Whether a process of `role` takes the SQLite serving lease (storage/serving-lease.ts). */
function takesServingLease(role: ProcessRole, database: Database): boolean {
  return role !== 'worker' && database.dialect === 'sqlite';
}

/** What preparing to serve needs. */
export interface PrepareToServeDeps {
  config: Pick<Config, 'signingAlgorithm' | 'tokenTtlSeconds'>;
  database: Database;
  clock: Clock;
  /** Seals private signing keys at rest (keys/master-key.ts). */
  signingKeySealKey: Buffer;
  role: ProcessRole;
  /** Called if another server takes the SQLite database over after this one stalled past its lease. */
  onLeaseLost: () => void;
}

/**
 * Makes the database ready for this process to serve from it: on SQLite a single server or a cluster
 * primary first takes the serving lease (before it changes anything, so a second server on the same
 * file stops with a message), then the first signing key is made if none signs yet (idempotent, so
 * every instance and worker may ask). Returns the lease this process now holds, if any; a failure
 * after taking it gives it up, so the next server need not wait.
 */
export async function prepareToServe(deps: PrepareToServeDeps): Promise<ServingLease | undefined> {
  const { database, clock, config, role } = deps;
  const lease = takesServingLease(role, database) ? await ServingLease.acquire({ database, clock, onLost: deps.onLeaseLost }) : undefined;
  try {
    await ensureSigningKey({ database, signingKeySealKey: deps.signingKeySealKey, tokenTtlSeconds: config.tokenTtlSeconds }, config.signingAlgorithm, clock.now());
  } catch (error) {
    await lease?.release().catch(() => {});
    throw error;
  }
  return lease;
}
