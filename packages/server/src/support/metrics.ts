import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../storage/database.ts';

/** The metrics one Latchkey process exposes at /metrics (Prometheus text format). */
export interface Metrics {
  registry: Registry;
  /** Counts a token request by outcome: minted, cached, or the OAuth error code. */
  countTokenRequest(outcome: string): void;
  /** Observes how long a token request took, in seconds. */
  observeTokenDuration(seconds: number): void;
}

/**
 * Creates a registry per runtime (tests run several in one process, so nothing is global).
 * Recording costs a counter increment and a histogram bucket update on the hot path.
 */
export function createMetrics(database: Database): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'latchkey_' });
  const requests = new Counter({ name: 'latchkey_token_requests_total', help: 'Token requests by outcome (minted, cached, or the OAuth error code)', labelNames: ['outcome'], registers: [registry] });
  const duration = new Histogram({
    name: 'latchkey_token_request_duration_seconds',
    help: 'Time to answer a token request inside the server',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  const pool = database.pool;
  if (pool) {
    new Gauge({ name: 'latchkey_db_pool_connections', help: 'PostgreSQL pool connections', labelNames: ['state'], registers: [registry], collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    } });
  }
  // Pre-bind the common labels so the hot path does no label lookup.
  const cached = requests.labels('cached');
  const minted = requests.labels('minted');
  // Latency is sampled (one request in eight): a histogram update costs more than a cached-token
  // answer's own logic, and one in eight is plenty for percentiles at this request rate.
  let tick = 0;
  return {
    registry,
    countTokenRequest: (outcome) => (outcome === 'cached' ? cached.inc() : outcome === 'minted' ? minted.inc() : requests.labels(outcome).inc()),
    observeTokenDuration: (seconds) => {
      if ((tick++ & 7) === 0) duration.observe(seconds);
    },
  };
}
