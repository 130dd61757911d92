import path from 'node:path';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createVerifier, type AccessTokenVerifier } from '@latchkey/resource';
import { latchkeyFastify } from '@latchkey/resource/fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/load-config.ts';
import type { Database } from '../storage/database.ts';
import type { Clock } from '../support/clock.ts';
import type { ChangeBus } from '../storage/change-log.ts';
import type { RevocationList } from '../platform/revocation-list.ts';
import { createInjectFetch } from '../support/inject-fetch.ts';
import { HttpProblem, problemErrorHandler } from '../support/problem.ts';
import { PlatformError } from '../platform/errors.ts';
import { validateEnvironmentId } from '../platform/environments.ts';
import { ALL_ASSET_CONTENT_TYPES } from './asset-kinds.ts';
import { createDatabaseBlobStore, createDiskBlobStore, type BlobStore } from './blob-store.ts';
import { addCorsHeaders, answerPreflight, assertNoWriteTokenInBrowser, NO_BROWSER_ACCESS } from './browser-guard.ts';
import { EnvironmentAccessCache, type EnvironmentAccess } from './browser-settings.ts';
import { EnvironmentGone } from './errors.ts';
import { assetRoutes } from './routes/assets.ts';
import { DOCUMENT_BODY_LIMIT, documentRoutes, MAX_DOCUMENT_BYTES } from './routes/documents.ts';
import type { EnvironmentApiStorage } from './storage.ts';
import { createEnvironmentApiRepositories } from '../storage/repositories/environment-api.ts';

export type { BlobStore } from './blob-store.ts';
export { createDatabaseBlobStore, createDiskBlobStore } from './blob-store.ts';
export { getBrowserSettings, setBrowserSettings, normalizeOrigin } from './browser-settings.ts';
export type { BrowserSettings, EnvironmentApiStorage } from './storage.ts';
export { ASSET_KINDS } from './asset-kinds.ts';
export { MAX_DOCUMENT_BYTES };

/** Realm of the Environment API's `WWW-Authenticate` challenges. */
export const ENVIRONMENT_API_REALM = 'latchkey-environment-api';

/** What the Environment API uses; the composition root (app.ts) passes them. */
export interface EnvironmentApiDeps {
  config: Pick<Config, 'issuer' | 'environmentApiAudience' | 'dataDir'>;
  clock: Clock;
  logger: Logger;
  database: Database;
  /** This process's changes: an environment's change drops its cached browser settings. */
  changes: Pick<ChangeBus, 'subscribe'>;
  /** This server's own revocation list, which the token verifier consults. */
  revocations: RevocationList;
}

/** Options of {@link environmentApiRoutes}: its dependencies, and parts a test may replace. */
export interface EnvironmentApiOptions extends EnvironmentApiDeps {
  /** Where media and font bytes go. Default: the disk under `<data dir>/blobs`. */
  blobs?: BlobStore;
  /** Where documents and metadata go. Default: Kysely over `database`. */
  storage?: EnvironmentApiStorage;
  /** The token verifier. Default: one for the Environment API audience, fed by this app's own JWKS. */
  verifier?: AccessTokenVerifier;
}

/**
 * Creates the Environment API's token verifier exactly as a third-party API would: issuer metadata
 * (RFC 8414) → JWKS → jose, with the Environment API audience. The metadata and JWKS requests are
 * injected into `app` (no socket to ourselves; see support/inject-fetch.ts).
 */
export function createEnvironmentApiVerifier(app: FastifyInstance, deps: Pick<EnvironmentApiDeps, 'config' | 'clock' | 'revocations'>): AccessTokenVerifier {
  const { config, clock } = deps;
  return createVerifier({
    issuer: config.issuer,
    audience: config.environmentApiAudience,
    fetch: createInjectFetch(app, config.issuer),
    realm: ENVIRONMENT_API_REALM,
    // The server's clock, so tests that move time see tokens expire here as everywhere else.
    currentDate: () => new Date(clock.now()),
    // This server's own revocation list instead of its feed: a revocation made here is refused by the
    // very next request (docs/revocation.md), with no network hop.
    revocation: { source: deps.revocations },
  });
}

const DOCUMENTS_TOO_LARGE = `documents may be at most ${MAX_DOCUMENT_BYTES / 1024 / 1024} MiB of JSON`;

/** The shared problem handler, with 413s that name the limit of the route that refused. */
function environmentApiErrorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if ((error as FastifyError).statusCode === 413) {
    const message = request.routeOptions.config.tooLargeMessage ?? (request.routeOptions.bodyLimit === DOCUMENT_BODY_LIMIT ? DOCUMENTS_TOO_LARGE : undefined);
    if (message !== undefined) return problemErrorHandler(new PlatformError('body_too_large', 413, message), request, reply);
  }
  return problemErrorHandler(error, request, reply);
}

/** The environment id in the path, if it is well formed (only those are ever looked up). */
function wellFormedEnvironmentId(request: FastifyRequest): string | undefined {
  const { environmentId } = request.params as { environmentId?: string };
  if (environmentId === undefined) return undefined;
  try {
    validateEnvironmentId(environmentId);
    return environmentId;
  } catch {
    return undefined;
  }
}

const printable = (text: string) => JSON.stringify(text.slice(0, 80));

/** How long a refused upload's remaining bytes are read and dropped before the connection is cut. */
const LINGERING_CLOSE_MS = 2000;

/** True when the request announced a body that has not been received in full (it was refused early). */
function hasUnreadBody(request: FastifyRequest): boolean {
  const { headers, complete } = request.raw;
  if (complete) return false;
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
}

/**
 * The Environment API (design §7) under `/api/v1/environments/:environmentId/`: templates and
 * projects (JSON documents), media and fonts (binary files). It is protected only through
 * `@latchkey/resource` (`latchkeyFastify` + `requireScopes`), as any third-party API would be; on
 * top of that every route refuses a token of another environment (403), answers 404 for an
 * environment that no longer exists, and applies the browser guard (browser-guard.ts).
 *
 * Request order: CORS headers (so a page can read even a 401) → token verification → environment
 * match → environment exists → browser guard → the route's scope check → body → handler. Every check
 * that can refuse runs before an upload's body is read.
 *
 * @example
 * await app.register(environmentApiRoutes, { config, clock, logger, database, changes, revocations });
 */
export async function environmentApiRoutes(app: FastifyInstance, options: EnvironmentApiOptions): Promise<void> {
  const { config, clock, database } = options;
  const storage = options.storage ?? createEnvironmentApiRepositories(database);
  // PostgreSQL deployments run several instances: uploads go to the shared database. The embedded
  // SQLite default keeps them as files under the data directory.
  const blobs = options.blobs ?? (database.dialect === 'postgres' ? createDatabaseBlobStore(database, () => clock.now()) : createDiskBlobStore(path.join(config.dataDir, 'blobs')));
  const verifier = options.verifier ?? createEnvironmentApiVerifier(app, options);

  // Browser settings in memory, dropped when the environment changes (settings changed here, by the
  // CLI or by another instance; environment created or deleted).
  const access = new EnvironmentAccessCache(storage.environments, () => clock.now());
  // A deleted environment's rows go with it (cascade); its uploaded bytes are swept here, by every
  // instance that hears of the deletion (deleting what is gone already is no error).
  const sweepUploadsIfDeleted = async (environmentId: string) => {
    try {
      if ((await storage.environments.findBrowserSettings(environmentId)) === null) await blobs.deletePrefix(environmentId);
    } catch (error) {
      options.logger.warn({ err: error, environmentId }, 'environment API: could not remove the uploads of a deleted environment');
    }
  };
  // Every change this process applies, at once for a write made here and within the change-feed
  // bound for one made elsewhere (the CLI, another instance).
  const unsubscribe = options.changes.subscribe(async (changes) => {
    const environments = new Set<string>();
    for (const change of changes) {
      if (change.kind !== 'environment') continue;
      access.invalidate(change.subject);
      environments.add(change.subject);
    }
    for (const environmentId of environments) await sweepUploadsIfDeleted(environmentId);
  });
  app.addHook('onClose', async () => unsubscribe());

  app.setErrorHandler(environmentApiErrorHandler);
  // An upload refused before its body was read (401, 403, 413, 415) leaves a client still sending
  // megabytes nobody reads: it would block on a full TCP window and hold the connection forever (and
  // a graceful shutdown with it). So: answer with Connection: close, then read and drop what still
  // arrives for a moment ("lingering close", as nginx does) so the client sees the answer, and cut
  // the connection if it keeps sending.
  app.addHook('onSend', async (request, reply, payload) => {
    if (hasUnreadBody(request)) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (request) => {
    if (!hasUnreadBody(request)) return;
    const { socket } = request.raw;
    // Injected requests (app.inject) have a stand-in socket with nothing to linger on.
    if (typeof socket?.destroy !== 'function' || typeof socket.once !== 'function') return;
    request.raw.resume();
    const timer = setTimeout(() => socket.destroy(), LINGERING_CLOSE_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
  // Uploads arrive as raw bytes; which types a route takes is checked per route before parsing.
  app.addContentTypeParser([...ALL_ASSET_CONTENT_TYPES], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // CORS preflights carry no token (browsers never send credentials on them): answered before auth.
  // An environment that does not exist allows no origin, and is answered exactly like one that
  // does not allow this origin: without credentials nobody learns which environments exist.
  for (const route of ['media', 'media/:id', 'fonts', 'fonts/:id']) {
    app.options(`/api/v1/environments/:environmentId/${route}`, { schema: { hide: true } }, async (request, reply) => {
      const environmentId = wellFormedEnvironmentId(request);
      const settings: EnvironmentAccess | null = environmentId === undefined ? null : await access.find(environmentId);
      return answerPreflight(request, reply, settings ?? NO_BROWSER_ACCESS);
    });
  }

  await app.register(async (api) => {
    // 1. CORS response headers for browser-readable routes, before authentication so that a page
    //    can read a 401/403 answer instead of seeing an opaque network error.
    api.addHook('onRequest', async (request, reply) => {
      if (request.headers.origin === undefined || request.routeOptions.config.browserReadable !== true) return;
      const environmentId = wellFormedEnvironmentId(request);
      addCorsHeaders(request, reply, environmentId === undefined ? null : await access.find(environmentId));
    });

    // 2. Token verification by @latchkey/resource (RFC 6750 Bearer, or RFC 9449 DPoP for browser
    //    tokens bound to the page's key); sets request.accessToken. DPoP proofs name the URL the page
    //    fetched, which is under the issuer (the public URL, whatever proxy sits in front). The
    //    middleware's browser rule is off here because step 3 applies the same rule per environment
    //    (an environment may relax it), and only after the environment checks.
    await api.register(latchkeyFastify(verifier, { publicUrl: config.issuer, allowWriteTokensInBrowser: true }));

    // 3. The token's environment must be the one in the path, whatever its scopes (design §6);
    //    then the environment must exist; then the browser guard.
    api.addHook('onRequest', async (request) => {
      const { environmentId } = request.params as { environmentId: string };
      const claims = request.accessToken;
      if (claims.environment !== environmentId) {
        throw new HttpProblem(
          403,
          'wrong_environment',
          `this access token belongs to environment ${printable(String(claims.environment ?? '(none)'))}, not ${printable(environmentId)}: a token is only valid in its own environment`,
          { 'www-authenticate': `Bearer realm="${ENVIRONMENT_API_REALM}", error="insufficient_scope", error_description="the access token belongs to another environment"` },
        );
      }
      const settings = await access.find(environmentId);
      if (settings === null) throw new EnvironmentGone(environmentId);
      assertNoWriteTokenInBrowser(request, claims, settings);
    });

    // 4. The routes; each declares its scopes with requireScopes as a route-level onRequest hook.
    await api.register(documentRoutes, { storage, clock });
    await api.register(assetRoutes, { storage, blobs, clock, baseUrl: config.issuer });
  });
}
