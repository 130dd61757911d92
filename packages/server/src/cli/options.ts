import { CliError, EXIT } from './context.ts';
import type { PresetName } from '../platform/apis.ts';

/** Commander collector for repeatable options (`--scope a --scope b`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(/[\s,]+/).filter(Boolean)];
}

/** Parses `--preset`. */
export function parsePreset(value: string | undefined, allowNone: boolean): PresetName | undefined {
  if (value === undefined) return undefined;
  const allowed = allowNone ? ['read-only', 'all', 'none'] : ['read-only', 'all'];
  if (!allowed.includes(value)) throw new CliError(`--preset must be one of ${allowed.join(', ')}, got '${value}'`, EXIT.usage);
  return value as PresetName;
}

/** Parses a whole number of seconds. */
export function parseSeconds(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new CliError(`${name} must be a whole number of seconds, got '${value}'`, EXIT.usage);
  return Number(value);
}
