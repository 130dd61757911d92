import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Database } from '../storage/database.ts';
import type { SigningKeysTable } from '../storage/schema.ts';
import type { SigningAlgorithm } from '../config/load-config.ts';
import { newId } from '../support/ids.ts';
import { seal } from './sealed-box.ts';
import { SYSTEM_CONTEXT, type ActionContext } from '../storage/audit-log.ts';
import { insertSigningKeyLocked, loadSigningKeyRows } from '../storage/repositories/signing-keys.ts';

/** A signing key row's place in its life, derived from the times of it and its successor. */
export type SigningKeyState = 'next' | 'active' | 'retiring' | 'retired';

/** What `keys list` and the API show about a key: never its private half. */
export interface SigningKeySummary {
  kid: string;
  alg: string;
  state: SigningKeyState;
  createdAt: number;
  activatesAt: number;
  /** When a successor took over signing, if one has. */
  retiredAt: number | null;
  /** Until when the key stays in the JWKS (its last token's expiry), if retiring. */
  publishedUntil: number | null;
}

/** Dependencies of the key functions. */
export interface SigningKeyDeps {
  database: Database;
  signingKeySealKey: Buffer;
  tokenTtlSeconds: number;
}

/**
 * Derives each key's state. Keys sign one after another in activation order; a key stops signing
 * when its successor activates, and stays published until the last token it signed has expired.
 */
export function describeSigningKeys(rows: SigningKeysTable[], now: number, tokenTtlSeconds: number): SigningKeySummary[] {
  const sorted = [...rows].sort((a, b) => a.activates_at - b.activates_at || a.kid.localeCompare(b.kid));
  return sorted.map((row, i) => {
    const successor = sorted.slice(i + 1).find((next) => next.activates_at <= now);
    const retiredAt = successor ? successor.activates_at : null;
    const publishedUntil = retiredAt === null ? null : retiredAt + tokenTtlSeconds * 1000;
    let state: SigningKeyState;
    if (row.activates_at > now) state = 'next';
    else if (retiredAt === null) state = 'active';
    else if (publishedUntil !== null && publishedUntil > now) state = 'retiring';
    else state = 'retired';
    return { kid: row.kid, alg: row.alg, state, createdAt: row.created_at, activatesAt: row.activates_at, retiredAt, publishedUntil };
  });
}

async function generateSigningKeyRow(alg: SigningAlgorithm, sealKey: Buffer, now: number, activatesAt: number): Promise<SigningKeysTable> {
  const kid = newId('key', now);
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}), ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg };
  return {
    kid,
    alg,
    public_jwk: JSON.stringify(publicJwk),
    private_jwk_sealed: seal(sealKey, JSON.stringify(privateJwk), `signing-key:${kid}`),
    created_at: now,
    activates_at: activatesAt,
  };
}

/** Creates a first signing key if none signs now. Run at start-up; idempotent across instances. */
export async function ensureSigningKey(deps: SigningKeyDeps, alg: SigningAlgorithm, now: number): Promise<void> {
  // Generate outside the lock (RSA generation is slow); throw it away if another process won.
  const candidate = await generateSigningKeyRow(alg, deps.signingKeySealKey, now, now);
  await insertSigningKeyLocked(
    deps.database,
    now,
    (rows) => (rows.some((row) => row.activates_at <= now) ? null : candidate),
    async (log) => {
      await log.change('keys', candidate.kid);
      await log.audit(SYSTEM_CONTEXT, { at: now, environmentId: null, action: 'signing_key.create', targetType: 'signing_key', targetId: candidate.kid, details: { alg } });
    },
  );
}

/**
 * Adds a new signing key. It is published at once and starts signing after `leadSeconds`, so
 * resource servers that cache the JWKS see it before any token carries its kid. The previous key
 * stays published until its last token expires.
 */
export async function rotateSigningKey(deps: SigningKeyDeps, alg: SigningAlgorithm, now: number, leadSeconds: number, context: ActionContext): Promise<SigningKeySummary> {
  const row = await generateSigningKeyRow(alg, deps.signingKeySealKey, now, now + leadSeconds * 1000);
  await insertSigningKeyLocked(
    deps.database,
    now,
    () => row,
    async (log) => {
      await log.change('keys', row.kid);
      await log.audit(context, { at: now, environmentId: null, action: 'signing_key.rotate', targetType: 'signing_key', targetId: row.kid, details: { alg, activatesAt: row.activates_at } });
    },
  );
  const summaries = await listSigningKeys(deps, now);
  return summaries.find((key) => key.kid === row.kid)!;
}

/** Lists every key with its derived state, oldest first. */
export async function listSigningKeys(deps: SigningKeyDeps, now: number): Promise<SigningKeySummary[]> {
  return describeSigningKeys(await loadSigningKeyRows(deps.database), now, deps.tokenTtlSeconds);
}
