import { ConfigError, loadConfig, type Config } from '../config/load-config.ts';
import { openDatabase, type Database } from '../storage/database.ts';
import { PlatformError } from '../platform/errors.ts';
import { systemClock } from '../support/clock.ts';
import { createPlatformDeps } from '../platform/platform-deps.ts';
import { verifyMasterKey } from '../keys/master-key.ts';
import os from 'node:os';
import type { ActionContext } from '../platform/audit.ts';

/**
 * Exit codes of the CLI, the one table (README "The `latchkey` CLI" lists it): 0 done; 1 anything
 * else failed (server unreachable, token refused, database error); 2 bad arguments or configuration;
 * 3 the environment, integration, admin or key named does not exist; 4 it conflicts with what exists.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3, conflict: 4 } as const;

/** An error the CLI prints as one line and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

/** Output helpers shared by every command: `--json` for machines, plain lines for people. */
export interface Output {
  json: boolean;
  /** Prints `data` as JSON with --json, otherwise `text()`. */
  result(data: unknown, text: () => string): void;
}

/** Creates the output helper for a command's options. */
export function createOutput(options: { json?: boolean }): Output {
  return {
    json: options.json === true,
    result(data, text) {
      process.stdout.write(options.json ? `${JSON.stringify(data, null, 2)}\n` : `${text()}\n`);
    },
  };
}

/** Loads config and opens the database for one command, closing it afterwards. */
export async function withPlatform<T>(work: (deps: ReturnType<typeof createPlatformDeps> & { config: Config; database: Database }) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = await openDatabase(config.databaseUrl);
  try {
    const deps = createPlatformDeps({ config, database, clock: systemClock });
    await verifyMasterKey(database, deps.masterKey);
    return await work({ ...deps, config, database });
  } finally {
    await database.close();
  }
}

/** The one style of every CLI error: one line on stderr, `latchkey: error: <message>`. */
export function formatError(message: string): string {
  return `latchkey: error: ${message.split('\n')[0]!.replace(/^error: /, '')}\n`;
}

/** Maps any error to a one-line message and an exit code. */
export function describeFailure(error: unknown): { message: string; exitCode: number } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof ConfigError) return { message: error.message, exitCode: EXIT.usage };
  if (error instanceof PlatformError) {
    const exitCode = error.statusCode === 404 ? EXIT.notFound : error.statusCode === 409 ? EXIT.conflict : error.statusCode === 400 ? EXIT.usage : EXIT.failure;
    return { message: error.message, exitCode };
  }
  return { message: error instanceof Error ? error.message : String(error), exitCode: EXIT.failure };
}

/** The audit actor of CLI commands: the operating-system user who ran them. */
export function cliContext(): ActionContext {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry (some containers): keep 'unknown'.
  }
  return { actor: { type: 'cli', id: user } };
}
