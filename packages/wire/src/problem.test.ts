// The problem codes in @latchkey/wire are the whole list: every code the server writes into a problem
// document is in it, so a client that branches on PROBLEM_CODES misses none.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PROBLEM_CODES } from './index.ts';

const SERVER_SOURCES = fileURLToPath(new URL('../../server/src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

/** The literal codes the server raises: `new HttpProblem(401, 'x'`, `new PlatformError('x'`, `new ConflictError('x'`, `problem(400, 'x'`, `super('x', 404`, `const code = … 'x'`, `NotFoundError('x'` (→ x_not_found). */
function codesRaisedByServer(): Set<string> {
  const codes = new Set<string>();
  const patterns = [/new HttpProblem\(\d+, '([a-z_]+)'/g, /new (?:PlatformError|ConflictError)\('([a-z_]+)'/g, /\bproblem\(\w+, '([a-z_]+)'/g, /super\('([a-z_]+)', \d+/g];
  for (const file of sourceFiles(SERVER_SOURCES)) {
    const text = fs.readFileSync(file, 'utf8');
    if (!/problem|Problem|PlatformError|ConflictError/.test(text)) continue;
    for (const pattern of patterns) for (const match of text.matchAll(pattern)) codes.add(match[1]!);
    // A code chosen by status: `const code = status === 413 ? 'body_too_large' : …`.
    for (const line of text.split('\n').filter((l) => /const code = /.test(l))) for (const match of line.matchAll(/'([a-z_]+)'/g)) codes.add(match[1]!);
    for (const match of text.matchAll(/NotFoundError\('([a-z_]+)'/g)) codes.add(`${match[1]}_not_found`);
  }
  return codes;
}

describe('PROBLEM_CODES', () => {
  it('lists every problem code the server raises', () => {
    const raised = codesRaisedByServer();
    // The scan finds the codes of every family: auth, validation, not found, conflict, server.
    for (const known of ['invalid_credentials', 'validation_failed', 'integration_not_found', 'admin_exists', 'internal_error', 'body_too_large']) expect(raised).toContain(known);
    expect([...raised].filter((code) => !(code in PROBLEM_CODES))).toEqual([]);
  });

  it('describes each code in a sentence', () => {
    for (const [code, meaning] of Object.entries(PROBLEM_CODES)) {
      expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(meaning.length).toBeGreaterThan(10);
    }
  });
});
