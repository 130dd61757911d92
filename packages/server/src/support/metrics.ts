import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The metrics one Latchkey process exposes at /metrics (Prometheus text format). */
export interface Metrics {
  registry: Registry;
  /** Counts a token request by outcome: minted, cached, or the OAuth error code. */
  countTokenRequest(outcome: string): void;
  /** Counts a token exchange (browser token) by outcome, besides countTokenRequest: minted or the OAuth error code. */
  countTokenExchange(outcome: string): void;
  /** Starts timing a token request: a start time, or -1 for a request not sampled. */
  startTokenTimer(): number;
  /** Observes how long a token request took since `startTokenTimer` (nothing when not sampled). */
  observeTokenDuration(started: number): void;
}

/** Connections of a database pool, as a gauge reads them. */
export interface PoolConnections {
  total: number;
  idle: number;
  waiting: number;
}

/** Where gauges and counters kept elsewhere are read when /metrics is scraped (each optional). */
export interface MetricSources {
  auditEntriesDropped?: (() => number) | undefined;
  revocationsLive?: (() => number) | undefined;
  /** The PostgreSQL pool's connections; absent for SQLite (no pool). */
  databasePool?: (() => PoolConnections) | undefined;
}

/**
 * Creates a registry per runtime (tests run several in one process, so nothing is global).
 * Recording costs a counter increment and a histogram bucket update on the hot path.
 */
export function createMetrics(sources: MetricSources = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'latchkey_' });
  // Successful requests are counted in plain numbers and folded into the counter when it is read:
  // the cached-token path then pays an integer increment, not a labelled counter update.
  const pending = { cached: 0, minted: 0 };
  const requests = new Counter({
    name: 'latchkey_token_requests_total',
    help: 'Token requests by outcome (minted, cached, or the OAuth error code)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.labels('cached').inc(pending.cached);
      this.labels('minted').inc(pending.minted);
      pending.cached = 0;
      pending.minted = 0;
    },
  });
  // Token exchanges are also token requests (counted above); this says which of them minted browser tokens.
  const exchanges = new Counter({
    name: 'latchkey_token_exchanges_total',
    help: 'Token exchanges (RFC 8693, browser tokens) by outcome (minted, or the OAuth error code); also counted in latchkey_token_requests_total',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'latchkey_token_request_duration_seconds',
    help: 'Time to answer a token request inside the server',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  const readDropped = sources.auditEntriesDropped;
  if (readDropped) {
    let reported = 0;
    new Counter({ name: 'latchkey_audit_entries_dropped_total', help: 'token.issue audit entries dropped because the audit buffer was full (the database could not keep up)', registers: [registry], collect() {
      const total = readDropped();
      this.inc(total - reported);
      reported = total;
    } });
  }
  const readRevocations = sources.revocationsLive;
  if (readRevocations) {
    new Gauge({ name: 'latchkey_revocations_live', help: 'Revocations whose tokens have not all expired yet (what the revocation feed holds)', registers: [registry], collect() {
      this.set(readRevocations());
    } });
  }
  const readPool = sources.databasePool;
  if (readPool) {
    new Gauge({ name: 'latchkey_db_pool_connections', help: 'PostgreSQL pool connections', labelNames: ['state'], registers: [registry], collect() {
      const pool = readPool();
      this.set({ state: 'total' }, pool.total);
      this.set({ state: 'idle' }, pool.idle);
      this.set({ state: 'waiting' }, pool.waiting);
    } });
  }
  // Latency is sampled (one request in eight): a histogram update costs more than a cached-token
  // answer's own logic, and one in eight is plenty for percentiles at this request rate.
  let tick = 0;
  return {
    registry,
    countTokenRequest: (outcome) => {
      if (outcome === 'cached') pending.cached++;
      else if (outcome === 'minted') pending.minted++;
      else requests.labels(outcome).inc();
    },
    countTokenExchange: (outcome) => exchanges.labels(outcome).inc(),
    startTokenTimer: () => ((tick++ & 7) === 0 ? performance.now() : -1),
    observeTokenDuration: (started) => {
      if (started >= 0) duration.observe((performance.now() - started) / 1000);
    },
  };
}
