/**
 * A separate API protected by @latchkey/resource, as a customer would run one: its own process,
 * verifying tokens with the issuer's published keys and following the issuer's revocation feed
 * (createVerifier's default). Used by the revocation propagation benchmark (bench/revocation.ts)
 * and its test (test/revocation-resource-process.test.ts).
 *
 *   ISSUER=http://127.0.0.1:8080 AUDIENCE=http://127.0.0.1:8080/environment-api PORT=9000 \
 *     node --import tsx bench/resource-api.ts
 *
 * GET /things answers 200 with the token's client, or the RFC 6750 error; GET /revocation-status
 * answers the verifier's feed status. It prints `listening <port>` once it accepts requests.
 */
import http from 'node:http';
import { AccessTokenError, createVerifier } from '@latchkey/resource';

const issuer = process.env.ISSUER;
const audience = process.env.AUDIENCE;
if (!issuer || !audience) throw new Error('ISSUER and AUDIENCE must be set');
const verifier = createVerifier({ issuer, audience });

const server = http.createServer((request, response) => {
  if (request.url === '/revocation-status') {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(verifier.revocationStatus()));
    return;
  }
  verifier.verifyRequest({ authorization: request.headers.authorization, url: request.url }).then(
    (claims) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ client: claims.client_id })),
    (error: unknown) => {
      if (!(error instanceof AccessTokenError)) {
        response.writeHead(500).end();
        return;
      }
      response.writeHead(error.statusCode, { 'content-type': 'application/json', ...error.headers }).end(JSON.stringify({ ...error.body, code: error.code }));
    },
  );
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : ''}`);
});
const stop = () => {
  verifier.close();
  server.close();
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
