import type { Command } from 'commander';
import { TokenClient, TokenNetworkError, TokenRequestError, TokenResponseError, type ClientAuthMethod, type TokenClientOptions } from '@latchkey/client';
import { CliError, EXIT } from '../context.ts';
import { collect } from '../options.ts';

/** Options of `latchkey token`. */
interface TokenOptions {
  tokenUrl?: string;
  issuer?: string;
  clientId?: string;
  clientSecretStdin?: boolean;
  audience?: string;
  scope?: string[];
  authMethod?: string;
  json?: boolean;
}

/** Reads the whole of stdin; a single trailing newline (from `echo` or a file) is not part of the secret. */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Client Secret (then Enter and Ctrl-D): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Builds the client from flags first, then LATCHKEY_* variables (TokenClient.fromEnv). */
async function createClient(options: TokenOptions): Promise<TokenClient> {
  const overrides: { -readonly [K in keyof TokenClientOptions]?: TokenClientOptions[K] } = { retries: 2, timeoutMs: 10_000 };
  const tokenUrl = options.tokenUrl ?? (options.issuer === undefined ? undefined : `${options.issuer.replace(/\/+$/, '')}/oauth/token`);
  if (tokenUrl !== undefined) overrides.tokenUrl = tokenUrl;
  if (options.clientId !== undefined) overrides.clientId = options.clientId;
  if (options.clientSecretStdin) {
    const secret = await readStdin();
    if (secret === '') throw new CliError('--client-secret-stdin was given but stdin was empty', EXIT.usage);
    overrides.clientSecret = secret;
  }
  if (options.audience !== undefined) overrides.audience = options.audience;
  if (options.scope !== undefined && options.scope.length > 0) overrides.scope = options.scope;
  if (options.authMethod !== undefined) {
    if (options.authMethod !== 'basic' && options.authMethod !== 'post') throw new CliError(`--auth-method must be basic or post, got '${options.authMethod}'`, EXIT.usage);
    overrides.authMethod = `client_secret_${options.authMethod}` as ClientAuthMethod;
  }
  try {
    return TokenClient.fromEnv(process.env, overrides);
  } catch (error) {
    // A missing or malformed setting: say which, and how to give it.
    const message = error instanceof Error ? error.message : String(error);
    const hint = /SECRET/.test(message) ? ' (set it, or pipe the secret into --client-secret-stdin)' : /TOKEN_URL|ISSUER|tokenUrl/.test(message) ? ' (or pass --token-url / --issuer)' : /CLIENT_ID/.test(message) ? ' (or pass --client-id)' : '';
    throw new CliError(`${message}${hint}`, EXIT.usage);
  }
}

/**
 * `latchkey token`: gets an access token with @latchkey/client and prints it (or, with --json, the
 * whole token response). Reads LATCHKEY_TOKEN_URL / LATCHKEY_ISSUER, LATCHKEY_CLIENT_ID,
 * LATCHKEY_CLIENT_SECRET, LATCHKEY_AUDIENCE and LATCHKEY_SCOPE; flags win. The secret has no flag
 * on purpose (argv is visible to every user of the machine): use the variable or stdin.
 */
export function registerToken(program: Command): void {
  program
    .command('token')
    .description('get an access token with client credentials and print it (for scripts: TOKEN=$(latchkey token))')
    .option('--token-url <url>', 'token endpoint (default: $LATCHKEY_TOKEN_URL, or $LATCHKEY_ISSUER/oauth/token)')
    .option('--issuer <url>', 'Latchkey base URL; the token endpoint is <issuer>/oauth/token')
    .option('--client-id <id>', 'Client ID (default: $LATCHKEY_CLIENT_ID)')
    .option('--client-secret-stdin', 'read the Client Secret from stdin (default: $LATCHKEY_CLIENT_SECRET)')
    .option('--audience <identifier>', 'API the token is for (default: $LATCHKEY_AUDIENCE, else the Environment API)')
    .option('--scope <scope>', 'scope to ask for (repeatable or space-separated; default: $LATCHKEY_SCOPE, else all granted)', collect)
    .option('--auth-method <method>', 'client authentication: basic (default) or post')
    .option('--json', 'print the whole token response as JSON')
    .action(async (options: TokenOptions) => {
      const client = await createClient(options);
      try {
        const response = await client.getTokenResponse();
        process.stdout.write(options.json ? `${JSON.stringify(response.raw, null, 2)}\n` : `${response.accessToken}\n`);
      } catch (error) {
        if (error instanceof TokenRequestError || error instanceof TokenNetworkError || error instanceof TokenResponseError) {
          const cause = error instanceof TokenNetworkError && error.cause instanceof Error ? ` (${(error.cause as Error & { cause?: { code?: string } }).cause?.code ?? error.cause.message})` : '';
          throw new CliError(`${error.message}${cause}`, EXIT.failure);
        }
        throw error;
      }
    });
}
