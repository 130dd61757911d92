// The plugins eslint.config.js uses, re-exported from this workspace so that they resolve against
// its own TypeScript 6: typescript-eslint's parser needs the TypeScript JS API, which the
// repository's TypeScript 7 compiler does not ship. See docs/decisions.md, "Lint".
import Module, { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const typescriptForLint = require.resolve('typescript');

// npm hoists ts-api-utils (a typescript-eslint dependency whose peer range, ">=4.8.4", TypeScript 7
// also meets) to the root node_modules, where `require('typescript')` finds TypeScript 7 and fails.
// Point the typescript-eslint family at this workspace's TypeScript; nothing else is redirected.
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveTypescriptForLint(request, parent, ...rest) {
  if (request === 'typescript' && /[\\/]node_modules[\\/](ts-api-utils|@typescript-eslint|typescript-eslint)[\\/]/.test(parent?.filename ?? '')) {
    return typescriptForLint;
  }
  return resolveFilename.call(this, request, parent, ...rest);
};

const { default: js } = await import('@eslint/js');
const { default: boundaries } = await import('eslint-plugin-boundaries');
const { default: reactHooks } = await import('eslint-plugin-react-hooks');
const { default: globals } = await import('globals');
const { default: tseslint } = await import('typescript-eslint');

export { boundaries, globals, js, reactHooks, tseslint };
