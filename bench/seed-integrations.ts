/**
 * Seeds many integrations in this process, straight into the configured database, before the server
 * starts. The CLI would cost a Node start-up (≈ 2 s) per integration; this costs milliseconds.
 * The server's modules are imported lazily so the peers-only half of the benchmark runs without them.
 */
import type { Client } from './latchkey.ts';

/** Creates `count` integrations with every Environment API scope in `environmentId`. */
export async function seedIntegrationsInProcess(env: NodeJS.ProcessEnv, environmentId: string, count: number, scopes: readonly string[]): Promise<Client[]> {
  const { loadConfig, openDatabase, createPlatformDeps, createIntegration, systemClock } = await import('../packages/server/src/index.ts');
  const config = loadConfig(env);
  const database = await openDatabase(config.databaseUrl);
  try {
    const deps = createPlatformDeps({ config, database, clock: systemClock });
    const clients: Client[] = [];
    for (let i = 0; i < count; i++) {
      const { integration, clientSecret } = await createIntegration(
        deps,
        { environmentId, name: `bench-${i + 1}`, grants: { 'environment-api': [...scopes] } },
        { actor: { type: 'system', id: 'bench' } }, // the audit actor of these changes
      );
      clients.push({ clientId: integration.clientId, clientSecret });
    }
    return clients;
  } finally {
    await database.close();
  }
}
