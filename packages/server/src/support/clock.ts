/** Time source injected everywhere time matters, so tests move time instead of sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The real wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests can move by hand. */
export interface ManualClock extends Clock {
  advance(milliseconds: number): void;
  set(milliseconds: number): void;
}

/** Creates a clock that only moves when told to. */
export function createManualClock(start = Date.UTC(2026, 0, 1)): ManualClock {
  let current = start;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
    set: (ms) => {
      current = ms;
    },
  };
}
