// A client's DPoP key for the tests: signs RFC 9449 proofs the way a browser (or
// @latchkey/client's browser helper) does, with knobs to make them wrong.
import { createHash, randomUUID } from 'node:crypto';
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { JWK } from 'jose';

export interface ProofOptions {
  readonly method: string;
  readonly url: string;
  /** The access token the proof accompanies (sets ath). */
  readonly accessToken?: string;
  /** Seconds since the epoch. */
  readonly iat: number;
  readonly jti?: string;
  /** Claim overrides; undefined removes. */
  readonly claims?: Record<string, unknown>;
}

export class DpopKey {
  private constructor(
    readonly privateKey: CryptoKey,
    readonly publicJwk: JWK,
    /** RFC 7638 thumbprint: what a bound token's cnf.jkt holds. */
    readonly jkt: string,
  ) {}

  /** An ES256 key, as the browser helper makes. */
  static async create(): Promise<DpopKey> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const publicJwk = await exportJWK(publicKey);
    return new DpopKey(privateKey, publicJwk, await calculateJwkThumbprint(publicJwk, 'sha256'));
  }

  async proof(options: ProofOptions): Promise<string> {
    const claims: Record<string, unknown> = {
      jti: options.jti ?? randomUUID(),
      htm: options.method,
      htu: options.url,
      iat: options.iat,
      ...(options.accessToken === undefined ? {} : { ath: base64url.encode(createHash('sha256').update(options.accessToken).digest()) }),
      ...options.claims,
    };
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    return new SignJWT(claims).setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: this.publicJwk }).sign(this.privateKey);
  }
}
