// The one token cache both token holders share (TokenClient on a server, the browser token source in
// a page): keep a value until its refresh time, let concurrent callers share one refresh, and ride
// out a failed early refresh on a value that is still valid. No Node APIs: the browser entry uses it.

/** A cached value's times, milliseconds since the epoch. */
export interface Expiring {
  /** From this moment on, get() fetches a new value. */
  readonly refreshAt: number;
  /** When the value stops being usable; `undefined` if unknown (then a failed refresh is not ridden out). */
  readonly expiresAt: number | undefined;
}

/** A single-flight, refresh-ahead cache of one value. */
export class RefreshingCache<T extends Expiring> {
  readonly #fetchNew: () => Promise<T>;
  readonly #now: () => number;
  #current: T | undefined;
  #inflight: Promise<T> | undefined;
  /** Bumped by invalidate(): a fetch started before it must not refill the cache. */
  #generation = 0;

  constructor(fetchNew: () => Promise<T>, now: () => number) {
    this.#fetchNew = fetchNew;
    this.#now = now;
  }

  /** The cached value, fresh or not. */
  get current(): T | undefined {
    return this.#current;
  }

  /** The cached value until its refresh time, else a new one (one fetch however many callers wait). */
  async get(): Promise<T> {
    const cached = this.#current;
    if (cached !== undefined && this.#now() < cached.refreshAt) return cached;
    try {
      return await this.#refresh();
    } catch (error) {
      // Refreshing ahead is an optimisation: while the old value is still valid, a failed refresh
      // should not fail the caller. The next call tries again.
      if (cached !== undefined && cached === this.#current && cached.expiresAt !== undefined && this.#now() < cached.expiresAt) return cached;
      throw error;
    }
  }

  /** Forgets the value (and any fetch in flight): the next get() fetches anew. */
  invalidate(): void {
    this.#generation += 1;
    this.#current = undefined;
    this.#inflight = undefined;
  }

  #refresh(): Promise<T> {
    if (this.#inflight !== undefined) return this.#inflight;
    const generation = this.#generation;
    const request = this.#fetchNew().then((value) => {
      if (generation === this.#generation) this.#current = value;
      return value;
    });
    const settled = (): void => {
      if (this.#inflight === request) this.#inflight = undefined;
    };
    request.then(settled, settled);
    this.#inflight = request;
    return request;
  }
}
