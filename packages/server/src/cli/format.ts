import type { Integration, IntegrationWithSecret } from '../platform/integrations.ts';
import type { SigningKeySummary } from '../keys/signing-keys.ts';
import type { Grants } from '../platform/integrations.ts';
import { isoTime, isoTimeOrNull } from '../http/routes/platform/schemas.ts';

const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

/** Human-readable lines for one integration. */
export function formatIntegration(integration: Integration): string {
  const lines = [
    `${integration.name}${integration.disabled ? '  [DISABLED]' : ''}`,
    `  Client ID        ${integration.clientId}`,
    `  Environment      ${integration.environmentId}`,
    `  Description      ${integration.description || '-'}`,
    `  Environment API  ${integration.grants['environment-api']?.join(' ') || '(no access)'}`,
    `  Platform API     ${integration.grants['platform-api']?.join(' ') || '(no access)'}`,
    `  Secrets          ${integration.secrets.map((s) => `#${s.generation} ${s.status}${s.expiresAt ? ` until ${time(s.expiresAt)}` : ''}`).join(', ')}`,
    `  Browser tokens   ${integration.browserTokens ? 'allowed (token exchange for read-only browser tokens)' : 'not allowed'}`,
    `  Created          ${time(integration.createdAt)}`,
    ...(integration.tokensRevokedAt === null ? [] : [`  Tokens revoked   issued before ${time(integration.tokensRevokedAt)}`]),
    ...formatBrowserUse(integration),
  ];
  return lines.join('\n');
}

/** The browser-use lines of an integration: a warning when its credentials were seen from a page. */
function formatBrowserUse(integration: Integration): string[] {
  const use = integration.browserUse;
  if (use === null) return [`  Browser use      none seen`];
  return [
    `  Browser use      WARNING: its Client ID was sent to the token endpoint from a browser page`,
    `                   origin ${use.origin} from ${use.ip}, ${use.count} request${use.count === 1 ? '' : 's'}, first ${time(use.firstSeenAt)}, last ${time(use.lastSeenAt)}`,
    `                   Keep the Client Secret on your backend; give the page a browser token (token exchange) instead, then rotate the secret.`,
  ];
}

/** The once-only secret display, with the seed's warning. */
export function formatSecretOnce(result: IntegrationWithSecret, heading: string): string {
  return [
    heading,
    '',
    `  Client ID      ${result.integration.clientId}`,
    `  Client Secret  ${result.clientSecret}`,
    '',
    'The Client Secret is shown this once and cannot be retrieved again. It is a key to your environment:',
    'store it now in a key store or an environment variable, never in source code or a browser.',
  ].join('\n');
}

/** A signing key as --json prints it: ISO 8601 times, like every time the Platform API returns. */
export function toSigningKeyJson(key: SigningKeySummary) {
  return { kid: key.kid, alg: key.alg, state: key.state, createdAt: isoTime(key.createdAt), activatesAt: isoTime(key.activatesAt), retiredAt: isoTimeOrNull(key.retiredAt), publishedUntil: isoTimeOrNull(key.publishedUntil) };
}

/** What an integration's grants allow, one line per API; says so plainly when they allow nothing. */
export function formatGrants(grants: Grants, clientId: string): string {
  const environment = grants['environment-api'] ?? [];
  const platform = grants['platform-api'] ?? [];
  if (environment.length === 0 && platform.length === 0) {
    return [
      'It grants nothing yet: its token requests are refused (access_denied) until it has a scope.',
      `Grant access with: latchkey integrations set-permissions ${clientId} --preset read-only (or --scope <scope>; see --help)`,
    ].join('\n');
  }
  return [`Granted:`, `  Environment API  ${environment.join(' ') || '(no access)'}`, `  Platform API     ${platform.join(' ') || '(no access)'}`].join('\n');
}

/** One line per signing key. */
export function formatKeys(keys: SigningKeySummary[]): string {
  if (keys.length === 0) return 'no signing keys';
  return keys
    .map((k) => `${k.kid}  ${k.alg}  ${k.state.padEnd(8)}  activates ${time(k.activatesAt)}${k.publishedUntil ? `  published until ${time(k.publishedUntil)}` : ''}`)
    .join('\n');
}
