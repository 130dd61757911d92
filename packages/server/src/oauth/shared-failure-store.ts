import { createRequire } from 'node:module';
import type { Redis as RedisClient } from 'ioredis';
import type { Database } from '../storage/database.ts';
import { addAuthFailures, deleteAuthFailuresBefore, readAuthFailures } from '../storage/repositories/auth-failures.ts';

/** Where instances share failed-authentication counts (design §8: one budget across N instances). */
export interface SharedFailureStore {
  /** Adds one failure to each key in the window starting at `windowStart` (ms). */
  add(keys: readonly string[], windowStart: number, windowSeconds: number, limitOf: (key: string) => number): Promise<void>;
  /** Keys at or over their limit in that window. */
  overLimit(windowStart: number, limitOf: (key: string) => number): Promise<string[]>;
  /** Forgets windows before `windowStart`. */
  prune(windowStart: number): Promise<void>;
  close(): Promise<void>;
}

/** The default: a table in the database every instance already shares. */
export class DatabaseFailureStore implements SharedFailureStore {
  constructor(private readonly database: Database) {}

  async add(keys: readonly string[], windowStart: number): Promise<void> {
    await addAuthFailures(this.database.db, keys, windowStart);
  }

  async overLimit(windowStart: number, limitOf: (key: string) => number): Promise<string[]> {
    const rows = await readAuthFailures(this.database.db, windowStart);
    return rows.filter((row) => row.count >= limitOf(row.key)).map((row) => row.key);
  }

  async prune(windowStart: number): Promise<void> {
    await deleteAuthFailuresBefore(this.database.db, windowStart);
  }

  async close(): Promise<void> {}
}

/**
 * Redis, when LATCHKEY_REDIS_URL is set: counters are INCR'd with an expiry of the window, and a key
 * that reaches its limit is added to the window's "over limit" set, which instances read once a
 * second. Nothing needs pruning: Redis expires both.
 */
export class RedisFailureStore implements SharedFailureStore {
  private readonly redis: RedisClient;

  constructor(url: string, private readonly prefix: string) {
    // ioredis is loaded only when Redis is configured: an instance without it never pays its load
    // time and memory (measured for issue 15: about 7 MB of RSS). It is CommonJS, so require() loads
    // it here synchronously.
    const { Redis } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
    // Fail fast rather than queue commands while Redis is away: a lost count is better than a stall.
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    this.redis.on('error', () => {});
  }

  async add(keys: readonly string[], windowStart: number, windowSeconds: number, limitOf: (key: string) => number): Promise<void> {
    const ttl = windowSeconds * 1000 + 5000;
    const blocked = `${this.prefix}over:${windowStart}`;
    for (const key of keys) {
      const counter = `${this.prefix}fail:${windowStart}:${key}`;
      const [[, count]] = (await this.redis.multi().incr(counter).pexpire(counter, ttl).exec()) as [[unknown, number], unknown];
      if (count >= limitOf(key)) await this.redis.multi().sadd(blocked, key).pexpire(blocked, ttl).exec();
    }
  }

  /**
   * Resolves once connected (true) or after `timeoutMs` (false). Commands are not queued while
   * disconnected, so counts sent before the connection is up would be lost: start-up waits for it.
   */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.redis.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.redis.off('ready', onReady);
        resolve(false);
      }, timeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.redis.once('ready', onReady);
    });
  }

  async overLimit(windowStart: number): Promise<string[]> {
    return this.redis.smembers(`${this.prefix}over:${windowStart}`);
  }

  async prune(): Promise<void> {}

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
