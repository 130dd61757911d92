// Checking the options of the token holders (TokenClient, the browser token source): misuse is a
// TypeError that names the option. No Node APIs: the browser entry uses it.

/** An absolute http(s) URL. (`URL.canParse` is too recent for some browsers still in use.) */
export function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string' || !/^https?:\/\//i.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/** A non-empty string, or a TypeError naming the option. */
export function requireText(value: unknown, name: string): void {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${name} must be a non-empty string`);
}

/** A scope option (space-separated string or list) as one space-separated string; `undefined` when empty. */
export function normaliseScope(scope: string | readonly string[] | undefined): string | undefined {
  if (scope === undefined) return undefined;
  const list = typeof scope === 'string' ? scope.split(' ') : Array.isArray(scope) ? (scope as unknown[]) : undefined;
  if (list === undefined || !list.every((item) => typeof item === 'string')) {
    throw new TypeError('scope must be a space-separated string or an array of strings');
  }
  const joined = (list as string[]).filter((item) => item !== '').join(' ');
  return joined === '' ? undefined : joined;
}

/** A non-negative number option, its default when absent, or a TypeError naming it. */
export function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number`);
  return value;
}
