import cluster from 'node:cluster';
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
import { ensureSigningKey } from './keys/signing-keys.ts';
import { loadSigningKeyRows } from './storage/repositories/signing-keys.ts';
import { createTokenCacheRows } from './storage/repositories/token-cache-rows.ts';
import { ClientDirectory } from './oauth/client-directory.ts';
import { HotPathCaches } from './oauth/hot-path-caches.ts';
import { FailureRateLimiter } from './oauth/failure-rate-limiter.ts';
import { DatabaseFailureStore, RedisFailureStore, type SharedFailureStore } from './oauth/shared-failure-store.ts';
import { TokenCache } from './oauth/token-cache.ts';
import { ServingLease } from './storage/serving-lease.ts';
import { createTokenEndpoint, type TokenEndpoint } from './oauth/token-endpoint.ts';
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
 * Builds the core from its dependencies: on SQLite takes the serving lease, makes sure a signing key
 * exists, loads keys into memory, and starts following the change feed so writes by the CLI or other
 * instances reach the caches.
 */
export async function createRuntime(deps: RuntimeDeps): Promise<Runtime> {
  const { config, database, clock, logger } = deps;
  // Domain writes made through this runtime publish to its bus before they return (change-feed.ts).
  const changes = new ChangeBus((error) => logger.error({ err: error }, 'a cache could not apply a change'));
  const platform = { ...createPlatformDeps(deps), changes };
  const { keys } = platform;

  await verifyMasterKey(database, platform.masterKey);
  // On SQLite one serving process holds the serving lease (storage/serving-lease.ts), taken before it
  // changes anything, and is then the only writer of the token table: it answers a new token before
  // storing it (token-cache.ts). node:cluster workers share their primary's lease and store before
  // answering, as every instance on PostgreSQL does.
  const soleWriter = database.dialect === 'sqlite' && cluster.isPrimary;
  // Filled in once the revocation list exists (assembleRuntime); no token is minted before that.
  const revocations: { list?: RevocationList } = {};
  const tokenCache = new TokenCache({
    isRevoked: (claims) => revocations.list?.isRevoked(claims) === true,
    rows: createTokenCacheRows(database),
    clock,
    tokenSealKey: keys.tokenSealKey,
    refreshWindowSeconds: config.tokenRefreshWindowSeconds,
    soleWriter: soleWriter ? { onStoreError: (error) => logger.warn({ err: error }, 'could not store an issued token in the token cache table; after a restart its client gets a new one') } : undefined,
  });
  const lease = soleWriter
    ? await ServingLease.acquire({
        database,
        clock,
        onLost: () => {
          logger.error('another server took over this SQLite database (this one stalled past its serving lease); storing every token before answering from now on');
          tokenCache.stopStoringBehind();
        },
      })
    : undefined;
  try {
    return await assembleRuntime(deps, platform, tokenCache, lease, revocations);
  } catch (error) {
    // A start that fails after taking the lease gives it up, so the next server need not wait.
    await lease?.release().catch(() => {});
    throw error;
  }
}

/** The rest of createRuntime, once the token cache and (on SQLite) the serving lease exist. */
async function assembleRuntime(
  deps: RuntimeDeps,
  platform: ReturnType<typeof createPlatformDeps> & { changes: ChangeBus },
  tokenCache: TokenCache,
  lease: ServingLease | undefined,
  revocationHolder: { list?: RevocationList },
): Promise<Runtime> {
  const { config, database, clock, logger } = deps;
  const { changes } = platform;
  const { keys, apis } = platform;
  const keyDeps = { database, signingKeySealKey: keys.signingKeySealKey, tokenTtlSeconds: config.tokenTtlSeconds };
  await ensureSigningKey(keyDeps, config.signingAlgorithm, clock.now());
  const keyStore = new KeyStore(keys.signingKeySealKey, config.tokenTtlSeconds);
  const reloadKeys = async () => keyStore.load(await loadSigningKeyRows(database), clock.now());
  await reloadKeys();

  const caches = new HotPathCaches(new ClientDirectory(database), tokenCache);
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
    onChanges: (feed) => changes.publish(feed),
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
    onOutcome: (outcome) => {
      metrics.countTokenRequest(outcome.outcome);
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
      await lease?.release();
    },
  };
}
