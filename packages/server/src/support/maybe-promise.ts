/**
 * A value now, or a promise of it. Used only where answering synchronously was measured to matter:
 * an exact repeat of a token request is answered from memory, and awaiting it would add a promise and
 * a microtask hop to the one path whose speed is the product (docs/decisions.md, "One token-endpoint
 * HTTP adapter"). Everywhere else an async function is simpler and costs nothing measurable.
 */
export type MaybePromise<T> = T | Promise<T>;
