import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = '@latchkey/server';

let cached: string | undefined;

/**
 * The server package's directory (the one with its package.json), found by walking up from this
 * module. The same code runs from src/ (tests, tsx), from dist/ (tsc's output) and from
 * dist/bundle/ (the `latchkey` command), at three different depths, so paths to the package's
 * files (its package.json, the console's build beside it) are taken from here, not counted in `../`.
 */
export function serverPackageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (manifest.name === PACKAGE_NAME) return (cached = dir);
    } catch {
      // No package.json here (or not readable): keep walking up.
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
