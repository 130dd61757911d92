/**
 * `@latchkey/resource`: protect an API with Latchkey access tokens (RFC 9068 JWTs, RFC 6750 bearer
 * usage). The core is framework-free; `latchkeyFastify` and `latchkeyExpress` are thin adapters,
 * also importable from `@latchkey/resource/fastify` and `@latchkey/resource/express`.
 *
 * @example
 * import { createVerifier, latchkeyFastify, fastifyRequireScopes } from '@latchkey/resource';
 *
 * const verifier = createVerifier({ issuer: 'https://latchkey.example.com', audience: 'https://latchkey.example.com/environment-api' });
 * await app.register(latchkeyFastify(verifier));
 * app.get('/templates', { preHandler: fastifyRequireScopes('templates:read') }, handler);
 *
 * @packageDocumentation
 */
export type { AccessTokenClaims } from './claims.ts';
export {
  createVerifier,
  verifyAccessToken,
  DEFAULT_ALGORITHMS,
  SUPPORTED_ALGORITHMS,
} from './create-verifier.ts';
export type { AccessTokenVerifier, BearerRequest, SupportedAlgorithm, VerifierOptions } from './create-verifier.ts';
export type { FetchLike } from './issuer-metadata.ts';
export { AccessTokenError } from './errors.ts';
export { createMemoryDpopReplayStore, DEFAULT_DPOP_ALGORITHMS, DpopProofError, verifyDpopProof } from './dpop.ts';
export type { DpopReplayStore, VerifiedDpopProof, VerifyDpopProofOptions } from './dpop.ts';
export type { AccessTokenErrorCode, AccessTokenErrorOptions, BearerErrorCode } from './errors.ts';
export { assertNoQueryToken, extractBearerToken } from './extract-bearer-token.ts';
export { assertScopes, hasScopes, parseScope, validateScopes } from './scopes.ts';
export { isRevocationEntry, RevocationSet } from './revocation-set.ts';
export type { RevocableClaims, RevocationEntry } from './revocation-set.ts';
export type { RevocationSource, RevocationState, RevocationStatus } from './revocation-source.ts';
export type { RevocationOptions } from './verifier-revocation.ts';
// The adapters import their frameworks as types only, so loading this entry point loads neither.
export { latchkeyExpress, requireScopes as expressRequireScopes } from './express.ts';
export { latchkeyFastify, requireScopes as fastifyRequireScopes } from './fastify.ts';
