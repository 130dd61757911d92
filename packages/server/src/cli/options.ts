import type { Command, Help, Option } from 'commander';
import { CliError, EXIT } from './context.ts';
import { ENVIRONMENT_API_SCOPES, PLATFORM_API_SCOPES, type PresetName } from '../platform/apis.ts';

/** Commander collector for repeatable options (`--scope a --scope b`); `previous` is absent for the first. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(/[\s,]+/).filter(Boolean)];
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

/**
 * One help style for every command: a required option says "(required)", and an empty default
 * (`[]`, `""`) is not shown — it means "none given", which the description already says.
 */
export function configureHelp(program: Command): void {
  program.configureHelp({
    optionDescription(this: Help, option: Option): string {
      const extra: string[] = [];
      if (option.mandatory) extra.push('required');
      const value = option.defaultValue as unknown;
      const empty = value === undefined || value === '' || (Array.isArray(value) && value.length === 0) || typeof value === 'boolean';
      if (!empty) extra.push(`default: ${option.defaultValueDescription ?? JSON.stringify(value)}`);
      return extra.length === 0 ? option.description : `${option.description} (${extra.join(', ')})`;
    },
  });
}

/** Help text listing every valid scope, for the commands that grant them. */
export function scopesHelp(): string {
  const list = (scopes: readonly { name: string; description: string }[]) => scopes.map((s) => `  ${s.name.padEnd(20)} ${s.description}`).join('\n');
  return [
    '',
    'Environment API scopes (--scope; --preset read-only = every :read scope, all = every scope):',
    list(ENVIRONMENT_API_SCOPES),
    '',
    'Platform API scopes (--platform-scope):',
    list(PLATFORM_API_SCOPES),
  ].join('\n');
}
