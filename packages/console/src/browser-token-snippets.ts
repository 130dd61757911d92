// The Permissions tab's browser-token example, filled in for one integration: a Node backend that
// keeps the secret and exchanges its own token for a browser token (@latchkey/client's
// browserTokenHandler, i.e. exchangeForBrowserToken), and the page that asks it for one with
// createBrowserTokenSource from @latchkey/client/browser. Like the token snippets, the secret is read
// from LATCHKEY_CLIENT_SECRET, never pasted into code.
import { SECRET_VARIABLE } from './snippets.ts';

/** What the browser-token example is filled with. */
export interface BrowserTokenSnippetInput {
  /** The issuer (`iss`, discovery's `issuer`): the base of the Environment API's URLs. */
  issuer: string;
  /** Latchkey's token endpoint: the backend exchanges there, and the page's key signs its DPoP proofs for it. */
  tokenUrl: string;
  clientId: string;
  /** The Environment API's identifier. */
  audience: string;
  environmentId: string;
}

/** The backend route the page calls, in both halves of the example. */
export const BROWSER_TOKEN_ROUTE = '/browser-token';

// JSON string syntax is a valid JavaScript string literal for any text.
const quoted = (text: string) => JSON.stringify(text);

/** `server.mjs`: a runnable Node backend (node:http, no framework) that hands the page browser tokens. */
export function buildBrowserTokenBackend(input: BrowserTokenSnippetInput): string {
  return [
    '// server.mjs: your backend. npm install @latchkey/client, then:',
    `//   ${SECRET_VARIABLE}=<YOUR CLIENT SECRET> node server.mjs`,
    "import http from 'node:http';",
    "import { TokenClient, browserTokenHandler } from '@latchkey/client';",
    '',
    '// The secret stays here, on the server. Its tokens may keep every scope the backend needs.',
    'const tokens = new TokenClient({',
    `  tokenUrl: ${quoted(input.tokenUrl)},`,
    `  clientId: ${quoted(input.clientId)},`,
    `  clientSecret: process.env.${SECRET_VARIABLE}, // from a key store or the environment`,
    `  audience: ${quoted(input.audience)},`,
    '});',
    '',
    '// Exchanges the backend token for a browser token: read scopes only, short-lived, bound to the',
    "// page's key (DPoP). Pass { scope: 'fonts:read media:read' } to offer the page less.",
    'const issueBrowserToken = browserTokenHandler(tokens);',
    '',
    'http',
    '  .createServer(async (req, res) => {',
    `    if (req.method === 'POST' && req.url === ${quoted(BROWSER_TOKEN_ROUTE)}) {`,
    '      // Put this route behind your own login: whoever can call it gets a browser token.',
    '      const { status, headers, body } = await issueBrowserToken(req.headers.dpop);',
    '      res.writeHead(status, headers).end(JSON.stringify(body));',
    '      return;',
    '    }',
    '    res.writeHead(404).end();',
    '  })',
    '  .listen(3000);',
    '',
  ].join('\n');
}

/** The page's side: a DPoP-bound browser token from the backend above, used for read-only calls. */
export function buildBrowserTokenPage(input: BrowserTokenSnippetInput): string {
  const fonts = `${input.issuer.replace(/\/+$/, '')}/api/v1/environments/${encodeURIComponent(input.environmentId)}/fonts`;
  return [
    '// In the page (bundled with your front end).',
    "import { createBrowserTokenSource } from '@latchkey/client/browser';",
    '',
    '// A non-extractable key lives in this page; the token your backend gets for it is useless elsewhere.',
    'const latchkey = createBrowserTokenSource({',
    `  backendUrl: ${quoted(BROWSER_TOKEN_ROUTE)}, // the backend route above`,
    `  tokenEndpoint: ${quoted(input.tokenUrl)},`,
    '});',
    '',
    "// Each request carries the token and a fresh proof. The page's origin must be one of the",
    "// environment's browser origins (latchkey environments set-browser-origins).",
    `const response = await latchkey.fetch(${quoted(fonts)});`,
    'console.log(await response.json());',
    '',
  ].join('\n');
}
