import type { AccessTokenClaims } from './claims.ts';

/**
 * Where a revocation source stands:
 * - `disabled`: revocation checks are off (`revocation: false`);
 * - `idle`: the feed starts on the first verification;
 * - `connecting`: connecting, or connected and catching up (before the feed's `ready`);
 * - `live`: caught up, revocations arrive as they happen;
 * - `unreachable`: the last attempt failed; the next one is at `nextAttemptAt`;
 * - `unsupported`: the issuer's metadata names no revocation feed;
 * - `closed`: `verifier.close()` was called.
 */
export type RevocationState = 'disabled' | 'idle' | 'connecting' | 'live' | 'unreachable' | 'unsupported' | 'closed';

/** A snapshot of a revocation source, for health checks and logs. Times are milliseconds since the epoch. */
export interface RevocationStatus {
  readonly state: RevocationState;
  /**
   * The source cannot vouch for being up to date: unreachable longer than `maxStalenessSeconds`,
   * never caught up since start, `unsupported`, or `closed`. `failClosed` verifiers refuse tokens
   * (503) while this is true.
   */
  readonly stale: boolean;
  /** When `state` last changed; `null` when the source does not track it. */
  readonly since: number | null;
  /** When the feed last sent something (an event or a keep-alive). */
  readonly lastEventAt: number | null;
  /** The feed position, sent as `Last-Event-ID` on reconnection. */
  readonly cursor: string | null;
  /** Revocation entries held. */
  readonly entries: number;
  /** Why the last attempt failed (never carries credentials). */
  readonly lastError: string | null;
  /** The feed being followed, without any credentials in it. */
  readonly feedUrl: string | null;
  /** Failed attempts since the feed was last caught up; drives the backoff. */
  readonly failures: number;
  /** When the next connection attempt is due, while `unreachable`. */
  readonly nextAttemptAt: number | null;
}

/**
 * What `createVerifier` consults to refuse revoked tokens: the built-in feed subscriber, or an
 * in-process source such as a {@link RevocationSet} that the authorization server updates itself.
 *
 * `version` must move whenever an `isRevoked` answer or `status().stale` may have changed: the
 * verifier re-checks a cached token only when the version it was checked against has moved.
 */
export interface RevocationSource {
  /** Increases whenever an answer of `isRevoked` or `status().stale` may have changed. */
  readonly version: number;
  /** Whether verified claims are revoked; synchronous and cheap (it runs on every verification). */
  isRevoked(claims: AccessTokenClaims): boolean;
  /** The current state; `stale: true` makes `failClosed` verifiers answer 503. */
  status(): RevocationStatus;
}
