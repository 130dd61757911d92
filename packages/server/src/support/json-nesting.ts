/** The deepest nesting of arrays and objects any JSON body may have: System.Text.Json's default. */
export const MAX_JSON_DEPTH = 64;

/**
 * True when a JSON text nests arrays and objects more than `max` levels deep. Reads the text once,
 * without recursion and without parsing (strings are skipped, escapes included), so it is safe on
 * any input and can run before JSON.parse: a few thousand levels parse fine but overflow the stack
 * of everything recursive that handles the value afterwards (validation, serialisation).
 */
export function isJsonNestedDeeperThan(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i++;
      while (i < text.length && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c /* \ */ ? 2 : 1;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}
