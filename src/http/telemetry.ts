import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** The worker's own counters and histograms, served as Prometheus text on GET /metrics. */
export interface Telemetry {
  readonly registry: Registry;
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  pointsWritten(count: number): void;
  storageError(route: string): void;
}

export function createTelemetry({ workerId }: { readonly workerId: string }): Telemetry {
  const registry = new Registry();
  registry.setDefaultLabels({ worker: workerId });
  collectDefaultMetrics({ register: registry });
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
  const written = new Counter({ name: 'meetr_points_written_total', help: 'Points acknowledged by Cassandra', registers: [registry] });
  const storageErrors = new Counter({
    name: 'meetr_storage_errors_total',
    help: 'Requests answered 503 because Cassandra was unavailable or too slow, by route',
    labelNames: ['route'],
    registers: [registry],
  });
  // prom-client hashes a label set on every call; the few (route, method, status) children are kept instead.
  const requestChildren = new Map<string, { count: Counter.Internal; time: Histogram.Internal<'route' | 'method'> }>();
  return {
    registry,
    observeRequest(route, method, status, seconds) {
      const key = `${route} ${method} ${status}`;
      let children = requestChildren.get(key);
      if (children === undefined) {
        children = { count: requests.labels({ route, method, status: String(status) }), time: duration.labels({ route, method }) };
        if (requestChildren.size < 1_000) requestChildren.set(key, children);
      }
      children.count.inc();
      children.time.observe(seconds);
    },
    pointsWritten(count) {
      written.inc(count);
    },
    storageError(route) {
      storageErrors.inc({ route });
    },
  };
}
