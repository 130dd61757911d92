import fs from 'node:fs';
import type { Command } from 'commander';
import { cliContext, CliError, createOutput, EXIT, withPlatform } from '../../context.ts';
import { parsePreset } from '../../options.ts';
import type { Schema } from '../../../storage/schema.ts';
import type { IntegrationDeps } from '../../../platform/integrations.ts';
import { normalizeGrants } from '../../../platform/integrations.ts';
import { validateEnvironmentId } from '../../../platform/environments.ts';
import type { ActionContext } from '../../../platform/audit.ts';
import { writeWithChanges } from '../../../storage/change-log.ts';
import { insertIntegrationsInBulk, insertNewEnvironments } from '../../../storage/repositories/bulk-seed.ts';
import { generateClientId, generateClientSecret, hashClientSecret } from '../../../platform/secrets.ts';
import { newId } from '../../../support/ids.ts';

// `latchkey dev seed`: bulk test data for scale benchmarks and trying the console with a realistic
// amount of data. createIntegration (platform/integrations.ts) costs a transaction, an audit entry
// and a change-feed row per integration; at 100,000 integrations that is minutes. This writes the
// same row shapes with multi-row INSERTs, a chunk of integrations per transaction, then ONE
// change-feed row and ONE audit entry for the whole seed.

/** What to seed. */
export interface SeedOptions {
  environments: number;
  integrations: number;
  /** Environment ids are `<prefix>-00001`, `<prefix>-00002`, … */
  prefix: string;
  /** Environment API scopes every seeded integration gets. */
  scopes: string[];
  /** Called with each integration's credentials (e.g. to write them to a file); secrets exist nowhere else. */
  onCredentials?: ((credentials: SeededCredentials) => void) | undefined;
  /** Called after each committed chunk. */
  onProgress?: ((done: number, total: number) => void) | undefined;
}

/** Credentials of one seeded integration. */
export interface SeededCredentials {
  environment_id: string;
  client_id: string;
  client_secret: string;
}

/** What a seed run did and how long it took. */
export interface SeedResult {
  environments: number;
  integrations: number;
  firstEnvironmentId: string | null;
  lastEnvironmentId: string | null;
  seconds: number;
  integrationsPerSecond: number;
}

// Seeded integrations may not mint browser tokens and were never seen from a browser (the columns' defaults).
const NO_BROWSER_USE = { browser_tokens: 0, browser_use_origin: null, browser_use_ip: null, browser_use_first_at: null, browser_use_last_at: null, browser_use_count: 0 } as const;

/** Integrations per transaction: big enough to amortise commits, small enough to show progress. */
const CHUNK = 5000;
function environmentIds(prefix: string, count: number): string[] {
  const width = Math.max(5, String(count).length);
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(width, '0')}`);
}

/**
 * Creates `environments` environments and `integrations` integrations spread evenly over them
 * (round-robin), each with one secret (generation 1) and the given Environment API scopes.
 * Fails with a conflict, before writing anything, when an environment id it would use exists.
 */
export async function seedDatabase(deps: IntegrationDeps, options: SeedOptions, context: ActionContext): Promise<SeedResult> {
  const started = performance.now();
  const ids = environmentIds(options.prefix, options.environments);
  for (const id of ids.slice(0, 1).concat(ids.slice(-1))) validateEnvironmentId(id);
  const grants = normalizeGrants(deps.apis, { 'environment-api': options.scopes });
  const scopes = (grants['environment-api'] ?? []).join(' ');
  const now = deps.clock.now();

  const existing = await insertNewEnvironments(deps.database, ids.map((id) => ({ id, name: id, created_at: now, updated_at: now })));
  if (existing !== null) throw new CliError(`environment '${existing}' already exists: seed into an empty database or pick another --prefix`, EXIT.conflict);

  for (let start = 0; start < options.integrations; start += CHUNK) {
    const end = Math.min(options.integrations, start + CHUNK);
    const integrations: Schema['integrations'][] = [];
    const secrets: Schema['integration_secrets'][] = [];
    const grantRows: Schema['integration_grants'][] = [];
    for (let n = start; n < end; n++) {
      const environmentId = ids[n % ids.length]!;
      const id = newId('int', now);
      const clientId = generateClientId();
      const secret = generateClientSecret();
      // The same shapes createIntegration writes: grant version 1, secret generation 1, no expiry.
      integrations.push({
        id,
        environment_id: environmentId,
        client_id: clientId,
        name: `seeded integration ${n + 1}`,
        description: '',
        disabled: 0,
        grant_version: 1,
        secret_generation: 1,
        tokens_not_before: 0,
        created_at: now,
        updated_at: now,
        last_used_at: null,
        ...NO_BROWSER_USE,
      });
      secrets.push({ id: newId('sec', now), integration_id: id, generation: 1, secret_hash: hashClientSecret(deps.secretHashKey, secret).toString('hex'), created_at: now, expires_at: null, last_used_at: null });
      if (scopes !== '') grantRows.push({ integration_id: id, api_id: 'environment-api', scopes });
      options.onCredentials?.({ environment_id: environmentId, client_id: clientId, client_secret: secret });
    }
    await insertIntegrationsInBulk(deps.database, { integrations, secrets, grants: grantRows });
    options.onProgress?.(end, options.integrations);
  }

  // The CLI has no caches of its own (no ChangeBus): running servers read the feed row.
  await writeWithChanges({ database: deps.database }, now, async (_trx, log) => {
    // One feed row for the whole seed. Running servers cache nothing about environments or client
    // IDs that did not exist, so there is nothing to invalidate; the row records that data arrived.
    await log.change('environment', `${options.prefix}-*`);
    await log.audit(context, {
      at: now,
      environmentId: null,
      action: 'dev.seed',
      targetType: 'environment',
      targetId: `${options.prefix}-*`,
      details: { environments: options.environments, integrations: options.integrations, scopes },
    });
  });

  const seconds = (performance.now() - started) / 1000;
  return {
    environments: ids.length,
    integrations: options.integrations,
    firstEnvironmentId: ids[0] ?? null,
    lastEnvironmentId: ids[ids.length - 1] ?? null,
    seconds,
    integrationsPerSecond: seconds > 0 ? options.integrations / seconds : 0,
  };
}

function parseCount(name: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new CliError(`${name} must be a whole number from ${min} to ${max}, got '${value}'`, EXIT.usage);
  return Number(value);
}

/** `latchkey dev seed --environments N --integrations M [--prefix p] [--preset p] [--credentials-file f] [--json]` */
export function registerDevSeed(program: Command): void {
  const dev = program.command('dev').description('tools for development and benchmarks (not for production data)');
  dev
    .command('seed')
    .description('bulk-create environments and integrations (batched inserts), printing the time taken')
    .option('--environments <n>', 'environments to create', '10')
    .option('--integrations <n>', 'integrations to create, spread evenly over the environments', '100')
    .option('--prefix <prefix>', 'environment ids are <prefix>-00001, <prefix>-00002, …', 'seed')
    .option('--preset <preset>', 'Environment API scopes of every integration: read-only | all', 'read-only')
    .option('--credentials-file <path>', 'write every Client ID and Client Secret as JSON lines to this file (mode 0600): secrets are shown nowhere else')
    .option('--json', 'print JSON')
    .action(async (options: { environments: string; integrations: string; prefix: string; preset: string; credentialsFile?: string; json?: boolean }) => {
      const environments = parseCount('--environments', options.environments, 1, 1_000_000);
      const integrations = parseCount('--integrations', options.integrations, 0, 10_000_000);
      const preset = parsePreset(options.preset, false)!;
      // Fail on a bad prefix before opening the database.
      validateEnvironmentId(`${options.prefix}-${'0'.repeat(Math.max(5, String(environments).length))}`);
      let credentials: number | undefined;
      if (options.credentialsFile) {
        try {
          credentials = fs.openSync(options.credentialsFile, 'w', 0o600);
        } catch (error) {
          throw new CliError(`cannot write --credentials-file: ${(error as Error).message}`, EXIT.failure);
        }
      }
      const progress = !options.json && process.stderr.isTTY;
      try {
        const result = await withPlatform((deps) =>
          seedDatabase(
            deps,
            {
              environments,
              integrations,
              prefix: options.prefix,
              scopes: deps.apis.presetScopes(preset),
              onCredentials: credentials === undefined ? undefined : (c) => fs.writeSync(credentials!, `${JSON.stringify(c)}\n`),
              onProgress: progress ? (done, total) => process.stderr.write(`\r  ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} integrations`) : undefined,
            },
            cliContext(),
          ),
        );
        if (progress) process.stderr.write('\n');
        createOutput(options).result(result, () =>
          [
            `Seeded ${result.environments.toLocaleString('en-US')} environments (${result.firstEnvironmentId} … ${result.lastEnvironmentId}) and ${result.integrations.toLocaleString('en-US')} integrations in ${result.seconds.toFixed(2)} s (${Math.round(result.integrationsPerSecond).toLocaleString('en-US')} integrations/s)`,
            ...(options.credentialsFile ? [`Client IDs and secrets: ${options.credentialsFile} (delete it when done)`] : []),
          ].join('\n'),
        );
      } finally {
        if (credentials !== undefined) fs.closeSync(credentials);
      }
    });
}
