import { nonNegative, requireUrl } from './check-options.ts';
import type { FetchLike, IssuerMetadata } from './issuer-metadata.ts';
import { createRevocationFeed } from './revocation-feed.ts';
import type { RevocationFeed } from './revocation-feed.ts';
import type { RevocationSource, RevocationStatus } from './revocation-source.ts';

/** The `revocation` option of `createVerifier`. Every field is optional. */
export interface RevocationOptions {
  /**
   * Consult this source instead of subscribing to the feed, e.g. a `RevocationSet` that the
   * authorization server itself keeps up to date (its own APIs then see a revocation at once).
   */
  readonly source?: RevocationSource;
  /** The feed URL; default: `latchkey_revocation_feed_endpoint` from the issuer's RFC 8414 metadata. */
  readonly feedUrl?: string;
  /** Refuse every token (503 `ERR_REVOCATION_UNAVAILABLE`) while the source is stale. Default false. */
  readonly failClosed?: boolean;
  /** How long the feed may be down before its revocations count as stale. Default 60. */
  readonly maxStalenessSeconds?: number;
  /** How long the first verification waits for the feed to catch up (`ready`). Default 2. */
  readonly startupWaitSeconds?: number;
  /** A connection that sends nothing (not even a keep-alive) this long is reconnected. Default 45. */
  readonly heartbeatTimeoutSeconds?: number;
  /** First reconnection delay; it doubles per failure (with jitter, between half and all of it). Default 1. */
  readonly reconnectDelaySeconds?: number;
  /** Upper bound of the reconnection delay. Default 30. */
  readonly maxReconnectDelaySeconds?: number;
  /**
   * Called on every change of the feed's state or staleness. Default: one `console.warn` per stale
   * episode naming the issuer (for an issuer without a feed: once per issuer and process).
   */
  readonly onStatusChange?: (status: RevocationStatus) => void;
}

/** What the verifier needs from its revocation set-up. */
export interface VerifierRevocation {
  readonly source: RevocationSource;
  readonly failClosed: boolean;
  /** The subscription the verifier starts on first use and stops on close, when it owns one. */
  readonly feed: RevocationFeed | undefined;
}

/** Context of {@link createVerifierRevocation}, from the verifier's own options. */
export interface VerifierRevocationContext {
  readonly issuer: string;
  readonly loadMetadata: () => Promise<IssuerMetadata>;
  /** The caller's fetch, if any (the feed then streams through it). */
  readonly fetch: FetchLike | undefined;
  readonly now: () => number;
  readonly clockToleranceSeconds: number;
}

const DISABLED_STATUS: RevocationStatus = Object.freeze({
  state: 'disabled',
  stale: false,
  since: null,
  lastEventAt: null,
  cursor: null,
  entries: 0,
  lastError: null,
  feedUrl: null,
  failures: 0,
  nextAttemptAt: null,
});

/** `revocation: false`: nothing is ever revoked, and the version never moves. */
const DISABLED_SOURCE: RevocationSource = Object.freeze({ version: 0, isRevoked: () => false, status: () => DISABLED_STATUS });

const FEED_ONLY_OPTIONS = [
  'feedUrl',
  'maxStalenessSeconds',
  'startupWaitSeconds',
  'heartbeatTimeoutSeconds',
  'reconnectDelaySeconds',
  'maxReconnectDelaySeconds',
  'onStatusChange',
] as const;

/**
 * Turns the `revocation` option into a source and a policy: `false` disables revocation checks, a
 * `source` is used as given, and otherwise a feed subscription is prepared (started by the verifier
 * on first use). Throws TypeError for a malformed option.
 *
 * @example
 * const { source, failClosed, feed } = createVerifierRevocation(options.revocation, { issuer, loadMetadata, fetch, now, clockToleranceSeconds: 5 });
 */
export function createVerifierRevocation(value: false | RevocationOptions | undefined, context: VerifierRevocationContext): VerifierRevocation {
  if (value === false) return { source: DISABLED_SOURCE, failClosed: false, feed: undefined };
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new TypeError('revocation must be false or an options object');
  }
  const options: RevocationOptions = value ?? {};
  if (options.failClosed !== undefined && typeof options.failClosed !== 'boolean') throw new TypeError('revocation.failClosed must be a boolean');
  const failClosed = options.failClosed ?? false;
  if (options.source !== undefined) {
    const { source } = options;
    if (typeof source !== 'object' || source === null || typeof source.isRevoked !== 'function' || typeof source.status !== 'function' || typeof source.version !== 'number') {
      throw new TypeError('revocation.source must have version, isRevoked(claims) and status()');
    }
    const conflicting = FEED_ONLY_OPTIONS.find((name) => options[name] !== undefined);
    if (conflicting !== undefined) throw new TypeError(`revocation.${conflicting} applies to the feed, not to a source passed in`);
    return { source, failClosed, feed: undefined };
  }
  const maxStalenessSeconds = nonNegative(options.maxStalenessSeconds, 60, 'revocation.maxStalenessSeconds');
  const reconnectDelaySeconds = nonNegative(options.reconnectDelaySeconds, 1, 'revocation.reconnectDelaySeconds');
  const maxReconnectDelaySeconds = nonNegative(options.maxReconnectDelaySeconds, 30, 'revocation.maxReconnectDelaySeconds');
  if (reconnectDelaySeconds === 0 || maxReconnectDelaySeconds < reconnectDelaySeconds) {
    throw new TypeError('revocation.reconnectDelaySeconds must be positive and at most maxReconnectDelaySeconds');
  }
  const heartbeatTimeoutSeconds = nonNegative(options.heartbeatTimeoutSeconds, 45, 'revocation.heartbeatTimeoutSeconds');
  if (heartbeatTimeoutSeconds === 0) throw new TypeError('revocation.heartbeatTimeoutSeconds must be positive');
  if (options.onStatusChange !== undefined && typeof options.onStatusChange !== 'function') {
    throw new TypeError('revocation.onStatusChange must be a function');
  }
  const feed = createRevocationFeed({
    feedUrl: options.feedUrl === undefined ? undefined : requireUrl(options.feedUrl, 'revocation.feedUrl'),
    loadMetadata: context.loadMetadata,
    fetch: context.fetch,
    now: context.now,
    pruneGraceSeconds: context.clockToleranceSeconds,
    maxStalenessMs: maxStalenessSeconds * 1000,
    startupWaitMs: nonNegative(options.startupWaitSeconds, 2, 'revocation.startupWaitSeconds') * 1000,
    heartbeatTimeoutMs: heartbeatTimeoutSeconds * 1000,
    reconnectDelayMs: reconnectDelaySeconds * 1000,
    maxReconnectDelayMs: maxReconnectDelaySeconds * 1000,
    onStatusChange: options.onStatusChange ?? warnWhenStale(context.issuer, failClosed),
  });
  return { source: feed, failClosed, feed };
}

// One warning per issuer and process for an issuer without a feed: a process often holds several
// verifiers for one issuer (one per API), and the condition lasts for their whole life.
const issuersWithoutFeedWarned = new Set<string>();

/** The default status listener: one `console.warn` per stale episode, naming the issuer and the consequence. */
function warnWhenStale(issuer: string, failClosed: boolean): (status: RevocationStatus) => void {
  let warned = false;
  const consequence = failClosed
    ? 'tokens are refused (503) until it is back'
    : 'tokens are still accepted, and a revocation made meanwhile is not seen until it is back';
  return (status) => {
    if (!status.stale) {
      warned = false;
      return;
    }
    if (warned || status.state === 'closed') return;
    warned = true;
    if (status.state === 'unsupported') {
      if (issuersWithoutFeedWarned.has(issuer)) return;
      issuersWithoutFeedWarned.add(issuer);
      const outcome = failClosed ? 'every token is refused (503)' : 'a revoked token is accepted until it expires';
      console.warn(`@latchkey/resource: ${issuer} publishes no revocation feed (${status.lastError}); ${outcome}`);
      return;
    }
    console.warn(
      `@latchkey/resource: the revocation feed of ${issuer} is not up to date (${status.state}: ${status.lastError ?? 'not caught up yet'}); ${consequence}`,
    );
  };
}
