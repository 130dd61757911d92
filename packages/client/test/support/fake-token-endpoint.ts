// A scriptable stand-in for Latchkey over real loopback HTTP: POST /oauth/token answers like the
// token endpoint (or as a test scripts it: 429, 503, 400, a dropped connection, a hang), and
// /api/* is a protected resource that accepts only the tokens in `validTokens`.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

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
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const recorded: RecordedRequest = {
          method: request.method ?? '',
          path: request.url ?? '',
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
          const text = typeof body === 'string' ? body : JSON.stringify(body);
          response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(text);
        };
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
          const token = `tok_${this.issued}`;
          if (this.acceptIssued) this.validTokens.add(token);
          return send(
            200,
            { access_token: token, token_type: 'Bearer', expires_in: this.expiresIn, scope: 'templates:read' },
            { 'cache-control': 'no-store', pragma: 'no-cache' },
          );
        }, this.delayMs);
      });
    });
  }

  static async start(): Promise<FakeTokenEndpoint> {
    const endpoint = new FakeTokenEndpoint();
    await new Promise<void>((resolve) => endpoint.#server.listen(0, '127.0.0.1', resolve));
    endpoint.url = `http://127.0.0.1:${(endpoint.#server.address() as AddressInfo).port}`;
    return endpoint;
  }

  get tokenUrl(): string {
    return `${this.url}/oauth/token`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
