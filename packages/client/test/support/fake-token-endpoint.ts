// A scriptable stand-in for Latchkey over real loopback HTTP: POST /oauth/token answers like the
// token endpoint (or as a test scripts it: 429, 503, 400, a dropped connection, a hang; a token
// exchange gets a browser-token-shaped answer, DPoP when a proof came with it), and
// /api/* is a protected resource that accepts only the tokens in `validTokens`.
import type { Server } from 'node:http';
import { closeServer, listenOnLoopback, recordingServer, sendJson } from './loopback.ts';
import type { RecordedRequest } from './loopback.ts';

export type { RecordedRequest } from './loopback.ts';

export type Reply =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: unknown }
  | 'drop'
  | 'hang';

export class FakeTokenEndpoint {
  url = '';
  readonly tokenRequests: RecordedRequest[] = [];
  readonly apiRequests: RecordedRequest[] = [];
  /** Scripted token endpoint replies, used in order; then the default success. */
  readonly replies: Reply[] = [];
  /** Tokens the /api resource accepts; every issued token is added unless `acceptIssued` is false. */
  readonly validTokens = new Set<string>();
  acceptIssued = true;
  /** Milliseconds the token endpoint waits before answering (to let callers pile up). */
  delayMs = 0;
  expiresIn: unknown = 3600;
  issued = 0;
  readonly #server: Server;

  private constructor() {
    this.#server = recordingServer((recorded, response, request) => {
      const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => sendJson(response, status, body, headers);
      if (recorded.path.startsWith('/api/')) {
        this.apiRequests.push(recorded);
        const token = /^Bearer (.+)$/.exec(recorded.headers.authorization ?? '')?.[1];
        if (token === undefined || !this.validTokens.has(token)) {
          return send(401, { error: 'invalid_token', error_description: 'bad token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
        }
        if (recorded.path.startsWith('/api/forbidden')) return send(403, { error: 'insufficient_scope' });
        return send(200, { token, method: recorded.method, body: recorded.body, accept: recorded.headers.accept ?? null });
      }
      this.tokenRequests.push(recorded);
      setTimeout(() => {
        const reply = this.replies.shift();
        if (reply === 'drop') return request.socket.destroy();
        if (reply === 'hang') return undefined;
        if (reply !== undefined) return send(reply.status, reply.body ?? '', reply.headers);
        this.issued += 1;
        const form = new URLSearchParams(recorded.body);
        if (form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:token-exchange') {
          // The answer's shape only (RFC 8693 §2.2.1): the grant's rules are the server's, tested there.
          return send(
            200,
            {
              access_token: `btok_${this.issued}`,
              issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
              token_type: recorded.headers.dpop === undefined ? 'Bearer' : 'DPoP',
              expires_in: 900,
              scope: form.get('scope') ?? 'templates:read',
            },
            { 'cache-control': 'no-store', pragma: 'no-cache' },
          );
        }
        const token = `tok_${this.issued}`;
        if (this.acceptIssued) this.validTokens.add(token);
        return send(
          200,
          { access_token: token, token_type: 'Bearer', expires_in: this.expiresIn, scope: 'templates:read' },
          { 'cache-control': 'no-store', pragma: 'no-cache' },
        );
      }, this.delayMs);
    });
  }

  static async start(): Promise<FakeTokenEndpoint> {
    const endpoint = new FakeTokenEndpoint();
    endpoint.url = await listenOnLoopback(endpoint.#server);
    return endpoint;
  }

  get tokenUrl(): string {
    return `${this.url}/oauth/token`;
  }

  async close(): Promise<void> {
    await closeServer(this.#server);
  }
}
