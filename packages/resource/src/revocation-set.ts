import type { AccessTokenClaims } from './claims.ts';
import type { RevocationSource, RevocationStatus } from './revocation-source.ts';

/**
 * One revocation as the issuer publishes it (docs: the Latchkey revocation feed). Times are
 * NumericDate seconds, like JWT claims; `expiresAt` is when no token the entry covers can still be
 * unexpired, so the entry may be forgotten then.
 */
export type RevocationEntry =
  | { readonly type: 'token'; readonly jti: string; readonly expiresAt: number }
  | { readonly type: 'client'; readonly clientId: string; readonly notBefore: number; readonly expiresAt: number }
  | { readonly type: 'environment'; readonly environmentId: string; readonly notBefore: number; readonly expiresAt: number };

/** The claims a revocation check reads. */
export type RevocableClaims = Pick<AccessTokenClaims, 'jti' | 'client_id' | 'iat' | 'environment'>;

/** Time is NumericDate seconds; anything else (a float, a string, NaN) is not an entry. */
function isSeconds(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/**
 * Whether a value (say, parsed from the feed) is a well-formed {@link RevocationEntry}.
 *
 * @example
 * if (isRevocationEntry(JSON.parse(data))) set.apply(entry);
 */
export function isRevocationEntry(value: unknown): value is RevocationEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  if (!isSeconds(entry['expiresAt'])) return false;
  switch (entry['type']) {
    case 'token':
      return isId(entry['jti']);
    case 'client':
      return isId(entry['clientId']) && isSeconds(entry['notBefore']);
    case 'environment':
      return isId(entry['environmentId']) && isSeconds(entry['notBefore']);
    default:
      return false;
  }
}

interface Cutoff {
  notBefore: number;
  expiresAt: number;
}

/**
 * The revocations in force, in memory: applies entries (the highest `notBefore` and the latest
 * `expiresAt` per client and per environment win, so order and repetition do not matter), answers
 * whether verified claims are revoked, and forgets entries past `expiresAt`. `version` moves
 * whenever the set changes, so a cache can remember which version it checked against.
 *
 * It is also a {@link RevocationSource} that is always `live`: a server that holds its revocations in
 * memory passes one to `createVerifier({ revocation: { source } })` and its APIs see a revocation
 * the moment it is applied.
 *
 * @example
 * const revocations = new RevocationSet();
 * revocations.apply({ type: 'client', clientId: 'lkc_1', notBefore: 1764600000, expiresAt: 1764603600 });
 * revocations.isRevoked({ jti: 'a', client_id: 'lkc_1', iat: 1764599999 }); // true
 */
export class RevocationSet implements RevocationSource {
  readonly #tokens = new Map<string, number>();
  readonly #clients = new Map<string, Cutoff>();
  readonly #environments = new Map<string, Cutoff>();
  #version = 0;

  /** Moves (increases) whenever an entry is added, raised or forgotten; never otherwise. */
  get version(): number {
    return this.#version;
  }

  /** How many entries are held (one per token, client and environment). */
  get size(): number {
    return this.#tokens.size + this.#clients.size + this.#environments.size;
  }

  /** Applies one entry; returns whether the set changed. Throws TypeError for a malformed entry. */
  apply(entry: RevocationEntry): boolean {
    if (!isRevocationEntry(entry)) throw new TypeError('not a revocation entry');
    let changed: boolean;
    if (entry.type === 'token') {
      const known = this.#tokens.get(entry.jti);
      changed = known === undefined || entry.expiresAt > known;
      if (changed) this.#tokens.set(entry.jti, entry.expiresAt);
    } else {
      const cutoffs = entry.type === 'client' ? this.#clients : this.#environments;
      const key = entry.type === 'client' ? entry.clientId : entry.environmentId;
      const known = cutoffs.get(key);
      if (known === undefined) {
        cutoffs.set(key, { notBefore: entry.notBefore, expiresAt: entry.expiresAt });
        changed = true;
      } else {
        changed = entry.notBefore > known.notBefore || entry.expiresAt > known.expiresAt;
        known.notBefore = Math.max(known.notBefore, entry.notBefore);
        known.expiresAt = Math.max(known.expiresAt, entry.expiresAt);
      }
    }
    if (changed) this.#version += 1;
    return changed;
  }

  /**
   * Whether verified claims are revoked: their `jti` is listed, or they were issued (`iat`) before
   * the `notBefore` of their client or environment. The issuer mints every later token with
   * `iat >= notBefore`, so a token issued after a revocation is never refused by it.
   */
  isRevoked(claims: RevocableClaims): boolean {
    if (this.#tokens.size !== 0 && this.#tokens.has(claims.jti)) return true;
    const client = this.#clients.size === 0 ? undefined : this.#clients.get(claims.client_id);
    if (client !== undefined && claims.iat < client.notBefore) return true;
    if (this.#environments.size === 0 || typeof claims.environment !== 'string') return false;
    const environment = this.#environments.get(claims.environment);
    return environment !== undefined && claims.iat < environment.notBefore;
  }

  /**
   * Forgets the entries whose `expiresAt` is at or before `nowSeconds`, when every token they cover
   * has expired. Returns how many were forgotten. Pass `now - clockTolerance` if expired tokens are
   * still accepted within a tolerance.
   */
  prune(nowSeconds: number): number {
    if (typeof nowSeconds !== 'number' || Number.isNaN(nowSeconds)) throw new TypeError('nowSeconds must be a number');
    let removed = 0;
    for (const [jti, expiresAt] of this.#tokens) {
      if (expiresAt <= nowSeconds) {
        this.#tokens.delete(jti);
        removed += 1;
      }
    }
    for (const cutoffs of [this.#clients, this.#environments]) {
      for (const [key, cutoff] of cutoffs) {
        if (cutoff.expiresAt <= nowSeconds) {
          cutoffs.delete(key);
          removed += 1;
        }
      }
    }
    if (removed !== 0) this.#version += 1;
    return removed;
  }

  /** Always `live`: the set is the authority itself, nothing can make it stale. */
  status(): RevocationStatus {
    return {
      state: 'live',
      stale: false,
      since: null,
      lastEventAt: null,
      cursor: null,
      entries: this.size,
      lastError: null,
      feedUrl: null,
      failures: 0,
      nextAttemptAt: null,
    };
  }
}
