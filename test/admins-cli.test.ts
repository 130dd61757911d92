// `latchkey admins create|list|reset-password|delete` (issue 3, points 1 and 6), run as a real child
// process on the database of a running server: accounts it creates sign in over HTTP, a password
// reset signs the admin out, the last platform admin cannot be deleted, bad arguments give one line
// and the documented exit code, and every change is audited with a `cli` actor.
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './support/cli.ts';
import { DIALECTS } from './support/databases.ts';
import { startTestLatchkey, TEST_MASTER_KEY, type TestLatchkey } from './support/latchkey.ts';
import { adminSession, anonymous, expectProblem, signIn, type SessionClient } from './support/platform-client.ts';

const EXIT = { ok: 0, usage: 2, notFound: 3, conflict: 4 } as const;
/** Each CLI run starts Node and loads the server's modules: seconds each on a busy 2-core box. */
const SLOW = 120_000;
const CLI_USER = (() => {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
})();

type Run = CliResult;

/** Runs `node packages/server/bin/latchkey.js …args` against the test server's database, with `stdin` piped in. */
function latchkey(lk: TestLatchkey, args: string[], stdin?: string): Promise<Run> {
  return runCli(args, { LATCHKEY_DATABASE_URL: lk.testDatabase.url, LATCHKEY_MASTER_KEY: TEST_MASTER_KEY, LATCHKEY_ISSUER: lk.config.issuer }, { input: stdin ?? '' });
}

const describeRun = (run: Run) => `latchkey ${run.args.join(' ')} → exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;

function expectOk(run: Run): void {
  expect(run.code, describeRun(run)).toBe(EXIT.ok);
  expect(run.stderr, describeRun(run)).toBe('');
}

/** A failed run prints exactly one line on stderr and nothing on stdout. */
function expectOneLineFailure(run: Run, exitCode: number, message: RegExp): void {
  expect(run.code, describeRun(run)).toBe(exitCode);
  expect(run.stdout, describeRun(run)).toBe('');
  expect(run.stderr.endsWith('\n') && !run.stderr.slice(0, -1).includes('\n'), describeRun(run)).toBe(true);
  expect(run.stderr).toMatch(message);
}

describe.each(DIALECTS)('latchkey admins (%s)', (dialect) => {
  let lk: TestLatchkey;
  let root: SessionClient;
  const danaPassword = 'dana picks a long passphrase';
  const danaNewPassword = 'and then another long one';
  let generated: string;
  let danaSession: SessionClient;

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect });
    root = await adminSession(lk, 'root@example.com', { platformAdmin: true });
  });
  afterAll(async () => lk?.close());

  it('creates admins: a platform admin with a generated password shown once, and a viewer with a password from stdin', async () => {
    const [ops, dana] = await Promise.all([
      latchkey(lk, ['admins', 'create', 'Ops@Example.com', '--platform-admin', '--json']),
      latchkey(lk, ['admins', 'create', 'dana@example.com', '--role', 'demo:viewer', '--password-stdin', '--json'], `${danaPassword}\n`),
    ]);
    expectOk(ops);
    expectOk(dana);
    const opsJson = JSON.parse(ops.stdout);
    expect(opsJson.admin).toMatchObject({ email: 'ops@example.com', platformAdmin: true, environments: {} });
    generated = opsJson.password;
    expect(generated).toMatch(/^[A-Za-z0-9]{20}$/);
    const danaJson = JSON.parse(dana.stdout);
    expect(danaJson).toMatchObject({ admin: { email: 'dana@example.com', platformAdmin: false, environments: { demo: 'viewer' } }, password: null });
    for (const run of [ops, dana]) expect(run.stdout).not.toMatch(/scrypt|hash/i);

    // The generated password was seen by whoever ran the command: it is temporary, and until the
    // admin chooses their own, the session may do nothing else. A password from stdin is not.
    const opsSession = await signIn(lk, 'ops@example.com', generated);
    expect(opsSession.session).toMatchObject({ admin: { platformAdmin: true }, passwordChangeRequired: true });
    expectProblem(await opsSession.request('GET', '/api/v1/environments'), 403, 'password_change_required');
    danaSession = await signIn(lk, 'dana@example.com', danaPassword);
    expect(danaSession.session).toMatchObject({ admin: { environments: { demo: 'viewer' } }, passwordChangeRequired: false });
    expectProblem(await danaSession.request('POST', '/api/v1/environments/demo/integrations', { body: { name: 'nope' } }), 403, 'forbidden');
  }, SLOW);

  it('lists admins with their roles, and resets a password, signing the admin out', async () => {
    const [list, reset] = await Promise.all([
      latchkey(lk, ['admins', 'list', '--json']),
      latchkey(lk, ['admins', 'reset-password', 'dana@example.com', '--password-stdin', '--json'], danaNewPassword),
    ]);
    expectOk(list);
    // The shape of the Platform API's admin (AdminDto), in a list named like its other lists.
    const { admins } = JSON.parse(list.stdout) as { admins: { email: string; platformAdmin: boolean; environments: Record<string, string> }[] };
    expect(admins.map((a) => [a.email, a.platformAdmin, a.environments])).toEqual([
      ['dana@example.com', false, { demo: 'viewer' }],
      ['ops@example.com', true, {}],
      ['root@example.com', true, {}],
    ]);
    expect(list.stdout).not.toMatch(/scrypt|password/i);

    expectOk(reset);
    expect(JSON.parse(reset.stdout)).toEqual({ email: 'dana@example.com', password: null });
    expectProblem(await danaSession.request('GET', '/api/v1/session'), 401, 'unauthenticated');
    expectProblem(await anonymous(lk).request('POST', '/api/v1/session', { body: { email: 'dana@example.com', password: danaPassword } }), 401, 'invalid_credentials');
    expect((await signIn(lk, 'dana@example.com', danaNewPassword)).session).toMatchObject({ admin: { email: 'dana@example.com' }, passwordChangeRequired: false });
  }, SLOW);

  it('deletes an admin and their sessions, but never the last platform admin (exit 4)', async () => {
    const opsSession = await signIn(lk, 'ops@example.com', generated);
    const ops = await latchkey(lk, ['admins', 'delete', 'ops@example.com', '--json']);
    expectOk(ops);
    expect(JSON.parse(ops.stdout)).toEqual({ deleted: 'ops@example.com' });
    expectProblem(await opsSession.request('GET', '/api/v1/session'), 401, 'unauthenticated');
    expectProblem(await anonymous(lk).request('POST', '/api/v1/session', { body: { email: 'ops@example.com', password: generated } }), 401, 'invalid_credentials');

    // dana is left, but she is no platform admin.
    const last = await latchkey(lk, ['admins', 'delete', 'root@example.com']);
    expectOneLineFailure(last, EXIT.conflict, /last platform admin/);
    expect((await root.request('GET', '/api/v1/session')).status).toBe(200);
  }, SLOW);

  it('audits every CLI change with a cli actor, never with a password', async () => {
    const res = await root.request('GET', `/api/v1/audit?action=${encodeURIComponent('admin.*')}&actor=${encodeURIComponent(CLI_USER)}`);
    expect(res.status).toBe(200);
    const entries = res.body.entries as { action: string; actor: { type: string; id: string }; target: { id: string }; environmentId: string | null; details: Record<string, unknown> }[];
    // Oldest first; the two creates ran concurrently, so either may be first. Refused commands left no entry.
    const inOrder = entries.map((e) => [e.action, e.target.id]).reverse();
    expect(inOrder.slice(0, 2).sort()).toEqual([
      ['admin.create', 'dana@example.com'],
      ['admin.create', 'ops@example.com'],
    ]);
    expect(inOrder.slice(2)).toEqual([
      ['admin.password.reset', 'dana@example.com'],
      ['admin.delete', 'ops@example.com'],
    ]);
    for (const entry of entries) expect(entry.actor).toEqual({ type: 'cli', id: CLI_USER });
    expect(entries.find((e) => e.target.id === 'dana@example.com' && e.action === 'admin.create')!.details).toEqual({ platformAdmin: false, environments: { demo: 'viewer' } });
    const everything = JSON.stringify(await lk.database.db.selectFrom('audit_log').selectAll().execute());
    for (const secret of [generated, danaPassword, danaNewPassword]) expect(everything).not.toContain(secret);
  }, SLOW);
});

describe('latchkey admins: bad arguments', () => {
  let lk: TestLatchkey;
  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect: 'sqlite' });
  });
  afterAll(async () => lk?.close());

  it('prints one line and exits 2 for bad arguments, 3 for something missing', async () => {
    const runs = await Promise.all([
      latchkey(lk, ['admins', 'create']),
      latchkey(lk, ['admins', 'create', 'x@example.com', '--role', 'demo:owner']),
      latchkey(lk, ['admins', 'create', 'not-an-email']),
      latchkey(lk, ['admins', 'create', 'short@example.com', '--password-stdin'], 'too short\n'),
      latchkey(lk, ['admins', 'reset-password', 'ghost@example.com']),
    ]);
    const [missing, badRole, badEmail, shortPassword, resetGhost] = runs;
    expectOneLineFailure(missing!, EXIT.usage, /email/);
    expectOneLineFailure(badRole!, EXIT.usage, /--role/);
    expectOneLineFailure(badEmail!, EXIT.usage, /not an email/);
    expectOneLineFailure(shortPassword!, EXIT.usage, /at least 12 characters/);
    expectOneLineFailure(resetGhost!, EXIT.notFound, /ghost@example.com/);
    expect(await lk.database.db.selectFrom('admins').selectAll().execute()).toEqual([]);
  }, SLOW);

  it('prints people-readable lines without --json, with a generated password once', async () => {
    const created = await latchkey(lk, ['admins', 'create', 'pat@example.com', '--role', 'demo:admin']);
    expectOk(created);
    expect(created.stdout).toMatch(/^Created admin pat@example\.com\n {2}temporary password {2}[A-Za-z0-9]{20} {3}\(shown once; the first sign-in asks for a new one\)\n$/);
    const password = /password {2}(\S+)/.exec(created.stdout)![1]!;
    expect((await signIn(lk, 'pat@example.com', password)).session).toMatchObject({ admin: { environments: { demo: 'admin' } }, passwordChangeRequired: true });
  }, SLOW);

  it('a reset without --password-stdin prints a temporary password: the next sign-in must choose a new one, which then works', async () => {
    const reset = await latchkey(lk, ['admins', 'reset-password', 'pat@example.com']);
    expectOk(reset);
    expect(reset.stdout).toMatch(/^Temporary password for pat@example\.com: [A-Za-z0-9]{20} {3}\(shown once; the next sign-in asks for a new one\)\n$/);
    const temporary = /: (\S+) {3}/.exec(reset.stdout)![1]!;
    const session = await signIn(lk, 'pat@example.com', temporary);
    expect(session.session.passwordChangeRequired).toBe(true);
    expectProblem(await session.request('GET', '/api/v1/environments'), 403, 'password_change_required');
    const chosen = 'pat chooses a passphrase now';
    expect((await session.request('PUT', '/api/v1/session/password', { body: { currentPassword: temporary, newPassword: chosen } })).status).toBeLessThan(300);
    expect((await signIn(lk, 'pat@example.com', chosen)).session.passwordChangeRequired).toBe(false);
  }, SLOW);
});
