import type { Clock } from '../support/clock.ts';
import { hashClientSecret, hashesEqual, isWellFormedClientId, isWellFormedClientSecret } from '../platform/secrets.ts';
import { InvalidClient, InvalidRequest, TooManyRequests } from './errors.ts';
import type { TokenParameters } from './token-request.ts';
import type { ClientRecord } from './client-directory.ts';
import type { HotPathCaches } from './hot-path-caches.ts';
import type { FailureRateLimiter } from './failure-rate-limiter.ts';

/** Credentials as the client presented them (RFC 6749 §2.3.1). */
export interface PresentedCredentials {
  clientId: string;
  clientSecret: string;
  method: 'client_secret_basic' | 'client_secret_post';
}

/** A successfully authenticated client and the generation of the secret it used. */
export interface AuthenticatedClient {
  client: ClientRecord;
  secretGeneration: number;
}

// application/x-www-form-urlencoded decoding (RFC 6749 §2.3.1 / Appendix B): '+' is a space.
function formDecode(text: string, what: string): string {
  // Latchkey's own IDs and secrets are base62: nothing to decode (the common, hot case).
  if (!text.includes('%') && !text.includes('+')) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new InvalidRequest(`the ${what} in the Basic authorization header is not correctly form-urlencoded`);
  }
}

/** The credentials in an `Authorization: Basic` header, decoded strictly (RFC 7617 §2, RFC 6749 §2.3.1). */
function decodeBasic(authorization: string): { clientId: string; clientSecret: string } {
  const match = /^basic +(\S*) *$/i.exec(authorization);
  if (!match) {
    throw new InvalidRequest('the Authorization header of a token request must use the Basic scheme: Basic base64(urlencode(client_id):urlencode(client_secret))');
  }
  // Node's base64 decoder skips what it cannot read and stops at padding, so `…=AAAA` or one stray
  // character would decode as if it were not there. Only the canonical encoding of the bytes counts
  // (padding may be left out).
  const encoded = match[1]!;
  const bytes = Buffer.from(encoded, 'base64');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || bytes.toString('base64') !== encoded.padEnd(Math.ceil(encoded.length / 4) * 4, '=')) {
    throw new InvalidRequest('the Basic authorization header is not valid base64 (RFC 4648 §4)');
  }
  // id and secret are form-urlencoded before base64 (RFC 6749 §2.3.1): printable ASCII only.
  const decoded = bytes.toString('latin1');
  if (/[^\x20-\x7e]/.test(decoded)) {
    throw new InvalidRequest('the Basic authorization header must contain urlencode(client_id):urlencode(client_secret): its decoded bytes are not printable ASCII');
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new InvalidRequest('the Basic authorization header must contain client_id:client_secret, base64-encoded');
  const clientId = formDecode(decoded.slice(0, colon), 'client_id');
  const clientSecret = formDecode(decoded.slice(colon + 1), 'client_secret');
  if (clientId === '' || clientSecret === '') throw new InvalidRequest('the Basic authorization header has an empty client_id or client_secret');
  return { clientId, clientSecret };
}

/**
 * Extracts the client's credentials from `Authorization: Basic` or the body, enforcing that exactly
 * one method is used (RFC 6749 §2.3: "MUST NOT use more than one authentication method").
 */
export function extractCredentials(authorization: string | undefined, params: TokenParameters): PresentedCredentials {
  const bodyClientId = params.get('client_id');
  const bodySecret = params.get('client_secret');

  if (authorization !== undefined && authorization !== '') {
    const { clientId, clientSecret } = decodeBasic(authorization);
    if (bodySecret !== undefined) {
      throw new InvalidRequest('the client authenticated twice (Basic header and client_secret in the body); use exactly one method');
    }
    if (bodyClientId !== undefined && bodyClientId !== clientId) {
      throw new InvalidRequest('client_id in the body differs from the client_id in the Basic authorization header');
    }
    return { clientId, clientSecret, method: 'client_secret_basic' };
  }

  if (bodyClientId === undefined) {
    throw new InvalidRequest('client_id is missing: send client_id and client_secret in the body, or use HTTP Basic authentication');
  }
  if (bodySecret === undefined) {
    throw new InvalidRequest('client_secret is missing: send it in the body next to client_id, or use HTTP Basic authentication');
  }
  return { clientId: bodyClientId, clientSecret: bodySecret, method: 'client_secret_post' };
}

// Compared against when the client is unknown or has fewer secrets than the most any client has,
// so every attempt does the same work whatever the outcome.
const DUMMY_HASH = Buffer.alloc(32, 0xa5);
const SECRET_SLOTS = 2;

/** The caches client authentication reads: the client directory and the verified-secret memo (hot-path-caches.ts). */
export type ClientAuthenticationCaches = Pick<HotPathCaches, 'peekClient' | 'findClient' | 'verifiedGeneration' | 'rememberVerified'>;

/**
 * Verifies presented credentials in constant time; every failure is the same InvalidClient.
 *
 * A secret that verified is remembered in the verified-secret memo (hot-path-caches.ts, which says
 * when it is forgotten). A repeat of one is recognised with a constant-time byte comparison instead
 * of an HMAC — the HMAC was a fifth of the cached-token path. Anything else, including every wrong
 * secret, takes the full HMAC path, so a failure costs the same whether or not a memo exists.
 */
export class ClientAuthenticator {
  constructor(
    private readonly caches: ClientAuthenticationCaches,
    private readonly secretHashKey: Buffer,
    private readonly clock: Clock,
  ) {}

  /** Authenticates against the client in memory, or loaded from the database. */
  async authenticate(credentials: PresentedCredentials): Promise<AuthenticatedClient> {
    const cached = this.caches.peekClient(credentials.clientId);
    return this.verify(credentials, cached !== undefined ? cached : await this.caches.findClient(credentials.clientId));
  }

  /**
   * Authenticates against what is already in memory only, never the database; null when that fails.
   * A client not in memory costs the same as an unknown one (the dummy comparison), so the answer
   * reveals nothing about which clients exist.
   */
  authenticateFromMemory(credentials: PresentedCredentials): AuthenticatedClient | null {
    try {
      return this.verify(credentials, this.caches.peekClient(credentials.clientId) ?? null);
    } catch (error) {
      if (error instanceof InvalidClient) return null;
      throw error;
    }
  }

  private verify(credentials: PresentedCredentials, client: ClientRecord | null): AuthenticatedClient {
    const now = this.clock.now();
    const presentedBytes = Buffer.from(credentials.clientSecret, 'utf8');

    if (client && !client.disabled) {
      const generation = this.caches.verifiedGeneration(client, presentedBytes, now);
      if (generation !== undefined) return { client, secretGeneration: generation };
    }

    const presented = hashClientSecret(this.secretHashKey, credentials.clientSecret);
    let matched: ClientRecord['secrets'][number] | null = null;
    const candidates = client?.secrets ?? [];
    for (let i = 0; i < Math.max(SECRET_SLOTS, candidates.length); i++) {
      const candidate = candidates[i];
      const equal = hashesEqual(presented, candidate?.hash ?? DUMMY_HASH);
      if (equal && candidate && (candidate.expiresAt === null || candidate.expiresAt > now)) matched = candidate;
    }
    if (!client || matched === null || client.disabled) {
      // The seed's Node and Java samples send the Client ID as the secret. Saying so reveals nothing:
      // the request itself shows it.
      if (credentials.clientSecret === credentials.clientId) {
        throw new InvalidClient('client_secret is the same as client_id: the request sent the Client ID where the Client Secret belongs');
      }
      // A secret with Latchkey's prefix whose length or checksum is wrong was cut short or mistyped
      // (a copy that lost its end, a character changed by hand). The checksum is public, so saying
      // so reveals nothing the request does not already show, and saves a search for the cause.
      if (credentials.clientSecret.startsWith('lks_') && !isWellFormedClientSecret(credentials.clientSecret)) {
        throw new InvalidClient(
          'client_secret looks truncated or mistyped: it starts like a Latchkey Client Secret (lks_…) but its length or checksum is wrong; copy it again from where it was stored, or rotate the secret',
        );
      }
      throw new InvalidClient('client authentication failed: unknown client, wrong secret, or disabled integration');
    }
    this.caches.rememberVerified(client, presentedBytes, matched.generation, matched.expiresAt);
    return { client, secretGeneration: matched.generation };
  }
}

/**
 * Authenticates a client under the failed-authentication limits (FailureRateLimiter): a failure is
 * counted against the client ID from this address and against the address. A throttled request is
 * refused (429) before anything is read from the database — unless its client is in memory already
 * and the secret is right: an attacker who shares the client's address (a NAT, a proxy) then cannot
 * lock out a client that is already working. Every endpoint that authenticates clients calls this.
 */
export async function authenticateThrottled(authenticator: ClientAuthenticator, limiter: FailureRateLimiter, credentials: PresentedCredentials, ip: string): Promise<AuthenticatedClient> {
  const limited = limiter.check(ip, credentials.clientId);
  if (limited) {
    const proven = authenticator.authenticateFromMemory(credentials);
    if (proven !== null) return proven;
    throw new TooManyRequests(limited.retryAfter, limited.what);
  }
  try {
    return await authenticator.authenticate(credentials);
  } catch (error) {
    if (error instanceof InvalidClient) limiter.recordFailure(ip, credentials.clientId);
    throw error;
  }
}

/**
 * The presented client ID in a form that may be stored (audit rows, failure counts): a well-formed
 * Latchkey client ID as sent, anything else as `malformed`. Never the value as sent: a client that
 * swapped its parameters sends its secret as client_id.
 */
export function storableClientId(clientId: string): string {
  return isWellFormedClientId(clientId) ? clientId : 'malformed';
}
