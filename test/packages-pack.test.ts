import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EmbeddedJWK, calculateJwkThumbprint, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// What a user of @latchkey/client and @latchkey/resource gets from npm: each package is packed
// (`npm pack`, which builds it), the tarballs are installed into a fresh project outside the
// repository (its dependencies come from the registry, or npm's cache), and that project imports them
// from plain Node ESM and type-checks against them with tsc, as its own code would.

const run = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/pack-consumer/', import.meta.url));
const TSC = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const PACKAGES = ['client', 'resource'] as const;

// A page's and a backend's TypeScript against the declarations, checked with the DOM library and no
// Node types (as a front-end project would); the @ts-expect-error lines fail if the types were `any`.
const BROWSER_CONSUMER = `import { createBrowserTokenSource, TokenRequestError, type BrowserToken, type BrowserTokenSource } from '@latchkey/client/browser';
import { browserTokenHandler, TokenClient, type BrowserTokenHandlerResult, type BrowserTokenResponse } from '@latchkey/client';

const page: BrowserTokenSource = createBrowserTokenSource({ backendUrl: '/browser-token', tokenEndpoint: 'https://latchkey.example/oauth/token', scope: ['fonts:read'] });
export const fonts: Promise<Response> = page.fetch('https://latchkey.example/api/v1/environments/env_1/fonts');
export const token: Promise<BrowserToken> = page.getToken();
export const headers: Promise<{ authorization: string; dpop: string }> = page.headersFor('GET', new URL('https://latchkey.example/x'));
export const isRefusal = (error: unknown): boolean => error instanceof TokenRequestError && error.error === 'invalid_scope';

const tokens = new TokenClient({ tokenUrl: 'https://latchkey.example/oauth/token', clientId: 'lkc_x', clientSecret: 'lks_x' });
export const exchanged: Promise<BrowserTokenResponse> = tokens.exchangeForBrowserToken({ scope: 'fonts:read', dpopProof: 'a.b.c' });
export const answer: Promise<BrowserTokenHandlerResult> = browserTokenHandler(tokens, { scope: 'fonts:read' })('a.b.c');

// @ts-expect-error tokenEndpoint is required
export const incomplete = createBrowserTokenSource({ backendUrl: '/browser-token' });
// @ts-expect-error the token type of a browser token is DPoP or Bearer
export const wrongType: BrowserTokenResponse['tokenType'] = 'MAC';
`;

interface Packed {
  filename: string;
  files: { path: string }[];
}

let project = '';
const packed = new Map<string, Packed>();

beforeAll(async () => {
  project = mkdtempSync(path.join(tmpdir(), 'latchkey-pack-'));
  for (const name of PACKAGES) {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project], { cwd: path.join(REPO_ROOT, 'packages', name) });
    // prepack's build output comes first on stdout; npm's JSON report is the last thing printed.
    const report = JSON.parse(stdout.slice(stdout.lastIndexOf('\n[') + 1)) as Packed[];
    packed.set(name, report[0]!);
  }
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'pack-consumer', private: true, type: 'module' }));
  for (const file of ['consume.mjs', 'consumer.ts', 'tsconfig.json']) copyFileSync(path.join(FIXTURE, file), path.join(project, file));
  // The tarballs, and what a TypeScript user of the Fastify and Express adapters already has.
  const tarballs = PACKAGES.map((name) => path.join(project, packed.get(name)!.filename));
  const versions = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
  const peers = ['@types/node', 'fastify', '@types/express'].map((name) => `${name}@${versions.packages[`node_modules/${name}`]!.version}`);
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs, ...peers], { cwd: project });
}, 600_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('the published packages', () => {
  it.each(PACKAGES)('@latchkey/%s packs its built JavaScript, declarations, README and license, and no tests', (name) => {
    const files = packed.get(name)!.files.map((file) => file.path);
    const entries = name === 'client' ? ['dist/browser/index.js', 'dist/browser/index.d.ts'] : ['dist/fastify.js', 'dist/express.js'];
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', ...entries]));
    expect(files.filter((file) => /\.test\.|(^|\/)test\//.test(file) || file.endsWith('.tsbuildinfo'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(path.join(project, 'node_modules', '@latchkey', name, 'package.json'), 'utf8')) as { license: string; exports: Record<string, { types: string; default: string }> };
    expect(manifest.license).toBe('MIT');
    for (const entry of Object.values(manifest.exports)) expect(entry).toMatchObject({ types: expect.stringMatching(/^\.\/dist\/.*\.d\.ts$/), default: expect.stringMatching(/^\.\/dist\/.*\.js$/) });
  });

  it('imports from plain Node ESM: gets a token with the client and verifies it with the resource', async () => {
    const { stdout } = await run(process.execPath, ['consume.mjs'], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({ clientId: 'lkc_pack', scopes: ['templates:read'], refused: 'ERR_TOKEN_INVALID', adapters: ['function', 'function'] });
  }, 60_000);

  it('imports each entry point with node --input-type=module', async () => {
    const source = "import * as client from '@latchkey/client'; import * as resource from '@latchkey/resource'; import * as fastify from '@latchkey/resource/fastify'; import * as express from '@latchkey/resource/express'; import * as browser from '@latchkey/client/browser'; console.log([client.TokenClient, client.browserTokenHandler, resource.createVerifier, fastify.latchkeyFastify, express.latchkeyExpress, browser.createBrowserTokenSource].map((f) => typeof f).join())";
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', source], { cwd: project });
    expect(stdout.trim()).toBe('function,function,function,function,function,function');
  }, 60_000);

  it('runs the browser entry on WebCrypto from the built package: a key, its thumbprint, signed proofs', async () => {
    // The backend is a fetch that answers with a bound token and keeps the proof it was sent.
    const source = [
      "import { createBrowserTokenSource } from '@latchkey/client/browser';",
      'let backendProof = null;',
      "const fetch = async (url, init) => { backendProof = new Headers(init.headers).get('dpop'); return Response.json({ access_token: 'tok', token_type: 'DPoP', expires_in: 900 }); };",
      "const page = createBrowserTokenSource({ backendUrl: 'https://app.example/browser-token', tokenEndpoint: 'https://latchkey.example/oauth/token', fetch });",
      "const { dpop } = await page.headersFor('get', 'https://latchkey.example/api/v1/environments/env_1/fonts?page=2');",
      'console.log(JSON.stringify({ thumbprint: await page.thumbprint(), backendProof, dpop }));',
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', source], { cwd: project });
    const { thumbprint, backendProof, dpop } = JSON.parse(stdout) as { thumbprint: string; backendProof: string; dpop: string };
    const backend = await jwtVerify(backendProof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    const resource = await jwtVerify(dpop, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    expect(backend.payload).toMatchObject({ htm: 'POST', htu: 'https://latchkey.example/oauth/token' });
    expect(resource.payload).toMatchObject({ htm: 'GET', htu: 'https://latchkey.example/api/v1/environments/env_1/fonts', ath: createHash('sha256').update('tok').digest('base64url') });
    for (const { protectedHeader } of [backend, resource]) expect(await calculateJwkThumbprint(protectedHeader.jwk!)).toBe(thumbprint);
  }, 60_000);

  it('type-checks a strict NodeNext consumer against the declarations', async () => {
    const result = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project }).catch((error: { stdout: string; code: number }) => error);
    expect('code' in result ? result.stdout : '').toBe('');
  }, 120_000);

  it('type-checks a page using @latchkey/client/browser (DOM library, no Node types) and a backend using browserTokenHandler', async () => {
    writeFileSync(path.join(project, 'browser-consumer.ts'), BROWSER_CONSUMER);
    writeFileSync(path.join(project, 'tsconfig.browser.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', lib: ['ES2022', 'DOM'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, types: [] },
      files: ['browser-consumer.ts'],
    }));
    const result = await run(process.execPath, [TSC, '-p', 'tsconfig.browser.json'], { cwd: project }).catch((error: { stdout: string; code: number }) => error);
    expect('code' in result ? result.stdout : '').toBe('');
  }, 120_000);
});
