import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
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
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']));
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
    const source = "import * as client from '@latchkey/client'; import * as resource from '@latchkey/resource'; import * as fastify from '@latchkey/resource/fastify'; import * as express from '@latchkey/resource/express'; console.log([client.TokenClient, resource.createVerifier, fastify.latchkeyFastify, express.latchkeyExpress].map((f) => typeof f).join())";
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', source], { cwd: project });
    expect(stdout.trim()).toBe('function,function,function,function');
  }, 60_000);

  it('type-checks a strict NodeNext consumer against the declarations', async () => {
    const result = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project }).catch((error: { stdout: string; code: number }) => error);
    expect('code' in result ? result.stdout : '').toBe('');
  }, 120_000);
});
