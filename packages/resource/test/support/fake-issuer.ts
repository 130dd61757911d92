// A stand-in authorization server for the middleware tests: RFC 8414 metadata and a JWKS served
// over real loopback HTTP, and jose-signed tokens. The lead adds tests against the real Latchkey
// server; this one lets each test shape a key set or a broken server precisely.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { JWK, JWTPayload } from 'jose';

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export interface SignOptions {
  readonly key?: SigningKey;
  /** Header overrides; `undefined` removes the field. */
  readonly header?: Record<string, unknown>;
}

export const AUDIENCE = 'https://api.test/environment-api';

export async function createSigningKey(alg: string, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export class FakeIssuer {
  issuer = '';
  /** Requests per path. */
  readonly hits = new Map<string, number>();
  /** Keys published in the JWKS. */
  published: SigningKey[] = [];
  /** Force an HTTP status for a path (e.g. 500 for the JWKS). */
  readonly failures = new Map<string, number>();
  /** Overrides of the metadata document. */
  metadataOverrides: Record<string, unknown> = {};
  /** The clock used for iat/exp, in milliseconds. */
  now = Date.UTC(2030, 0, 1);
  readonly #server: Server;

  private constructor(readonly keys: Record<string, SigningKey>) {
    this.published = Object.values(keys);
    this.#server = createServer((request, response) => {
      const path = new URL(request.url ?? '/', 'http://x').pathname;
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      const failure = this.failures.get(path);
      const send = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      if (failure !== undefined) return send(failure, { error: 'server_error' });
      if (path === '/.well-known/oauth-authorization-server') {
        return send(200, {
          issuer: this.issuer,
          token_endpoint: `${this.issuer}/oauth/token`,
          jwks_uri: `${this.issuer}/.well-known/jwks.json`,
          grant_types_supported: ['client_credentials'],
          ...this.metadataOverrides,
        });
      }
      if (path === '/.well-known/jwks.json') return send(200, { keys: this.published.map((key) => key.publicJwk) });
      return send(404, { error: 'not_found' });
    });
  }

  static async start(): Promise<FakeIssuer> {
    const keys = {
      es256: await createSigningKey('ES256', 'es256-1'),
      rs256: await createSigningKey('RS256', 'rs256-1'),
      ps256: await createSigningKey('PS256', 'ps256-1'),
      eddsa: await createSigningKey('EdDSA', 'eddsa-1'),
    };
    const issuer = new FakeIssuer(keys);
    await new Promise<void>((resolve) => issuer.#server.listen(0, '127.0.0.1', resolve));
    issuer.issuer = `http://127.0.0.1:${(issuer.#server.address() as AddressInfo).port}`;
    return issuer;
  }

  get jwksHits(): number {
    return this.hits.get('/.well-known/jwks.json') ?? 0;
  }

  /** The test clock as jose's `currentDate` option wants it. */
  readonly currentDate = (): Date => new Date(this.now);

  advance(seconds: number): void {
    this.now += seconds * 1000;
  }

  /** Claims of a valid token issued now, overridable; `undefined` removes a claim. */
  claims(overrides: Record<string, unknown> = {}): JWTPayload {
    const iat = Math.floor(this.now / 1000);
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      sub: 'int_client',
      client_id: 'int_client',
      aud: AUDIENCE,
      iat,
      exp: iat + 3600,
      jti: `jti_${Math.random().toString(36).slice(2)}`,
      scope: 'templates:read media:read',
      environment: 'env_1',
      ...overrides,
    };
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    return claims as JWTPayload;
  }

  async sign(overrides: Record<string, unknown> = {}, options: SignOptions = {}): Promise<string> {
    const key = options.key ?? this.keys['es256'] as SigningKey;
    const header: Record<string, unknown> = { alg: key.alg, typ: 'at+jwt', kid: key.kid, ...options.header };
    for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name];
    return new SignJWT(this.claims(overrides)).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** base64url of a JSON value, for hand-built tokens (alg none). */
export function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
