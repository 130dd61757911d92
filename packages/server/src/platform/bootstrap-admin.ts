import type { Config } from '../config/load-config.ts';
import { SYSTEM_CONTEXT } from './audit.ts';
import { createAdmin, hasNoAdmins, type AdminDeps } from './admins.ts';

/** What the first start did about the console's first admin. */
export type BootstrapResult = { created: false } | { created: true; email: string; generatedPassword: string | null };

/**
 * On first run (no admins yet), creates the platform admin from LATCHKEY_ADMIN_EMAIL /
 * LATCHKEY_ADMIN_PASSWORD, generating the password when none is configured; the caller prints a
 * generated password once. A generated password is temporary (as in Auth0 or Keycloak): it was
 * printed to a terminal and perhaps a log, so signing in with it only allows choosing a new one. A
 * configured password is the operator's choice and is not temporary. Later starts change nothing, so a configured password never overrides
 * one changed since.
 */
export async function bootstrapAdmin(deps: AdminDeps, config: Pick<Config, 'adminEmail' | 'adminPassword'>): Promise<BootstrapResult> {
  if (!(await hasNoAdmins(deps))) return { created: false };
  const email = config.adminEmail ?? 'admin@localhost';
  try {
    const { generatedPassword } = await createAdmin(deps, { email, password: config.adminPassword, platformAdmin: true, temporaryPassword: config.adminPassword === undefined }, SYSTEM_CONTEXT);
    return { created: true, email, generatedPassword };
  } catch (error) {
    // Another instance starting at the same moment created it first.
    if ((error as { code?: string }).code === 'admin_exists') return { created: false };
    throw error;
  }
}
