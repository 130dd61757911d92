import { timingSafeEqual } from 'node:crypto';
import type { ClientDirectory, ClientRecord } from './client-directory.ts';
import type { MintedToken } from './mint-access-token.ts';
import { RepeatMemo, type MemoEntry, type RawTokenRequest } from './repeat-memo.ts';
import type { TokenCache } from './token-cache.ts';
import type { IssuedToken } from './token-response.ts';

/** A change as the change bus delivers it (platform/change-feed.ts `ChangeNotice`). */
export interface CacheChange {
  kind: string;
  subject: string;
}

/** A revocation as the revocation list delivers it (only token entries concern these caches). */
export interface CacheRevocation {
  entry: { type: string; jti?: string };
}

/** Where changes come from: the process's change bus and revocation list (anything with `subscribe`). */
export interface CacheChangeSources {
  changes: { subscribe(listener: (changes: readonly CacheChange[]) => void | Promise<void>): () => void };
  revocations: { subscribe(listener: (added: readonly CacheRevocation[]) => void): () => void };
}

/** What a successful token request resolved to, remembered for an exact repeat of it. */
export interface RepeatedRequest extends MemoEntry {
  clientId: string;
  /** The directory record it was authenticated against: the entry is valid only while it is current. */
  record: ClientRecord;
  secretGeneration: number;
  /** When the secret that matched expires (ms), or null. */
  secretExpiresAt: number | null;
  /** The cached token it was answered with, and the token cache's epoch when it was read. */
  token: MintedToken;
  cacheEpoch: number;
  audience: string;
  scopes: readonly string[];
  scopeText: string;
  /** The protocol answer last made for it (expires_in changes once a second, the rest never), and that second. */
  issued: IssuedToken | undefined;
  issuedForSecond: number;
}

/** A secret that verified for a client record, remembered so the next request skips the HMAC. */
interface VerifiedSecret {
  record: ClientRecord;
  secret: Buffer;
  generation: number;
  expiresAt: number | null;
}

// Verified secrets kept per client: the current one and the one being rotated out.
const SECRET_SLOTS = 2;
const MAX_VERIFIED_CLIENTS = 200_000;

/**
 * The three caches on the token endpoint's hot path, behind one invalidation contract:
 *
 * - the **client directory** (client-directory.ts): client records by Client ID, unknown IDs
 *   included (as null), loaded from the database;
 * - the **verified-secret memo**: secrets that passed the HMAC check, per client, so a repeat is
 *   recognised with one constant-time comparison;
 * - the **repeat memo** (repeat-memo.ts): exact repeats of successful requests, so one is answered
 *   without parsing, authenticating or resolving scopes again.
 *
 * The contract — what makes an entry unusable, applied by {@link HotPathCaches.connect} and by the
 * checks in the lookups; a cached answer is never served once a change has been applied (the change
 * bus applies a write made in this process before the write returns, and one made elsewhere when the
 * change feed delivers it):
 *
 * | event | client directory | verified-secret memo | repeat memo |
 * |---|---|---|---|
 * | `integration` change (created, secret rotated or revoked, permissions set, disabled or enabled, tokens revoked, deleted — also each integration of a deleted environment; a rename changes nothing cached and records none) | the client's entry and any load under way for it are dropped | the client's entries are dropped | entries for the client are refused (their record is no longer current) and dropped when next looked up |
 * | token revocation (RFC 7009: a `revocation` change, read into the revocation list) | — | — | every entry is refused (the token cache's epoch moves) |
 * | `environment` change (create, rename, browser settings) | — | — | — (entries hold nothing these change; a deletion comes as `integration` changes, and so does a change of the browser-token settings each client record carries: platform/environments.ts records one per integration of the environment) |
 * | `keys` change (a signing key created or rotated) | — | — | — (tokens already issued stay valid: their key stays published until the last of them expires) |
 * | time: the matched secret expires | — | the entry is refused from its expiry on | the entry is refused from its expiry on |
 * | time: the token enters its refresh window | — | — | the entry is refused |
 * | the token cache replaces a token still fresh | — | — | every entry is refused (epoch) |
 *
 * Every entry is also bound to the exact directory record object it was made from: an entry made
 * from a record that has since been reloaded is never used, whatever order a load and a change
 * arrive in. The token cache (token-cache.ts) needs no invalidation of its own for integration
 * changes: its keys carry the grant version, the secret generation and the revocation time.
 * Entries hold credential material in this process's memory, which already holds the master key
 * that protects every secret (docs/decisions.md).
 */
export class HotPathCaches {
  private readonly verified = new Map<string, VerifiedSecret[]>();
  private readonly repeats = new RepeatMemo<RepeatedRequest>();

  constructor(
    /** The client directory; its entries are dropped only through this module. */
    readonly directory: ClientDirectory,
    private readonly tokenCache: Pick<TokenCache, 'epoch' | 'isFresh' | 'forgetToken'>,
  ) {}

  /**
   * Follows the change bus and the revocation list, applying the contract above. Returns the
   * function that stops following. The bus waits for this listener: a change is applied before the
   * write that made it answers.
   */
  connect(sources: CacheChangeSources): () => void {
    const stopChanges = sources.changes.subscribe((changes) => this.applyChanges(changes));
    const stopRevocations = sources.revocations.subscribe((added) => {
      for (const { entry } of added) if (entry.type === 'token' && entry.jti !== undefined) this.tokenCache.forgetToken(entry.jti);
    });
    return () => {
      stopChanges();
      stopRevocations();
    };
  }

  /** Applies changes from the change bus (see the contract). */
  applyChanges(changes: readonly CacheChange[]): void {
    for (const change of changes) {
      if (change.kind !== 'integration') continue;
      this.directory.invalidate(change.subject);
      this.verified.delete(change.subject);
    }
  }

  /** Forgets everything (change notices may have been missed). */
  clear(): void {
    this.directory.invalidateAll();
    this.verified.clear();
    this.repeats.clear();
  }

  /** The client if it is in memory (null = known not to exist), undefined if it must be loaded. */
  peekClient(clientId: string): ClientRecord | null | undefined {
    return this.directory.peek(clientId);
  }

  /** The client with this ID, or null, from memory or loaded. */
  findClient(clientId: string): Promise<ClientRecord | null> {
    return this.directory.find(clientId);
  }

  /**
   * The generation of `presented` if it verified before for exactly this record and has not expired
   * at `now`; undefined otherwise. The comparison is constant-time.
   */
  verifiedGeneration(record: ClientRecord, presented: Buffer, now: number): number | undefined {
    const memos = this.verified.get(record.clientId);
    if (memos === undefined) return undefined;
    for (const memo of memos) {
      if (memo.record === record && memo.secret.length === presented.length && timingSafeEqual(memo.secret, presented) && (memo.expiresAt === null || memo.expiresAt > now)) {
        return memo.generation;
      }
    }
    return undefined;
  }

  /** Remembers that `presented` verified for `record` (at most SECRET_SLOTS per client). */
  rememberVerified(record: ClientRecord, presented: Buffer, generation: number, expiresAt: number | null): void {
    const kept = (this.verified.get(record.clientId) ?? []).filter((m) => m.record === record).slice(-(SECRET_SLOTS - 1));
    if (this.verified.size >= MAX_VERIFIED_CLIENTS && !this.verified.has(record.clientId)) this.verified.clear();
    this.verified.set(record.clientId, [...kept, { record, secret: presented, generation, expiresAt }]);
  }

  /** Whether a request is small enough to remember as a repeat. */
  acceptsRepeat(request: RawTokenRequest): boolean {
    return this.repeats.accepts(request);
  }

  /**
   * The remembered answer to exactly this request, if it may still be served at `now` (see the
   * contract); an entry that may not is forgotten.
   */
  findRepeat(request: RawTokenRequest, now: number): RepeatedRequest | undefined {
    const repeat = this.repeats.get(request);
    if (repeat === undefined) return undefined;
    if (
      this.directory.peek(repeat.clientId) === repeat.record &&
      (repeat.secretExpiresAt === null || repeat.secretExpiresAt > now) &&
      repeat.cacheEpoch === this.tokenCache.epoch &&
      this.tokenCache.isFresh(repeat.token, now)
    ) {
      return repeat;
    }
    this.repeats.forget(repeat);
    return undefined;
  }

  /** Remembers a successful request's answer for its exact repeats. */
  rememberRepeat(entry: RepeatedRequest): void {
    this.repeats.remember(entry);
  }

  /** Forgets one remembered request (the caller may not serve it, e.g. its client is throttled). */
  forgetRepeat(entry: RepeatedRequest): void {
    this.repeats.forget(entry);
  }
}
