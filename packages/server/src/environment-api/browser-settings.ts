import type { Database } from '../storage/database.ts';
import type { Clock } from '../support/clock.ts';
import { ValidationError } from '../platform/errors.ts';
import { getEnvironment } from '../platform/environments.ts';
import type { ActionContext } from '../platform/audit.ts';
import { writeWithChanges, type ChangeBus } from '../storage/change-log.ts';
import { createEnvironmentApiRepositories, upsertBrowserSettings } from '../storage/repositories/environment-api.ts';
import type { BrowserSettings, EnvironmentRepository } from './storage.ts';

/** What the browser settings functions need. */
export interface BrowserSettingsDeps {
  database: Database;
  clock: Clock;
  /** This process's caches (a server); absent in the CLI. */
  changes?: ChangeBus | undefined;
}

const MAX_ORIGINS = 50;

/**
 * Checks and normalises one allowed origin: `http(s)://host[:port]` exactly, as browsers send it in
 * the `Origin` header (no path, query, credentials or wildcard; default ports dropped).
 */
export function normalizeOrigin(value: string): string {
  const text = value.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError('allowedOrigins', `'${text.slice(0, 100)}' is not an origin: write it as https://host or https://host:port`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ValidationError('allowedOrigins', `origin '${text.slice(0, 100)}' must use http or https`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || (url.pathname !== '/' && url.pathname !== '')) {
    throw new ValidationError('allowedOrigins', `origin '${text.slice(0, 100)}' must be scheme://host[:port] only, without a path, query or credentials`);
  }
  if (url.hostname.includes('*')) {
    throw new ValidationError('allowedOrigins', 'wildcard origins are not allowed: list each front-end origin');
  }
  return url.origin;
}

/**
 * Sets an environment's browser settings: which origins may load media and fonts cross-origin, and
 * whether tokens with write scopes are tolerated from browsers (default: refused, as the seed
 * demands). Omitted fields keep their value. Running servers see the change through the change feed.
 *
 * @example
 * await setBrowserSettings(deps, 'demo', { allowedOrigins: ['https://editor.example.com'] }, context);
 */
export async function setBrowserSettings(
  deps: BrowserSettingsDeps,
  environmentId: string,
  input: { allowedOrigins?: readonly string[] | undefined; allowWriteTokensInBrowser?: boolean | undefined },
  context: ActionContext,
): Promise<BrowserSettings> {
  await getEnvironment(deps, environmentId);
  const current = await getBrowserSettings(deps, environmentId);
  const allowedOrigins = input.allowedOrigins === undefined ? current.allowedOrigins : [...new Set(input.allowedOrigins.map(normalizeOrigin))];
  if (allowedOrigins.length > MAX_ORIGINS) throw new ValidationError('allowedOrigins', `at most ${MAX_ORIGINS} origins may be allowed`);
  const allowWriteTokensInBrowser = input.allowWriteTokensInBrowser ?? current.allowWriteTokensInBrowser;
  const now = deps.clock.now();
  const row = { allowed_origins: JSON.stringify(allowedOrigins), allow_write_tokens_in_browser: allowWriteTokensInBrowser ? 1 : 0, updated_at: now };
  await writeWithChanges(deps, now, async (trx, log) => {
    await upsertBrowserSettings(trx, environmentId, row);
    await log.change('environment', environmentId);
    await log.audit(context, {
      at: now,
      environmentId,
      action: 'environment.browser_settings.update',
      targetType: 'environment',
      targetId: environmentId,
      details: { allowedOrigins, allowWriteTokensInBrowser },
    });
  });
  return { allowedOrigins, allowWriteTokensInBrowser };
}

/** An environment's browser settings (defaults when never set), or NotFoundError. */
export async function getBrowserSettings(deps: BrowserSettingsDeps, environmentId: string): Promise<BrowserSettings> {
  const settings = await createEnvironmentApiRepositories(deps.database).environments.findBrowserSettings(environmentId);
  if (settings === null) await getEnvironment(deps, environmentId); // throws NotFoundError
  return settings ?? { allowedOrigins: [], allowWriteTokensInBrowser: false };
}

/** Browser settings as the request path uses them: origins in a Set. */
export interface EnvironmentAccess {
  allowedOrigins: ReadonlySet<string>;
  allowWriteTokensInBrowser: boolean;
}

/**
 * Environments and their browser settings held in memory, so an Environment API request does not
 * pay a query for them. Entries are dropped when the change feed reports the environment (created,
 * deleted, settings changed) and after `maxAgeMs` as a safety net. Unknown environments are
 * remembered too; only ids that passed the format check are ever looked up.
 */
export class EnvironmentAccessCache {
  private readonly entries = new Map<string, { value: EnvironmentAccess | null; loadedAt: number }>();
  private readonly loading = new Map<string, Promise<EnvironmentAccess | null>>();

  constructor(
    private readonly repository: EnvironmentRepository,
    private readonly now: () => number,
    private readonly maxAgeMs = 30_000,
    private readonly maxEntries = 10_000,
  ) {}

  /** The environment's access settings, or null when it does not exist. */
  find(environmentId: string): Promise<EnvironmentAccess | null> {
    const entry = this.entries.get(environmentId);
    if (entry !== undefined && this.now() - entry.loadedAt < this.maxAgeMs) return Promise.resolve(entry.value);
    const pending = this.loading.get(environmentId);
    if (pending !== undefined) return pending;
    const load = this.repository.findBrowserSettings(environmentId).then(
      (settings) => {
        const value = settings === null ? null : { allowedOrigins: new Set(settings.allowedOrigins), allowWriteTokensInBrowser: settings.allowWriteTokensInBrowser };
        // Keep the result only if no invalidation arrived meanwhile (it removes the pending entry).
        if (this.loading.get(environmentId) === load) {
          this.loading.delete(environmentId);
          if (this.entries.size >= this.maxEntries) this.entries.clear();
          this.entries.set(environmentId, { value, loadedAt: this.now() });
        }
        return value;
      },
      (error: unknown) => {
        if (this.loading.get(environmentId) === load) this.loading.delete(environmentId);
        throw error;
      },
    );
    this.loading.set(environmentId, load);
    return load;
  }

  /** Forgets one environment (the change feed reported it). */
  invalidate(environmentId: string): void {
    this.entries.delete(environmentId);
    this.loading.delete(environmentId);
  }
}
