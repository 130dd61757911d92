// The problem documents moved to support/problem.ts so that environment-api/ (a lower layer than
// http/) can use them without importing http/. This re-export keeps the http/ files that other
// issue-15 branches are editing unchanged; after those merges, point them at support/problem.ts and
// delete this file.
export * from '../support/problem.ts';
