#!/usr/bin/env node
// The `latchkey` command. The server runs from its TypeScript sources through tsx's loader (no build
// step to forget; see docs/decisions.md).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
