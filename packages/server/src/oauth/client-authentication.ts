import type { Clock } from '../support/clock.ts';
import { hashClientSecret, hashesEqual } from '../platform/secrets.ts';
import { InvalidClient, InvalidRequest } from './errors.ts';
import type { TokenParameters } from './token-request.ts';
import type { ClientDirectory, ClientRecord } from './client-directory.ts';

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
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new InvalidRequest(`the ${what} in the Basic authorization header is not correctly form-urlencoded`);
  }
}

/**
 * Extracts the client's credentials from `Authorization: Basic` or the body, enforcing that exactly
 * one method is used (RFC 6749 §2.3: "MUST NOT use more than one authentication method").
 */
export function extractCredentials(authorization: string | undefined, params: TokenParameters): PresentedCredentials {
  const bodyClientId = params.get('client_id');
  const bodySecret = params.get('client_secret');

  if (authorization !== undefined && authorization !== '') {
    const match = /^basic +([A-Za-z0-9+/=_-]*) *$/i.exec(authorization);
    if (!match) {
      throw new InvalidRequest('the Authorization header of a token request must use the Basic scheme: Basic base64(urlencode(client_id):urlencode(client_secret))');
    }
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new InvalidRequest('the Basic authorization header must contain client_id:client_secret, base64-encoded');
    const clientId = formDecode(decoded.slice(0, colon), 'client_id');
    const clientSecret = formDecode(decoded.slice(colon + 1), 'client_secret');
    if (clientId === '' || clientSecret === '') throw new InvalidRequest('the Basic authorization header has an empty client_id or client_secret');
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

/** Verifies presented credentials in constant time; every failure is the same InvalidClient. */
export class ClientAuthenticator {
  constructor(
    private readonly directory: ClientDirectory,
    private readonly secretHashKey: Buffer,
    private readonly clock: Clock,
  ) {}

  async authenticate(credentials: PresentedCredentials): Promise<AuthenticatedClient> {
    const client = await this.directory.find(credentials.clientId);
    const presented = hashClientSecret(this.secretHashKey, credentials.clientSecret);
    const now = this.clock.now();
    let matched: number | null = null;
    const candidates = client?.secrets ?? [];
    for (let i = 0; i < Math.max(SECRET_SLOTS, candidates.length); i++) {
      const candidate = candidates[i];
      const equal = hashesEqual(presented, candidate?.hash ?? DUMMY_HASH);
      if (equal && candidate && (candidate.expiresAt === null || candidate.expiresAt > now)) matched = candidate.generation;
    }
    if (!client || matched === null || client.disabled) {
      const usedBasic = credentials.method === 'client_secret_basic';
      // The seed's Node and Java samples send the Client ID as the secret. Saying so reveals nothing:
      // the request itself shows it.
      if (credentials.clientSecret === credentials.clientId) {
        throw new InvalidClient('client_secret is the same as client_id: the request sent the Client ID where the Client Secret belongs', usedBasic);
      }
      throw new InvalidClient('client authentication failed: unknown client, wrong secret, or disabled integration', usedBasic);
    }
    return { client, secretGeneration: matched };
  }
}
