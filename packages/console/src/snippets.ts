// Ready-to-run token requests, in the four languages of the seed, for one integration. They carry
// the real token URL, Client ID and audience; the secret is read from the LATCHKEY_CLIENT_SECRET
// environment variable — the seed's advice — so no secret is ever pasted into code or a shell history.

/** What a snippet is filled with. */
export interface SnippetInput {
  tokenUrl: string;
  clientId: string;
  audience: string;
}

/** The languages offered, in tab order. */
export const SNIPPET_LANGUAGES = [
  { id: 'curl', label: 'cURL' },
  { id: 'python', label: 'Python' },
  { id: 'node', label: 'Node 18+' },
  { id: 'go', label: 'Go' },
] as const;

/** One of the snippet languages. */
export type SnippetLanguage = (typeof SNIPPET_LANGUAGES)[number]['id'];

/** The environment variable every snippet reads the secret from. */
export const SECRET_VARIABLE = 'LATCHKEY_CLIENT_SECRET';

const PLACEHOLDER = '<YOUR CLIENT SECRET>';

// String literals per language. JSON string syntax is valid in JavaScript, Python and Go for the
// characters URLs and client IDs contain; the shell needs its own quoting.
const quoted = (text: string) => JSON.stringify(text);
const shellQuoted = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/** The snippet for `language`. */
export function buildSnippet(language: SnippetLanguage, input: SnippetInput): string {
  const { tokenUrl, clientId, audience } = input;
  switch (language) {
    case 'curl':
      return [
        `# First: export ${SECRET_VARIABLE}=${PLACEHOLDER} (from your key store)`,
        `curl --location \\`,
        `  --request POST ${shellQuoted(tokenUrl)} \\`,
        `  --header 'content-type: application/x-www-form-urlencoded' \\`,
        `  --data-urlencode ${shellQuoted(`audience=${audience}`)} \\`,
        `  --data-urlencode 'grant_type=client_credentials' \\`,
        `  --data-urlencode ${shellQuoted(`client_id=${clientId}`)} \\`,
        `  --data-urlencode "client_secret=\${${SECRET_VARIABLE}:?set ${SECRET_VARIABLE} to the Client Secret}"`,
        '',
      ].join('\n');
    case 'python':
      return [
        'import os',
        'import requests',
        '',
        `endpoint = ${quoted(tokenUrl)}`,
        `client_id = ${quoted(clientId)}`,
        `client_secret = os.environ[${quoted(SECRET_VARIABLE)}]  # ${PLACEHOLDER}, from a key store or the environment`,
        '',
        'resp = requests.post(',
        '    url=endpoint,',
        '    headers={"content-type": "application/json"},',
        '    json={',
        '        "grant_type": "client_credentials",',
        `        "audience": ${quoted(audience)},`,
        '        "client_id": client_id,',
        '        "client_secret": client_secret,',
        '    },',
        ')',
        '',
        'if resp.status_code == 200:',
        '    print(resp.json()["access_token"])',
        'else:',
        '    raise Exception(f"{resp.text}")',
        '',
      ].join('\n');
    case 'node':
      return [
        `const client_id = ${quoted(clientId)};`,
        `const client_secret = process.env.${SECRET_VARIABLE}; // ${PLACEHOLDER}, from a key store or the environment`,
        '',
        `fetch(${quoted(tokenUrl)}, {`,
        "  method: 'POST',",
        "  headers: { 'Content-Type': 'application/json' },",
        '  body: JSON.stringify({',
        "    grant_type: 'client_credentials',",
        `    audience: ${quoted(audience)},`,
        '    client_id: client_id,',
        '    client_secret: client_secret,',
        '  }),',
        '})',
        '  .then((response) => response.json())',
        '  .then((data) => console.log(data));',
        '',
      ].join('\n');
    case 'go':
      return [
        'package main',
        '',
        'import (',
        '\t"bytes"',
        '\t"encoding/json"',
        '\t"fmt"',
        '\t"net/http"',
        '\t"os"',
        ')',
        '',
        'type AuthResponse struct {',
        '\tToken      string `json:"access_token"`',
        '\tExpiration int    `json:"expires_in"`',
        '\tType       string `json:"token_type"`',
        '\tScope      string `json:"scope"`',
        '}',
        '',
        'func main() {',
        `\tposturl := ${quoted(tokenUrl)}`,
        '',
        '\tbody, err := json.Marshal(map[string]string{',
        '\t\t"grant_type":    "client_credentials",',
        `\t\t"audience":      ${quoted(audience)},`,
        `\t\t"client_id":     ${quoted(clientId)},`,
        `\t\t"client_secret": os.Getenv(${quoted(SECRET_VARIABLE)}), // ${PLACEHOLDER}`,
        '\t})',
        '\tif err != nil {',
        '\t\tpanic(err)',
        '\t}',
        '',
        '\tres, err := http.Post(posturl, "application/json", bytes.NewBuffer(body))',
        '\tif err != nil {',
        '\t\tpanic(err)',
        '\t}',
        '\tdefer res.Body.Close()',
        '',
        '\tif res.StatusCode != 200 {',
        '\t\tpanic(res.Status)',
        '\t}',
        '',
        '\tresponse := &AuthResponse{}',
        '\tif err := json.NewDecoder(res.Body).Decode(response); err != nil {',
        '\t\tpanic(err)',
        '\t}',
        '',
        '\tfmt.Println("Token:", response.Token)',
        '}',
        '',
      ].join('\n');
  }
}
