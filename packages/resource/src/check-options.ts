/** Checks an absolute http(s) URL option; throws TypeError (misuse) otherwise. */
export function requireUrl(value: unknown, name: string): string {
  if (typeof value !== 'string' || !URL.canParse(value) || !/^https?:\/\//.test(value)) {
    throw new TypeError(`${name} must be an absolute http(s) URL`);
  }
  return value;
}

/** Checks an optional non-negative finite number option, returning `fallback` when absent. */
export function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number`);
  return value;
}
