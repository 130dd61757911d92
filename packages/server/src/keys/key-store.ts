import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import type { SigningKeysTable } from '../storage/schema.ts';
import { describeSigningKeys } from './signing-keys.ts';
import { open } from './sealed-box.ts';
import type { Signatures } from './signing-thread.ts';

/** The key that signs right now, and the signing threads it signs on. */
export interface Signer {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  threads: Signatures;
}

/**
 * The in-memory view of the signing keys: which key signs now and what the JWKS publishes.
 * Refreshed from the database when the change feed reports a key change; the hot path never reads
 * the database.
 */
export class KeyStore {
  private rows: SigningKeysTable[] = [];
  private readonly privateKeys = new Map<string, Signer>();
  private jwksCache: { body: string; validUntil: number; validFrom: number } | null = null;

  /** `threads` sign for every signer this store hands out; the store's owner closes them. */
  constructor(
    private readonly signingKeySealKey: Buffer,
    private readonly tokenTtlSeconds: number,
    private readonly threads: Signatures,
  ) {}

  /** Replaces the known keys with `rows`, decrypting private keys that may still sign. */
  async load(rows: SigningKeysTable[], now: number): Promise<void> {
    const states = new Map(describeSigningKeys(rows, now, this.tokenTtlSeconds).map((s) => [s.kid, s.state]));
    for (const row of rows) {
      if (this.privateKeys.has(row.kid) || states.get(row.kid) === 'retired' || states.get(row.kid) === 'retiring') continue;
      const jwk = JSON.parse(open(this.signingKeySealKey, row.private_jwk_sealed, `signing-key:${row.kid}`)) as JWK;
      // A node:crypto KeyObject: signing goes through keys/compact-jws.ts.
      this.privateKeys.set(row.kid, { kid: row.kid, alg: row.alg, privateKey: createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }), threads: this.threads });
    }
    this.rows = [...rows].sort((a, b) => a.activates_at - b.activates_at || a.kid.localeCompare(b.kid));
    this.jwksCache = null;
  }

  /** The key that signs at `now`: the most recently activated one. */
  signer(now: number): Signer {
    for (let i = this.rows.length - 1; i >= 0; i--) {
      const row = this.rows[i]!;
      if (row.activates_at <= now) {
        const signer = this.privateKeys.get(row.kid);
        if (signer) return signer;
      }
    }
    throw new Error('no signing key is active: the server must run ensureSigningKey at start-up');
  }

  /** True once at least one key can sign. */
  isReady(now: number): boolean {
    return this.rows.some((row) => row.activates_at <= now && this.privateKeys.has(row.kid));
  }

  /** The JWKS document (RFC 7517) as a JSON string: every key not yet retired. */
  jwks(now: number): string {
    const cached = this.jwksCache;
    if (cached && now >= cached.validFrom && now < cached.validUntil) return cached.body;
    const summaries = describeSigningKeys(this.rows, now, this.tokenTtlSeconds);
    const published = new Set(summaries.filter((s) => s.state !== 'retired').map((s) => s.kid));
    const keys = this.rows.filter((row) => published.has(row.kid)).map((row) => JSON.parse(row.public_jwk) as JWK);
    // The set changes only when a key activates or a retiring key's tokens run out.
    const boundaries = summaries.flatMap((s) => [s.activatesAt, s.publishedUntil ?? Infinity]).filter((t) => t > now);
    const body = JSON.stringify({ keys });
    this.jwksCache = { body, validFrom: now, validUntil: Math.min(Infinity, ...boundaries) };
    return body;
  }
}
