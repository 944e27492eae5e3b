import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ShedReason } from '../errors.js';
import type { WriteLoad } from '../ingest/write-scheduler.js';
import type { ClockReading } from '../time/clock-watch.js';
import type { AuthFailure } from './auth.js';

/** The worker's own counters and histograms, served as Prometheus text on GET /metrics. */
export interface Telemetry {
  readonly registry: Registry;
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  pointsWritten(count: number): void;
  storageError(route: string): void;
  requestShed(route: string, reason: ShedReason): void;
  /** Remote-write samples not stored: Prometheus' staleness markers, and NaN or ±Inf values. */
  /** Remote-write samples left out because they are older than the raw retention. */
  samplesSkipped(tooOld: number): void;
  /** A request refused for its credentials: none, not valid, or a scope that does not allow it. */
  authFailure(reason: AuthFailure): void;
  deadlineExceeded(route: string): void;
  /** A request refused because this worker's clock is too far from Cassandra's. */
  clockRefusal(route: string): void;
}

/** Gauges read when /metrics is scraped. */
export interface LoadProbe {
  readonly writeQueue: () => WriteLoad;
  readonly clock?: () => ClockReading;
}

/** The clock gauges of a worker or a roller (clock-watch.ts), read when /metrics is scraped. */
export function registerClockGauges(registry: Registry, read: () => ClockReading): void {
  const gauge = (name: string, help: string, value: (reading: ClockReading) => number | undefined): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const v = value(read());
        if (v === undefined) this.reset();
        else this.set(v);
      },
    });
  };
  gauge(
    'meetr_clock_offset_seconds',
    "Cassandra's clock minus this process's (positive: this process is behind)",
    (r) => (r.offsetMs === undefined ? undefined : r.offsetMs / 1000),
  );
  gauge(
    'meetr_clock_offset_uncertainty_seconds',
    'How far off meetr_clock_offset_seconds may be: half the round trip of its sample',
    (r) => (r.uncertaintyMs === undefined ? undefined : r.uncertaintyMs / 1000),
  );
  gauge(
    'meetr_clock_max_skew_seconds',
    'MEETR_MAX_CLOCK_SKEW_MS: past it this process takes no writes and rolls nothing',
    (r) => r.maxSkewMs / 1000,
  );
  gauge(
    'meetr_clock_within_bound',
    "1 while this process may write and roll, 0 while its clock is too far from Cassandra's (or was not compared lately)",
    (r) => (r.refusal === undefined ? 1 : 0),
  );
}

export function createTelemetry({
  workerId,
  load,
}: {
  readonly workerId: string;
  readonly load?: LoadProbe;
}): Telemetry {
  const registry = new Registry();
  registry.setDefaultLabels({ worker: workerId });
  collectDefaultMetrics({ register: registry });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> =>
    new Counter({ name, help, labelNames, registers: [registry] });
  const written = counter('meetr_points_written_total', 'Points acknowledged by Cassandra');
  const storageErrors = counter(
    'meetr_storage_errors_total',
    'Requests answered 503 because Cassandra was unavailable or too slow, by route',
    ['route'],
  );
  const shed = counter(
    'meetr_requests_shed_total',
    'Requests answered 503 at once, nothing done, because the worker was too busy; by route and reason',
    ['route', 'reason'],
  );
  const skippedSamples = counter(
    'meetr_remote_write_samples_skipped_total',
    'Remote-write samples not stored: older than MEETR_RETENTION_RAW less an hour (too_old)',
    ['reason'],
  );
  const authFailures = counter(
    'meetr_auth_failures_total',
    'Requests refused for their credentials: missing (401), invalid (401), forbidden by scope (403)',
    ['reason'],
  );
  const deadlines = counter(
    'meetr_request_deadlines_exceeded_total',
    'Requests answered 503 because they ran past MEETR_REQUEST_TIMEOUT_MS (or whose client went away); by route',
    ['route'],
  );
  if (load !== undefined) registerLoadGauges(registry, load);
  const clockRefusals = counter(
    'meetr_clock_skew_refusals_total',
    "Requests answered 503 clock_skew: this worker's clock was too far from Cassandra's (MEETR_MAX_CLOCK_SKEW_MS); by route",
    ['route'],
  );
  return {
    registry,
    observeRequest: requestObserver(registry),
    pointsWritten: (count) => written.inc(count),
    storageError: (route) => storageErrors.inc({ route }),
    requestShed: (route, reason) => shed.inc({ route, reason }),
    samplesSkipped: (tooOld) => {
      if (tooOld > 0) skippedSamples.inc({ reason: 'too_old' }, tooOld);
    },
    authFailure: (reason) => authFailures.inc({ reason }),
    deadlineExceeded: (route) => deadlines.inc({ route }),
    clockRefusal: (route) => clockRefusals.inc({ route }),
  };
}

/** Requests answered and their durations, by route, method (and status). */
function requestObserver(registry: Registry): Telemetry['observeRequest'] {
  const requests = new Counter({
    name: 'meetr_http_requests_total',
    help: 'HTTP requests answered, by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'meetr_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route and method',
    labelNames: ['route', 'method'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // prom-client hashes a label set on every call; the few (route, method, status) children are kept instead.
  const requestChildren = new Map<string, { count: Counter.Internal; time: Histogram.Internal<'route' | 'method'> }>();
  return (route, method, status, seconds) => {
    const key = `${route} ${method} ${status}`;
    let children = requestChildren.get(key);
    if (children === undefined) {
      children = {
        count: requests.labels({ route, method, status: String(status) }),
        time: duration.labels({ route, method }),
      };
      if (requestChildren.size < 1_000) requestChildren.set(key, children);
    }
    children.count.inc();
    children.time.observe(seconds);
  };
}

/** The write queue's gauges (and the clock's), read when /metrics is scraped. */
function registerLoadGauges(registry: Registry, load: LoadProbe): void {
  const gauge = (name: string, help: string, read: (l: WriteLoad) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(load.writeQueue()));
      },
    });
  };
  gauge('meetr_write_queue_points', 'Points admitted and not yet sent to Cassandra', (l) => l.queuedPoints);
  gauge('meetr_write_queue_requests', 'Insert requests admitted and not finished', (l) => l.activeRequests);
  gauge('meetr_write_statements_in_flight', 'Write statements sent and not yet answered', (l) => l.inFlight);
  gauge(
    'meetr_write_statement_seconds',
    "Moving average of a write statement's time to answer",
    (l) => l.statementMs / 1000,
  );
  if (load.clock !== undefined) registerClockGauges(registry, load.clock);
}
