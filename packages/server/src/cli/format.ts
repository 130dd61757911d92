import type { Integration, IntegrationWithSecret } from '../platform/integrations.ts';
import type { SigningKeySummary } from '../keys/signing-keys.ts';

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
    `  Created          ${time(integration.createdAt)}`,
    ...(integration.tokensRevokedAt === null ? [] : [`  Tokens revoked   issued before ${time(integration.tokensRevokedAt)}`]),
  ];
  return lines.join('\n');
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

/** One line per signing key. */
export function formatKeys(keys: SigningKeySummary[]): string {
  if (keys.length === 0) return 'no signing keys';
  return keys
    .map((k) => `${k.kid}  ${k.alg}  ${k.state.padEnd(8)}  activates ${time(k.activatesAt)}${k.publishedUntil ? `  published until ${time(k.publishedUntil)}` : ''}`)
    .join('\n');
}
