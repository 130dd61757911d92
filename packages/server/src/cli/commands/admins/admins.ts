import type { Command } from 'commander';
import { cliContext, CliError, createOutput, EXIT, withPlatform } from '../../context.ts';
import { collect } from '../../options.ts';
import { toAdminDto } from '../../../http/routes/platform/schemas.ts';
import { createAdmin, deleteAdmin, listAdmins, resetAdminPassword, type EnvironmentRole } from '../../../platform/admins.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function parseRoles(values: string[]): Record<string, EnvironmentRole> {
  const roles: Record<string, EnvironmentRole> = {};
  for (const value of values) {
    const [environmentId, role] = value.split(':');
    if (!environmentId || (role !== 'admin' && role !== 'viewer')) throw new CliError(`--role must look like <environment>:admin or <environment>:viewer, got '${value}'`, EXIT.usage);
    roles[environmentId] = role;
  }
  return roles;
}

/** `latchkey admins create|list|reset-password|delete` */
export function registerAdmins(program: Command): void {
  const admins = program.command('admins').description('manage console admin accounts');

  admins
    .command('create <email>')
    .description('create an admin; prints a generated temporary password once unless --password-stdin is given')
    .option('--platform-admin', 'may manage every environment, admin and key')
    .option('--role <env:role>', 'environment role, admin or viewer (repeatable)', collect)
    .option('--password-stdin', 'read the password from standard input')
    .option('--json', 'print JSON')
    .action(async (email: string, options: { platformAdmin?: boolean; role?: string[]; passwordStdin?: boolean; json?: boolean }) => {
      const environments = parseRoles(options.role ?? []);
      const password = options.passwordStdin ? await readStdin() : undefined;
      const { admin, generatedPassword } = await withPlatform((deps) => createAdmin(deps, { email, password, platformAdmin: options.platformAdmin === true, environments }, cliContext()));
      createOutput(options).result({ admin: toAdminDto(admin), password: generatedPassword }, () =>
        [`Created admin ${admin.email}${admin.platformAdmin ? ' (platform admin)' : ''}`, ...(generatedPassword ? [`  temporary password  ${generatedPassword}   (shown once; the first sign-in asks for a new one)`] : [])].join('\n'),
      );
    });

  admins
    .command('list')
    .description('list admins and their roles')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const list = await withPlatform((deps) => listAdmins(deps));
      createOutput(options).result({ admins: list.map(toAdminDto) }, () =>
        list.map((a) => `${a.email}  ${a.platformAdmin ? 'platform admin' : Object.entries(a.environments).map(([env, role]) => `${env}:${role}`).join(' ') || '(no roles)'}`).join('\n'),
      );
    });

  admins
    .command('reset-password <email>')
    .description('set a new password (a generated temporary one unless --password-stdin) and sign the admin out everywhere')
    .option('--password-stdin', 'read the password from standard input')
    .option('--json', 'print JSON')
    .action(async (email: string, options: { passwordStdin?: boolean; json?: boolean }) => {
      const password = options.passwordStdin ? await readStdin() : undefined;
      const { generatedPassword } = await withPlatform((deps) => resetAdminPassword(deps, email, password, cliContext()));
      createOutput(options).result({ email, password: generatedPassword }, () => (generatedPassword ? `Temporary password for ${email}: ${generatedPassword}   (shown once; the next sign-in asks for a new one)` : `Password of ${email} changed.`));
    });

  admins
    .command('delete <email>')
    .description('delete an admin and end their sessions')
    .option('--json', 'print JSON')
    .action(async (email: string, options: { json?: boolean }) => {
      await withPlatform((deps) => deleteAdmin(deps, email, cliContext()));
      createOutput(options).result({ deleted: email }, () => `Deleted admin ${email}`);
    });
}
