// Moved to support/inject-fetch.ts (see http/problem.ts for why this re-export still exists).
export * from '../support/inject-fetch.ts';
