/**
 * The shapes every benchmark scenario shares. A scenario says how to get a server ready and which
 * HTTP requests to send it; the runner (bench/run.ts) loads each one in turn with the same settings.
 * Later scenarios (JWT verification micro-benchmarks, multi-worker) are new entries in the list.
 */

/** One HTTP request as the load generator sends it. */
export interface HttpRequest {
  headers: Record<string, string>;
  body: string;
}

/** What a prepared scenario asks the load generator to send. */
export interface LoadTarget {
  /** Absolute URL on 127.0.0.1. */
  url: string;
  method: 'GET' | 'POST';
  /**
   * One entry: the same request every time. Several: walked in order without repeats (each wrk
   * thread takes every n-th entry), wrapping only if the run outlasts the list, which is reported.
   */
  requests: HttpRequest[];
  /**
   * The server's process id, which leads its own process group (`startServer`): the group's CPU
   * time during each run is reported beside the throughput (primary and workers alike).
   */
  serverPid?: number | undefined;
}

/** A measured run of one scenario. */
export interface LoadResult {
  tool: 'wrk' | 'autocannon';
  /** Completed requests in the measured run. */
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses that were not 2xx/3xx. */
  non2xx: number;
  /** Socket errors and timeouts. */
  errors: number;
  /** CPU time (user + system, all threads) the server's process group used during the run, seconds. */
  serverCpuSeconds?: number;
  /** Requests issued from a list of distinct requests (dynamic targets only). */
  distinct?: { available: number; issued: number; wrapped: boolean };
}

/** A benchmark scenario: a name and how to get its target ready. */
export interface Scenario {
  /** Short key used in ratios: 'a', 'b', 'c', 'd', … */
  key: string;
  name: string;
  /** Starts (or reuses) the server, checks it answers, and returns what to load. */
  prepare(): Promise<LoadTarget>;
  /** Stops what prepare() started (each round starts its servers afresh). */
  stop?(): Promise<void>;
  /** Extra checks after the measured run: facts worth recording, and warnings about the figures. */
  afterRun?(result: LoadResult): Promise<AfterRun> | AfterRun;
}

/** What a scenario adds to the report after its run. */
export interface AfterRun {
  notes?: string[];
  warnings?: string[];
}

/** A ratio between two scenarios' requests per second, with its target when an issue gives one. */
export interface Ratio {
  numerator: string;
  denominator: string;
  /** The ratio must be at least this; absent, the ratio is only reported. */
  target?: number;
}

/** What the report needs about one scenario. */
export interface ScenarioOutcome {
  key: string;
  name: string;
  result?: LoadResult;
  /** Set when the scenario could not run. */
  error?: string;
  /** Share of the machine's CPU used by processes outside the benchmark during the measured run. */
  otherCpuPercent?: number;
  notes: string[];
  warnings: string[];
}
