import type { Logger } from 'pino';
import type { Config } from './config/load-config.ts';
import type { Database } from './storage/database.ts';
import type { Clock } from './support/clock.ts';
import { ApiCatalogue } from './platform/apis.ts';
import { ChangeBus, pruneChanges, watchChanges, type ChangeWatcher } from './storage/change-log.ts';
import { RevocationList } from './platform/revocation-list.ts';
import { pruneRevocations, recordTokenLifetime } from './platform/revocations.ts';
import { verifyMasterKey, type DerivedKeys } from './keys/master-key.ts';
import { KeyStore } from './keys/key-store.ts';
import { loadSigningKeyRows } from './storage/repositories/signing-keys.ts';
import { createTokenCacheRows } from './storage/repositories/token-cache-rows.ts';
import { readClientRows } from './storage/repositories/client-records.ts';
import { createSigningThreads, type Signatures } from './keys/signing-thread.ts';
import { ClientDirectory } from './oauth/client-directory.ts';
import { HotPathCaches } from './oauth/hot-path-caches.ts';
import { FailureRateLimiter } from './oauth/failure-rate-limiter.ts';
import { DatabaseFailureStore, RedisFailureStore, type SharedFailureStore } from './oauth/shared-failure-store.ts';
import { TokenCache } from './oauth/token-cache.ts';
import type { ServingLease } from './storage/serving-lease.ts';
import { isSoleTokenWriter, prepareToServe, processRole, type ProcessRole } from './boot.ts';
import { createTokenEndpoint, type TokenEndpoint } from './oauth/token-endpoint.ts';
import { createOwnTokenVerifier } from './oauth/own-token-verifier.ts';
import { createDpopBinding } from './oauth/dpop-binding.ts';
import { grantType as tokenExchangeGrant } from './oauth/grants/token-exchange.ts';
import { recordBrowserUse } from './storage/repositories/integrations.ts';
import type { IntegrationDeps } from './platform/integrations.ts';
import { createPlatformDeps } from './platform/platform-deps.ts';

export { createPlatformDeps };
import { UsageRecorder } from './platform/usage-recorder.ts';
import { pruneSessions } from './platform/sessions.ts';
import { createMetrics, type Metrics } from './support/metrics.ts';
import { shareRegistryWithPrimary } from './support/cluster-metrics.ts';

/** The dependencies every part of Latchkey is built from. */
export interface RuntimeDeps {
  config: Config;
  database: Database;
  clock: Clock;
  logger: Logger;
  /** How this process serves (boot.ts); by default a single server, or a worker under node:cluster. */
  role?: ProcessRole;
}

/** A running Latchkey core: the services the HTTP layer and the CLI use, plus its background work. */
export interface Runtime {
  config: Config;
  database: Database;
  clock: Clock;
  logger: Logger;
  apis: ApiCatalogue;
  keys: DerivedKeys;
  keyStore: KeyStore;
  /** The worker threads tokens are signed on; closed by stop(), so no thread outlives the runtime. */
  signingThreads: Signatures;
  /** The token endpoint's hot-path caches (client directory, verified secrets, repeats) and their invalidation contract. */
  caches: HotPathCaches;
  tokenCache: TokenCache;
  rateLimiter: FailureRateLimiter;
  usage: UsageRecorder;
  metrics: Metrics;
  /** Answers a token request with protocol values; synchronously when it is an exact repeat served from memory. */
  handleTokenRequest: TokenEndpoint;
  /** Deps for the platform domain functions (platform/integrations.ts, …); their writes reach `changes` before they return. */
  platform: IntegrationDeps;
  /** Every change this process must apply, made here or elsewhere: caches subscribe to it. */
  changes: ChangeBus;
  /** Every live revocation, as the token endpoint, the APIs and the revocation feed see it. */
  revocations: RevocationList;
  /** Stops background work; does not close the database (its owner does). */
  stop(): Promise<void>;
}

/**
 * Builds the core from its dependencies (the composition root of the services): prepares the
 * database for this process's role (boot.ts: the SQLite serving lease, the first signing key),
 * creates the signing threads, loads keys into memory, and starts following the change feed so
 * writes by the CLI or other instances reach the caches. stop() undoes all of it but the database.
 */
export async function createRuntime(deps: RuntimeDeps): Promise<Runtime> {
  const { config, database, clock, logger } = deps;
  const role = deps.role ?? processRole();
  // Domain writes made through this runtime publish to its bus before they return (change-feed.ts).
  const changes = new ChangeBus((error) => logger.error({ err: error }, 'a cache could not apply a change'));
  const platform = { ...createPlatformDeps(deps), changes };
  const { keys } = platform;

  await verifyMasterKey(database, platform.masterKey);
  // Filled in once the revocation list exists (assembleRuntime); no token is minted before that.
  const revocations: { list?: RevocationList } = {};
  const tokenCache = new TokenCache({
    isRevoked: (claims) => revocations.list?.isRevoked(claims) === true,
    rows: createTokenCacheRows(database),
    clock,
    tokenSealKey: keys.tokenSealKey,
    refreshWindowSeconds: config.tokenRefreshWindowSeconds,
    soleWriter: isSoleTokenWriter(role, database) ? { onStoreError: (error) => logger.warn({ err: error }, 'could not store an issued token in the token cache table; after a restart its client gets a new one') } : undefined,
  });
  // The serving lease (SQLite) and the first signing key: boot.ts decides who does what.
  const lease = await prepareToServe({
    config,
    database,
    clock,
    signingKeySealKey: keys.signingKeySealKey,
    role,
    onLeaseLost: () => {
      logger.error('another server took over this SQLite database (this one stalled past its serving lease); storing every token before answering from now on');
      tokenCache.stopStoringBehind();
    },
  });
  // Threads start at the first signature; stop() closes them.
  const signingThreads = createSigningThreads();
  try {
    return await assembleRuntime(deps, platform, tokenCache, signingThreads, lease, revocations);
  } catch (error) {
    // A start that fails lets go of what it took: its threads, and the lease, so the next server need not wait.
    await signingThreads.close().catch(() => {});
    await lease?.release().catch(() => {});
    throw error;
  }
}

/** The rest of createRuntime, once the token cache and (on SQLite) the serving lease exist. */
async function assembleRuntime(
  deps: RuntimeDeps,
  platform: ReturnType<typeof createPlatformDeps> & { changes: ChangeBus },
  tokenCache: TokenCache,
  signingThreads: Signatures,
  lease: ServingLease | undefined,
  revocationHolder: { list?: RevocationList },
): Promise<Runtime> {
  const { config, database, clock, logger } = deps;
  const { changes } = platform;
  const { keys, apis } = platform;
  const keyStore = new KeyStore(keys.signingKeySealKey, config.tokenTtlSeconds, signingThreads);
  const reloadKeys = async () => keyStore.load(await loadSigningKeyRows(database), clock.now());
  await reloadKeys();

  const caches = new HotPathCaches(new ClientDirectory((clientId) => readClientRows(database.db, clientId)), tokenCache);
  await tokenCache.loadStoredKeys();
  let failureStore: SharedFailureStore = new DatabaseFailureStore(database);
  if (config.redisUrl) {
    const redis = new RedisFailureStore(config.redisUrl, config.redisPrefix);
    if (!(await redis.ready(2000))) logger.warn('Redis (LATCHKEY_REDIS_URL) is not answering; failed-authentication limits stay per instance until it does');
    failureStore = redis;
  }
  const rateLimiter = new FailureRateLimiter(config.rateLimit, clock, { store: failureStore, onError: (error) => logger.warn({ err: error }, 'could not share a failed-authentication count') });
  const rateLimitSync = setInterval(() => rateLimiter.syncShared().catch((error) => logger.warn({ err: error }, 'could not read shared rate limits')), 1000);
  rateLimitSync.unref();

  // Revocations must outlive the longest token this installation ever issued (platform/revocations.ts).
  await recordTokenLifetime(database, config.tokenTtlSeconds);
  const revocations = new RevocationList(database, clock);
  await revocations.catchUp();
  revocationHolder.list = revocations;
  // The hot-path caches apply their own invalidation contract (oauth/hot-path-caches.ts), first.
  caches.connect({ changes, revocations });

  changes.subscribe(async (notices) => {
    let keysChanged = false;
    let revoked = false;
    for (const change of notices) {
      if (change.kind === 'keys') keysChanged = true;
      if (change.kind === 'revocation') revoked = true;
    }
    if (revoked) await revocations.catchUp();
    if (keysChanged) await reloadKeys();
  });
  const watcher: ChangeWatcher = await watchChanges({
    database,
    listenUrl: database.dialect === 'postgres' ? config.databaseUrl : undefined,
    intervalMilliseconds: config.changePollMilliseconds,
    onChanges: (feed) => changes.publishFromFeed(feed),
    onError: (error) => logger.warn({ err: error }, 'could not read the change feed; will retry'),
  });

  const usage = new UsageRecorder(database, clock, (error) => logger.warn({ err: error }, 'could not write usage counters and audit entries; they are kept for the next flush'), {
    onAuditDropped: (count) => logger.warn({ count }, 'token.issue audit entries dropped: the audit buffer was full because the database could not keep up'),
  });
  // Every 2 s (sooner when 2,000 audit entries are waiting): minted tokens are audited one by one,
  // and smaller flushes keep each pause short.
  usage.start(2);
  const pool = database.pool;
  const metrics = createMetrics({
    auditEntriesDropped: () => usage.auditEntriesDropped,
    revocationsLive: () => revocations.size,
    databasePool: pool && (() => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount })),
  });
  shareRegistryWithPrimary(metrics.registry);

  const maintenance = setInterval(() => {
    const now = clock.now();
    revocations.prune();
    Promise.all([tokenCache.sweep(), pruneChanges(database, now - 3600_000), pruneRevocations(database, now), pruneSessions(database, clock, config.session), rateLimiter.pruneShared()]).catch(
      (error) => logger.warn({ err: error }, 'maintenance failed; will retry'),
    );
  }, 60_000);
  maintenance.unref();

  const handleTokenRequest = createTokenEndpoint({
    issuer: config.issuer,
    apis,
    clock,
    logger,
    caches,
    secretHashKey: keys.secretHashKey,
    keyStore,
    tokenCache,
    rateLimiter,
    tokenTtlSeconds: config.tokenTtlSeconds,
    exchange: { verifyOwnToken: createOwnTokenVerifier({ issuer: config.issuer, keyStore, clock }), isRevoked: (claims) => revocations.isRevoked(claims) },
    dpopBinding: createDpopBinding({ tokenEndpointUrl: `${config.issuer}/oauth/token`, clock }),
    recordBrowserUse: (use) => recordBrowserUse(database.db, use),
    onOutcome: (outcome) => {
      metrics.countTokenRequest(outcome.outcome);
      if (outcome.grantType === tokenExchangeGrant) metrics.countTokenExchange(outcome.outcome);
      usage.record(outcome);
    },
  });

  return {
    config,
    database,
    clock,
    logger,
    apis,
    keys,
    keyStore,
    signingThreads,
    caches,
    tokenCache,
    rateLimiter,
    usage,
    metrics,
    handleTokenRequest,
    platform,
    changes,
    revocations,
    async stop() {
      clearInterval(maintenance);
      clearInterval(rateLimitSync);
      await failureStore.close();
      await watcher.stop();
      await usage.stop();
      await tokenCache.flush();
      // After the app has closed (server.ts) no request is left to sign for.
      await signingThreads.close();
      await lease?.release();
    },
  };
}
