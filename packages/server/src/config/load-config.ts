import path from 'node:path';

/** Every setting Latchkey reads, resolved and validated once at start-up (design §3). */
export interface Config {
  host: string;
  port: number;
  databaseUrl: string;
  /** Where SQLite files, the generated master key and uploads live. */
  dataDir: string;
  issuer: string;
  environmentApiAudience: string;
  /** Extra identifiers accepted as the Environment API audience (the seed's samples send https://chiligrafx.com). */
  environmentApiAliases: string[];
  platformApiAudience: string;
  tokenTtlSeconds: number;
  tokenRefreshWindowSeconds: number;
  /** Raw LATCHKEY_MASTER_KEY, if set; see keys/master-key.ts for how it is resolved. */
  masterKey: string | undefined;
  adminEmail: string | undefined;
  adminPassword: string | undefined;
  logLevel: string;
  /** Proxies whose X-Forwarded-* headers are believed (Fastify trustProxy); false trusts none. */
  trustProxy: string[] | false;
  signingAlgorithm: SigningAlgorithm;
  /** How long a rotated-in signing key is published before it starts signing. */
  keyPublishLeadSeconds: number;
  rateLimit: {
    windowSeconds: number;
    failuresPerClient: number;
    failuresPerIp: number;
  };
  /** How often a server looks for changes written by other processes (CLI, other instances). */
  changePollMilliseconds: number;
  tokenBodyLimitBytes: number;
  /** Redis for shared failed-authentication limits (LATCHKEY_REDIS_URL); otherwise the database is used. */
  redisUrl: string | undefined;
  /** Prefix of every Redis key Latchkey writes. */
  redisPrefix: string;
  /** Console sessions: idle and absolute lifetimes, seconds. */
  session: { idleSeconds: number; absoluteSeconds: number };
}

export const SIGNING_ALGORITHMS = ['ES256', 'EdDSA', 'RS256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** A bad configuration value: the message names the variable and says what is wrong, in one line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

function readInteger(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got '${raw}'`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function readUrl(env: Env, name: string, fallback: string): string {
  const raw = read(env, name) ?? fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute URL, got '${raw}'`);
  }
  if (url.hash) throw new ConfigError(`${name} must not contain a fragment (#), got '${raw}'`);
  return raw.replace(/\/+$/, '');
}

/**
 * Reads the configuration from environment variables.
 * Throws ConfigError with a single line naming the variable at fault.
 */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const port = readInteger(env, 'PORT', 8080, 0, 65535);
  const host = read(env, 'HOST') ?? '127.0.0.1';

  const databaseUrl = read(env, 'LATCHKEY_DATABASE_URL') ?? 'sqlite:./data/latchkey.db';
  if (!/^sqlite:.+/.test(databaseUrl) && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(`LATCHKEY_DATABASE_URL must be sqlite:<path> or postgres://…, got '${databaseUrl.replace(/\/\/[^@]*@/, '//***@')}'`);
  }
  const dataDir = path.resolve(
    cwd,
    read(env, 'LATCHKEY_DATA_DIR') ??
      (databaseUrl.startsWith('sqlite:') && databaseUrl !== 'sqlite::memory:'
        ? path.dirname(databaseUrl.slice('sqlite:'.length))
        : './data'),
  );

  const issuer = readUrl(env, 'LATCHKEY_ISSUER', `http://localhost:${port}`);
  const environmentApiAudience = readUrl(env, 'LATCHKEY_ENVIRONMENT_API_AUDIENCE', `${issuer}/environment-api`);
  const platformApiAudience = readUrl(env, 'LATCHKEY_PLATFORM_API_AUDIENCE', `${issuer}/platform-api`);
  if (environmentApiAudience === platformApiAudience) {
    throw new ConfigError('LATCHKEY_PLATFORM_API_AUDIENCE must differ from LATCHKEY_ENVIRONMENT_API_AUDIENCE');
  }
  const environmentApiAliases = (read(env, 'LATCHKEY_ENVIRONMENT_API_ALIASES') ?? 'https://chiligrafx.com')
    .split(',')
    .map((alias) => alias.trim())
    .filter((alias) => alias !== '' && alias !== environmentApiAudience);
  if (environmentApiAliases.includes(platformApiAudience)) {
    throw new ConfigError('LATCHKEY_ENVIRONMENT_API_ALIASES must not contain the Platform API audience');
  }

  const tokenTtlSeconds = readInteger(env, 'LATCHKEY_TOKEN_TTL', 86400, 60, 31 * 86400);
  const tokenRefreshWindowSeconds = readInteger(env, 'LATCHKEY_TOKEN_REFRESH_WINDOW', 3600, 0);
  if (tokenTtlSeconds <= tokenRefreshWindowSeconds) {
    throw new ConfigError(
      `LATCHKEY_TOKEN_TTL (${tokenTtlSeconds}) must be greater than LATCHKEY_TOKEN_REFRESH_WINDOW (${tokenRefreshWindowSeconds}), otherwise no token could ever be reused`,
    );
  }

  const signingAlgorithm = (read(env, 'LATCHKEY_SIGNING_ALG') ?? 'ES256') as SigningAlgorithm;
  if (!SIGNING_ALGORITHMS.includes(signingAlgorithm)) {
    throw new ConfigError(`LATCHKEY_SIGNING_ALG must be one of ${SIGNING_ALGORITHMS.join(', ')}, got '${signingAlgorithm}'`);
  }

  const adminEmail = read(env, 'LATCHKEY_ADMIN_EMAIL');
  if (adminEmail !== undefined && !/^[^\s@]+@[^\s@]+$/.test(adminEmail)) {
    throw new ConfigError(`LATCHKEY_ADMIN_EMAIL must be an email address, got '${adminEmail}'`);
  }
  const adminPassword = read(env, 'LATCHKEY_ADMIN_PASSWORD');
  if (adminPassword !== undefined && adminPassword.length < 12) {
    throw new ConfigError('LATCHKEY_ADMIN_PASSWORD must be at least 12 characters long');
  }

  const trustedProxies = read(env, 'LATCHKEY_TRUSTED_PROXIES');

  return {
    host,
    port,
    databaseUrl,
    dataDir,
    issuer,
    environmentApiAudience,
    environmentApiAliases,
    platformApiAudience,
    tokenTtlSeconds,
    tokenRefreshWindowSeconds,
    masterKey: read(env, 'LATCHKEY_MASTER_KEY'),
    adminEmail,
    adminPassword,
    logLevel: read(env, 'LATCHKEY_LOG_LEVEL') ?? 'info',
    trustProxy: trustedProxies ? trustedProxies.split(',').map((p) => p.trim()).filter(Boolean) : false,
    signingAlgorithm,
    keyPublishLeadSeconds: readInteger(env, 'LATCHKEY_KEY_PUBLISH_LEAD', 300, 0, 86400),
    rateLimit: {
      windowSeconds: readInteger(env, 'LATCHKEY_AUTH_FAILURE_WINDOW', 60, 1),
      failuresPerClient: readInteger(env, 'LATCHKEY_AUTH_FAILURES_PER_CLIENT', 20, 1),
      failuresPerIp: readInteger(env, 'LATCHKEY_AUTH_FAILURES_PER_IP', 50, 1),
    },
    changePollMilliseconds: readInteger(env, 'LATCHKEY_CHANGE_POLL_MS', 500, 50, 60_000),
    tokenBodyLimitBytes: 16 * 1024,
    redisUrl: (() => {
      const url = read(env, 'LATCHKEY_REDIS_URL');
      if (url !== undefined && !/^rediss?:\/\//.test(url)) throw new ConfigError('LATCHKEY_REDIS_URL must be redis://… or rediss://…');
      return url;
    })(),
    redisPrefix: read(env, 'LATCHKEY_REDIS_PREFIX') ?? 'latchkey:',
    session: {
      idleSeconds: readInteger(env, 'LATCHKEY_SESSION_IDLE_TIMEOUT', 1800, 60, 7 * 86400),
      absoluteSeconds: readInteger(env, 'LATCHKEY_SESSION_MAX_AGE', 43200, 300, 30 * 86400),
    },
  };
}
