/**
 * The peer servers from ../shared/peers: a bare node:http endpoint (the ceiling) and
 * node-oidc-provider (the reference Node OAuth server). The folder is read-only, so it is copied
 * to the run's temporary directory and installed there from its lock file.
 */
import { chmod, cp, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { accessTokenOf, expectOk, tokenRequest } from './http.ts';
import { freePort, runCommand, startServer, stopServer, waitForHttp, type ServerProcess } from './processes.ts';
import type { LoadTarget, Scenario } from './scenario.ts';

const OIDC_CLIENT_ID = 'bench-client';
const OIDC_CLIENT_SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const OIDC_BODY = 'grant_type=client_credentials&resource=urn:anchor:api&scope=templates%3Aread%20templates%3Awrite';

/** Where the peers come from: BENCH_PEERS_DIR, or ../shared/peers next to the repository. */
export function defaultPeersSource(repoRoot: string): string {
  return process.env.BENCH_PEERS_DIR ?? join(repoRoot, '..', 'shared', 'peers');
}

async function makeWritable(path: string): Promise<void> {
  const info = await stat(path);
  await chmod(path, info.mode | 0o200);
  if (info.isDirectory()) for (const entry of await readdir(path)) await makeWritable(join(path, entry));
}

/** Copies the peers to `workDir/peers` and installs them (`npm ci`, or `npm install` if that fails). */
export async function installPeers(source: string, workDir: string, log: (line: string) => void): Promise<string> {
  const dir = join(workDir, 'peers');
  await cp(source, dir, { recursive: true });
  await makeWritable(dir);
  const npmArgs = ['--no-audit', '--no-fund', '--loglevel=error'];
  try {
    await runCommand('npm', ['ci', ...npmArgs], { cwd: dir });
  } catch (err) {
    log(`npm ci failed for the peers, trying npm install: ${(err as Error).message.split('\n')[0]}`);
    await runCommand('npm', ['install', ...npmArgs], { cwd: dir });
  }
  return dir;
}

/** Scenario (a): the bare node:http peer, the ceiling for any Node HTTP endpoint here. */
export function bareHttpScenario(peersDir: () => string): Scenario {
  let server: ServerProcess | undefined;
  return {
    key: 'a',
    name: 'bare node:http (ceiling)',
    async stop() {
      if (server) await stopServer(server);
    },
    async prepare() {
      const port = await freePort();
      server = startServer('bare-http', process.execPath, ['bare-http.mjs'], {
        cwd: peersDir(),
        env: { ...process.env, PORT: String(port) },
      });
      const url = `http://127.0.0.1:${port}/oauth/token`;
      await waitForHttp(server, url);
      const target: LoadTarget = {
        url,
        method: 'POST',
        // The same shape as a token request (Basic header, form body), so request sizes match.
        requests: [tokenRequest(OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, 'grant_type=client_credentials&scope=templates%3Aread%20templates%3Awrite')],
        serverPid: server.child.pid,
      };
      await expectOk('bare-http', target, target.requests[0]!);
      return target;
    },
  };
}

/** Scenario (d): node-oidc-provider signing a fresh JWT access token with `alg` on every request. */
export function oidcProviderScenario(key: string, alg: 'ES256' | 'RS256', peersDir: () => string): Scenario {
  let server: ServerProcess | undefined;
  return {
    key,
    name: `node-oidc-provider ${alg} (signs every request)`,
    async stop() {
      if (server) await stopServer(server);
    },
    async prepare() {
      const port = await freePort();
      server = startServer(`oidc-provider-${alg}`, process.execPath, ['oidc-provider-server.mjs'], {
        cwd: peersDir(),
        env: { ...process.env, PORT: String(port), ALG: alg },
      });
      const base = `http://127.0.0.1:${port}`;
      await waitForHttp(server, `${base}/.well-known/openid-configuration`, 30_000, 200);
      const target: LoadTarget = { url: `${base}/token`, method: 'POST', requests: [tokenRequest(OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_BODY)], serverPid: server.child.pid };
      const first = accessTokenOf(await expectOk(`oidc-provider ${alg}`, target, target.requests[0]!));
      const header = JSON.parse(Buffer.from(first.split('.')[0] ?? '', 'base64url').toString('utf8')) as { alg?: string };
      if (header.alg !== alg) throw new Error(`oidc-provider ${alg}: token signed with ${String(header.alg)}`);
      return target;
    },
    afterRun() {
      const unsupported = /Unsupported runtime[^\n]*/.exec(server?.tail() ?? '')?.[0];
      return unsupported ? { notes: [`node-oidc-provider printed "${unsupported.trim()}"; it ran without errors`] } : {};
    },
  };
}
