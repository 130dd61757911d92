import { createMemoryDpopReplayStore, DpopProofError, verifyDpopProof, type DpopReplayStore } from '@latchkey/resource';
import type { Clock } from '../support/clock.ts';
import { InvalidDpopProof } from './errors.ts';

/** The thumbprint (RFC 7638, SHA-256) of the key a valid DPoP proof was signed with; throws InvalidDpopProof otherwise. */
export type DpopBinding = (proof: string) => Promise<string>;

/** What checking DPoP proofs at the token endpoint needs. */
export interface DpopBindingDeps {
  /** The token endpoint's URL, `<issuer>/oauth/token`: a proof's `htu` must name it (RFC 9449 §4.3). */
  tokenEndpointUrl: string;
  clock: Clock;
  /** Where used proof ids are remembered; by default this process's memory. */
  replay?: DpopReplayStore;
}

/**
 * Checks the DPoP proof (RFC 9449 §4.2, §4.3) of a token exchange with `@latchkey/resource`'s one
 * implementation: `typ` dpop+jwt, an asymmetric `alg`, a public `jwk` that verifies the signature,
 * `htm` POST, `htu` the token endpoint, `iat` within the window, and a `jti` not seen before.
 *
 * The replay store is this instance's memory, not shared between instances. That is enough here
 * (RFC 9449 §11.1): a proof replayed at another instance only gets a token bound to the same key, which
 * is worthless without the private key that signs every request's proof; and the exchange also needs
 * the client's credentials, which only the backend holds. A shared store would cost a database write per
 * exchange for no protection.
 */
export function createDpopBinding(deps: DpopBindingDeps): DpopBinding {
  const replay = deps.replay ?? createMemoryDpopReplayStore({ now: () => deps.clock.now() });
  return async (proof) => {
    try {
      const verified = await verifyDpopProof({ proof, method: 'POST', url: deps.tokenEndpointUrl, now: deps.clock.now(), replay });
      return verified.jkt;
    } catch (error) {
      // DpopProofError's message says what is wrong with the proof and holds nothing secret (no key, no token).
      if (error instanceof DpopProofError) throw new InvalidDpopProof(`the DPoP proof is not valid: ${error.message}`);
      throw error;
    }
  };
}
