// A stand-in for an application that uses browser tokens, over real loopback HTTP: POST
// /browser-token plays the app backend (it checks the page's proof for Latchkey's token endpoint and
// answers with a token bound to the proof's key, as the backend would relay it), and /api/* plays a
// DPoP-protected resource. Proofs are checked twice, independently of the code under test: with jose
// step by step (the test oracle), and with @latchkey/resource's verifyDpopProof, the one verifier
// Latchkey's token endpoint and resource middlewares use. It is not Latchkey; the real exchange is
// the server's and is tested there.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Server, ServerResponse } from 'node:http';
import { createMemoryDpopReplayStore, verifyDpopProof } from '@latchkey/resource';
import type { DpopReplayStore } from '@latchkey/resource';
import { EmbeddedJWK, calculateJwkThumbprint, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JWK } from 'jose';
import { closeServer, listenOnLoopback, recordingServer, sendJson } from './loopback.ts';
import type { RecordedRequest } from './loopback.ts';

export const TOKEN_ENDPOINT = 'https://latchkey.test/oauth/token';

export type { RecordedRequest } from './loopback.ts';

/** What the oracle found in a proof it accepted. */
export interface CheckedProof {
  readonly jkt: string;
  readonly jti: string;
  readonly iat: number;
  readonly htm: string;
  readonly htu: string;
  readonly ath: string | undefined;
  readonly jwk: JWK;
}

interface IssuedToken {
  readonly jkt: string;
  readonly expiresAt: number;
  revoked: boolean;
}

/**
 * RFC 9449 §4.3, checked with jose (signature with the embedded key, typ, htm, htu, iat, ath,
 * single-use jti in `seen`), then by verifyDpopProof (with its own replay store `replay`), which must
 * agree on the key's thumbprint.
 */
export async function checkProof(
  proof: string,
  expected: { method: string; url: string; accessToken?: string | undefined; now: number; seen?: Set<string> | undefined; replay?: DpopReplayStore | undefined },
): Promise<CheckedProof> {
  const header = decodeProtectedHeader(proof);
  const { payload } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
  const jwk = header.jwk as JWK;
  if ('d' in jwk) throw new Error('the proof carries a private key');
  const { jti, htm, htu, iat, ath } = payload as Record<string, unknown>;
  if (typeof jti !== 'string' || jti.length < 16) throw new Error('jti missing or short');
  if (expected.seen?.has(jti)) throw new Error('jti replayed');
  expected.seen?.add(jti);
  if (htm !== expected.method) throw new Error(`htm ${String(htm)} is not ${expected.method}`);
  const target = new URL(expected.url);
  target.search = '';
  target.hash = '';
  if (htu !== target.href) throw new Error(`htu ${String(htu)} is not ${target.href}`);
  if (typeof iat !== 'number' || Math.abs(iat - expected.now / 1000) > 60) throw new Error('iat outside the window');
  if (expected.accessToken !== undefined) {
    if (ath !== createHash('sha256').update(expected.accessToken).digest('base64url')) throw new Error('ath does not match the token');
  } else if (ath !== undefined) {
    throw new Error('ath on a proof without a token');
  }
  const jkt = await calculateJwkThumbprint(jwk, 'sha256');
  const verified = await verifyDpopProof({
    proof,
    method: expected.method,
    url: expected.url,
    ...(expected.accessToken === undefined ? {} : { accessToken: expected.accessToken }),
    now: expected.now,
    replay: expected.replay ?? createMemoryDpopReplayStore(),
  });
  if (verified.jkt !== jkt || verified.jti !== jti) throw new Error('verifyDpopProof disagrees with jose on the key or the jti');
  return { jkt, jti, iat, htm, htu, ath: typeof ath === 'string' ? ath : undefined, jwk };
}

export type Reply = { readonly status: number; readonly headers?: Record<string, string>; readonly body?: unknown } | 'drop';

export class DpopApp {
  url = '';
  /** The test's clock, milliseconds: token expiry and the proofs' iat window. */
  now = Date.now();
  readonly backendRequests: RecordedRequest[] = [];
  readonly apiRequests: RecordedRequest[] = [];
  /** Proofs accepted by the backend (for the token endpoint) and by the resource, in order. */
  readonly backendProofs: CheckedProof[] = [];
  readonly apiProofs: CheckedProof[] = [];
  /** Scripted backend replies, used in order; then the default: a bound token. */
  readonly backendReplies: Reply[] = [];
  /** Milliseconds the backend waits before answering (to let callers pile up). */
  backendDelayMs = 0;
  expiresIn = 900;
  readonly tokens = new Map<string, IssuedToken>();
  /** GET `/` answers an empty page; GET `/static/<file>` a file of this folder (for a real browser to load). */
  staticDir: string | undefined;
  readonly #seen = new Set<string>();
  readonly #replay = createMemoryDpopReplayStore();
  #issued = 0;
  readonly #server: Server;

  private constructor() {
    this.#server = recordingServer((recorded, response, request) => {
      const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => sendJson(response, status, body, headers);
      const handle = recorded.path.startsWith('/api/')
        ? this.#resource(recorded, send)
        : recorded.method === 'GET'
          ? this.#static(recorded.path, response)
          : this.#backend(recorded, send, () => request.socket.destroy());
      handle.catch((error: unknown) => send(500, { error: 'test_server_bug', error_description: String(error) }));
    });
  }

  static async start(): Promise<DpopApp> {
    const app = new DpopApp();
    app.url = await listenOnLoopback(app.#server);
    return app;
  }

  get backendUrl(): string {
    return `${this.url}/browser-token`;
  }

  async close(): Promise<void> {
    await closeServer(this.#server);
  }

  async #static(requestPath: string, response: ServerResponse): Promise<void> {
    if (requestPath === '/') return void response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>page</title>');
    const file = this.staticDir === undefined || !requestPath.startsWith('/static/') ? undefined : path.resolve(this.staticDir, `.${requestPath.slice('/static'.length)}`);
    if (file === undefined || !file.startsWith(`${this.staticDir}${path.sep}`)) return void response.writeHead(404).end();
    const body = await readFile(file).catch(() => undefined);
    if (body === undefined) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'application/octet-stream' }).end(body);
  }

  async #backend(recorded: RecordedRequest, send: (status: number, body: unknown, headers?: Record<string, string>) => void, drop: () => void): Promise<void> {
    this.backendRequests.push(recorded);
    await new Promise((resolve) => setTimeout(resolve, this.backendDelayMs));
    const reply = this.backendReplies.shift();
    if (reply === 'drop') return drop();
    if (reply !== undefined) return send(reply.status, reply.body ?? '', reply.headers);
    let proof: CheckedProof;
    try {
      proof = await checkProof(String(recorded.headers.dpop), { method: 'POST', url: TOKEN_ENDPOINT, now: this.now, seen: this.#seen, replay: this.#replay });
    } catch (error) {
      return send(400, { error: 'invalid_dpop_proof', error_description: (error as Error).message });
    }
    this.backendProofs.push(proof);
    this.#issued += 1;
    const token = `btok_${this.#issued}`;
    this.tokens.set(token, { jkt: proof.jkt, expiresAt: this.now + this.expiresIn * 1000, revoked: false });
    const scope = recorded.body === '' ? 'fonts:read media:read' : String((JSON.parse(recorded.body) as { scope: unknown }).scope);
    return send(200, { access_token: token, token_type: 'DPoP', expires_in: this.expiresIn, scope }, { 'cache-control': 'no-store' });
  }

  async #resource(recorded: RecordedRequest, send: (status: number, body: unknown, headers?: Record<string, string>) => void): Promise<void> {
    this.apiRequests.push(recorded);
    const refuse = (error: string, description: string): void =>
      send(401, { error, error_description: description }, { 'www-authenticate': `DPoP algs="ES256", error="${error}", error_description="${description}"` });
    const token = /^DPoP (\S+)$/.exec(recorded.headers.authorization ?? '')?.[1];
    const issued = token === undefined ? undefined : this.tokens.get(token);
    if (token === undefined || issued === undefined || issued.revoked || this.now >= issued.expiresAt) return refuse('invalid_token', 'unknown, revoked or expired token');
    let proof: CheckedProof;
    try {
      proof = await checkProof(String(recorded.headers.dpop), { method: recorded.method, url: `${this.url}${recorded.path}`, accessToken: token, now: this.now, seen: this.#seen, replay: this.#replay });
    } catch (error) {
      return refuse('invalid_dpop_proof', (error as Error).message);
    }
    if (proof.jkt !== issued.jkt) return refuse('invalid_dpop_proof', 'proof key is not the token key');
    this.apiProofs.push(proof);
    if (recorded.path.startsWith('/api/forbidden')) return send(403, { error: 'insufficient_scope' }, { 'www-authenticate': 'DPoP error="insufficient_scope"' });
    return send(200, { token, method: recorded.method, body: recorded.body, accept: recorded.headers.accept ?? null });
  }
}
