// Run as a child process by the revocation tests: creates a verifier with the default revocation
// feed, verifies one token, prints what happened, and then does nothing — no close(). The test
// asserts that the process exits by itself, i.e. that the feed never keeps a process alive.
// Usage: node --import tsx verify-once.ts <issuer> <audience> <token>
import { createVerifier } from '../../src/index.ts';

const [issuer, audience, token] = process.argv.slice(2) as [string, string, string];
const verifier = createVerifier({ issuer, audience, revocation: { startupWaitSeconds: 1, reconnectDelaySeconds: 0.05, maxReconnectDelaySeconds: 0.1 } });
const outcome = await verifier.verify(token).then(
  (claims) => ({ accepted: true, sub: claims.sub }),
  (error: { code?: string }) => ({ accepted: false, code: error.code }),
);
process.stdout.write(`${JSON.stringify({ ...outcome, state: verifier.revocationStatus().state })}\n`);
