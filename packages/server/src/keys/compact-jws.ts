import type { KeyObject } from 'node:crypto';
import type { Sealing, Signatures } from './signing-thread.ts';

// RFC 7515 compact serialization, signing side only: BASE64URL(header) '.' BASE64URL(payload) '.'
// BASE64URL(signature). Latchkey signs its own, trusted claims, so there is nothing to parse or
// validate here; everything that *verifies* a token (tests, @latchkey/resource) uses jose.
// Why not jose's SignJWT: in Node it signs through WebCrypto, whose per-call overhead costs about
// four times the signature itself (docs/decisions.md). node:crypto.sign runs the same OpenSSL
// signature without it; it runs on the signing threads (signing-thread.ts), so minting uses a second
// core while the event loop only frames the token.

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Signs `payload` with `header` (which must carry the `alg` of `key`) on one of `signatures`' threads,
 * and seals the finished token with `sealing` there too: every token Latchkey signs is stored sealed.
 */
export async function signCompactJws(header: { alg: string } & Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject, sealing: Sealing, signatures: Signatures): Promise<{ token: string; sealed: string }> {
  const signingInput = `${encode(header)}.${encode(payload)}`;
  const { signature, sealed } = await signatures.signAndSeal(header.alg, signingInput, key, sealing);
  return { token: `${signingInput}.${signature}`, sealed };
}

/**
 * Signs `payload` like {@link signCompactJws}, without sealing: for a token that is never stored
 * (a browser token from a token exchange is minted per request, never cached).
 */
export async function signCompactJwsUnsealed(header: { alg: string } & Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject, signatures: Pick<Signatures, 'sign'>): Promise<string> {
  const signingInput = `${encode(header)}.${encode(payload)}`;
  return `${signingInput}.${await signatures.sign(header.alg, signingInput, key)}`;
}
