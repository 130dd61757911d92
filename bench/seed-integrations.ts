/**
 * Seeds many integrations in this process, straight into the configured database, before the server
 * starts. The CLI would cost a Node start-up (≈ 2 s) per integration; this costs milliseconds.
 * The server's modules are imported lazily so the peers-only half of the benchmark runs without them.
 */
import type { Grants } from '../packages/server/src/index.ts';
import type { Client } from './latchkey.ts';

/** Options of {@link seedIntegrationsInProcess}. */
export interface SeedOptions {
  /** Creates the environment first (otherwise it must exist). */
  createEnvironment?: boolean;
  /** Integrations are named `<name>-1`, `<name>-2`, …; default `bench`. */
  name?: string;
  /** May exchange their tokens for browser tokens (issue 16). */
  browserTokens?: boolean;
}

/** Creates `count` integrations with `grants` in `environmentId`. */
export async function seedIntegrationsInProcess(env: NodeJS.ProcessEnv, environmentId: string, count: number, grants: Grants, options: SeedOptions = {}): Promise<Client[]> {
  const { loadConfig, openDatabase, createPlatformDeps, createEnvironment, createIntegration, systemClock } = await import('../packages/server/src/index.ts');
  const config = loadConfig(env);
  const database = await openDatabase(config.databaseUrl);
  // The audit actor of these changes.
  const context = { actor: { type: 'system', id: 'bench' } } as const;
  try {
    const deps = createPlatformDeps({ config, database, clock: systemClock });
    if (options.createEnvironment) await createEnvironment(deps, { id: environmentId }, context);
    const clients: Client[] = [];
    for (let i = 0; i < count; i++) {
      const { integration, clientSecret } = await createIntegration(deps, { environmentId, name: `${options.name ?? 'bench'}-${i + 1}`, grants, ...(options.browserTokens ? { browserTokens: true } : {}) }, context);
      clients.push({ clientId: integration.clientId, clientSecret });
    }
    return clients;
  } finally {
    await database.close();
  }
}
