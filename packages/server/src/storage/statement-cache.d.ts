/** See statement-cache.js. */
export function cachedPreparer<S>(prepare: (sql: string) => S): (sql: string) => S;
