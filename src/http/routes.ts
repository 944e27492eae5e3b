/** The API's paths, shared by the routes and by the rules of who may call them. */

/** Meetr's insert (POST) and search (GET). */
export const METRICS_PATH = '/1.0/metrics';
/** Prometheus remote write 1.0 (POST). */
export const REMOTE_WRITE_PATH = '/api/v1/write';
/** OpenTelemetry metrics over OTLP/HTTP (POST), where Prometheus takes them. */
export const OTLP_METRICS_PATH = '/api/v1/otlp/v1/metrics';
/** The Prometheus HTTP API (query, query_range, series, labels, ...; GET and POST read). */
export const PROMETHEUS_API_PREFIX = '/api/v1';
/** The series catalogue, paged (GET). */
export const SERIES_PATH = '/1.0/series';
/** The stack's status for the explorer: workers, rollers, Cassandra, points written (GET). */
export const STATUS_PATH = '/1.0/status';
/** The explorer page's hashed scripts and styles (GET /assets/<name>); the page itself is GET /. */
export const EXPLORER_ASSETS_PREFIX = '/assets/';
