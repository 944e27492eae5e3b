/**
 * Meetr's own routes: searching and inserting on /1.0/metrics, Prometheus remote
 * write (which stores points as an insert does), and /health. Each route's handler
 * is built by a function of its own, from the options it needs.
 */
import { Hono, type Handler } from 'hono';
import { ANY_TIME, type Point, type SpecialSample, type TsWindow } from '../domain/point.js';
import { MeetrError } from '../errors.js';
import type { IngestService } from '../ingest/ingest-service.js';
import { checkRemoteWriteType, remoteWritePoints, uncompressWriteRequest } from '../prometheus/remote-write.js';
import type { OtlpRequest } from '../otlp/model.js';
import { readJsonRequest, responseJson } from '../otlp/json.js';
import { encodeResponse, readProtobufRequest } from '../otlp/protobuf.js';
import { samplesOf, translateOtlp } from '../otlp/translate.js';
import { countOtlpJson, countOtlpProtobuf } from '../otlp/wire.js';
import { tooMany } from '../prometheus/wire-count.js';
import { parseContentType } from '../media-type.js';
import type { SearchService } from '../query/search-service.js';
import type { WriteFloor } from '../rollup/retention.js';
import type { DiskReport } from '../storage/disk-report.js';
import type { StorageHealth } from '../storage/ports.js';
import { clockReport, type ClockWatch } from '../time/clock-watch.js';
import { insertAnswer, searchAnswer } from './answers.js';
import type { AppEnv, RequestScope } from './app-env.js';
import { errorResponse } from './error-handler.js';
import { decodePointInputs, yieldToEventLoop } from './point-input.js';
import { readRequestBody, readSnappyBody } from './request-body.js';
import { METRICS_PATH, OTLP_METRICS_PATH, REMOTE_WRITE_PATH } from './routes.js';
import { parseSearchParams, withSeriesBuckets } from './search-params.js';
import type { Telemetry } from './telemetry.js';
import { validatePointsInTurns } from './validate-points.js';

export interface MeetrApiOptions {
  readonly ingest: IngestService;
  readonly search: SearchService;
  readonly health: StorageHealth;
  readonly telemetry: Telemetry;
  /** Named in /health. */
  readonly workerId: string;
  readonly defaultTimeZone: string;
  /** Buckets one series may have (MEETR_MAX_SERIES_BUCKETS). */
  readonly maxSeriesBuckets: number;
  readonly maxBodyBytes: number;
  readonly maxBatch: number;
  /** Points more than this far past the worker's clock are refused. */
  readonly maxFutureMs: number;
  /** This worker's clock against Cassandra's: past the bound it takes no writes and answers no searches (which read the roll queue by its clock). */
  readonly clockWatch?: ClockWatch;
  /** The oldest timestamp a write may carry at a given time, and why (retention.ts), if any. */
  readonly oldestWritable?: (nowMs: number) => WriteFloor | undefined;
  /** True once shutdown began: /health fails. */
  readonly isDraining: () => boolean;
  /** Free space of Cassandra's data and commit log directories, for /health. */
  readonly disk?: () => DiskReport | undefined;
}

/** Meetr's routes as a sub-app the HTTP app mounts. */
export function createMeetrApi(options: MeetrApiOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ strict: false }); // /1.0/metrics/ is /1.0/metrics
  app.get(METRICS_PATH, searchRoute(options));
  app.post(METRICS_PATH, insertRoute(options));
  // Prometheus remote write 1.0: 204 once Cassandra acknowledged every sample.
  app.post(REMOTE_WRITE_PATH, remoteWriteRoute(options));
  // OTLP/HTTP metrics (protobuf or JSON): 200 with an ExportMetricsServiceResponse once every taken point is stored.
  app.post(OTLP_METRICS_PATH, otlpRoute(options));
  for (const [path, sender] of [
    [REMOTE_WRITE_PATH, 'Prometheus remote write'],
    [OTLP_METRICS_PATH, 'an OTLP exporter'],
  ] as const) {
    app.all(path, (c) => {
      c.header('Allow', 'POST');
      throw new MeetrError('method_not_allowed', `${c.req.method} is not allowed on ${path}; ${sender} POSTs`);
    });
  }
  app.all(METRICS_PATH, (c) => {
    c.header('Allow', 'GET, HEAD, POST');
    throw new MeetrError(
      'method_not_allowed',
      `${c.req.method} is not allowed on ${METRICS_PATH}; use GET to search or POST to insert`,
    );
  });
  app.get('/health', healthRoute(options));
  return app;
}

/** GET /1.0/metrics: one aggregation, or a series of buckets; 422 for an answer beyond a double. */
function searchRoute(options: MeetrApiOptions): Handler<AppEnv> {
  const { search, clockWatch, defaultTimeZone, maxSeriesBuckets } = options;
  return async (c) => {
    clockWatch?.ensureWithinBound();
    const params = parseSearchParams((name) => c.req.query(name), defaultTimeZone);
    const result = await search.search(
      await withSeriesBuckets(params, maxSeriesBuckets, yieldToEventLoop),
      c.get('scope'),
    );
    const overflowing = [result, ...(result.series ?? [])].find(
      ({ value }) => value !== null && !Number.isFinite(value),
    );
    if (overflowing !== undefined) {
      throw new MeetrError(
        'not_representable',
        `the ${params.query.aggregation} of these ${overflowing.count} points is beyond the range of a double (±1.8e308)`,
        [{ field: 'aggregation', message: 'overflows' }],
      );
    }
    return c.json(searchAnswer(params, result));
  };
}

/** Stores what a write route decoded, within its request's deadline, and counts it: how many points were stored. */
async function store(
  { ingest, telemetry }: MeetrApiOptions,
  scope: RequestScope,
  points: readonly Point[],
  specialSamples: readonly SpecialSample[] = [],
): Promise<number> {
  const request = { signal: scope.signal, deadlineMs: scope.deadlineMs, writeTimeUs: scope.receivedUs };
  const inserted = await ingest.ingest(points, request, specialSamples);
  telemetry.pointsWritten(inserted);
  return inserted;
}

/** POST /1.0/metrics: every point valid or none stored; answered once Cassandra acknowledged each. */
function insertRoute(options: MeetrApiOptions): Handler<AppEnv> {
  const { clockWatch, defaultTimeZone, maxBodyBytes, maxBatch } = options;
  const writeWindow = writeWindowOf(options);
  return async (c) => {
    clockWatch?.ensureWithinBound();
    const scope = c.get('scope');
    const body = await readRequestBody(c, maxBodyBytes, scope.signal);
    const inputs = await decodePointInputs(
      body,
      c.req.header('content-type') ?? '',
      (name) => c.req.query(name),
      maxBatch,
    );
    const points = await validatePointsInTurns(inputs, defaultTimeZone, writeWindow(), yieldToEventLoop);
    return c.json(insertAnswer(await store(options, scope, points)));
  };
}

/** POST /api/v1/write: a snappy WriteRequest, counted on the wire before it is decoded; 204 once stored. */
function remoteWriteRoute(options: MeetrApiOptions): Handler<AppEnv> {
  const { telemetry, clockWatch, maxBodyBytes, maxBatch } = options;
  const writeWindow = writeWindowOf(options);
  return async (c) => {
    clockWatch?.ensureWithinBound();
    const scope = c.get('scope');
    checkRemoteWriteType(c.req.header('content-type'));
    const block = await readSnappyBody(c, maxBodyBytes, scope.signal);
    const message = await uncompressWriteRequest(block, maxBodyBytes, maxBatch, yieldToEventLoop);
    const { points, specialSamples, tooOld } = remoteWritePoints(message, writeWindow());
    await store(options, scope, points, specialSamples);
    telemetry.samplesSkipped(tooOld);
    return c.body(null, 204);
  };
}

/**
 * POST /api/v1/otlp/v1/metrics: an ExportMetricsServiceRequest in protobuf or JSON
 * (gzip or not), counted on the wire before it is decoded; answered in the format it
 * came in, with the points refused and why in `partial_success`.
 */
function otlpRoute(options: MeetrApiOptions): Handler<AppEnv> {
  const { clockWatch, maxBodyBytes, maxBatch } = options;
  const writeWindow = writeWindowOf(options);
  return async (c) => {
    clockWatch?.ensureWithinBound();
    const scope = c.get('scope');
    const format = otlpFormat(c.req.header('content-type'));
    const body = await readRequestBody(c, maxBodyBytes, scope.signal);
    let request: OtlpRequest;
    if (format === 'protobuf') {
      countOtlpProtobuf(body, maxBatch);
      request = readProtobufRequest(body);
    } else {
      countOtlpJson(body, maxBatch);
      request = readJsonRequest(body);
      if (samplesOf(request) > maxBatch) throw tooMany('samples', maxBatch, "lower the exporter's batch size");
    }
    const { points, specialSamples, partialSuccess } = translateOtlp(request, writeWindow());
    await store(options, scope, points, specialSamples);
    if (format === 'json') return c.json(responseJson(partialSuccess));
    return c.body(new Uint8Array(encodeResponse(partialSuccess)), 200, { 'Content-Type': 'application/x-protobuf' });
  };
}

/** OTLP/HTTP's two encodings, by Content-Type; 415 for any other. */
function otlpFormat(contentType: string | undefined): 'protobuf' | 'json' {
  const type = parseContentType(contentType ?? '');
  if (type.mediaType === 'application/x-protobuf' || type.mediaType === 'application/protobuf') return 'protobuf';
  if (type.mediaType === 'application/json') return 'json';
  throw new MeetrError(
    'unsupported_media_type',
    `Content-Type ${type.asSent || 'none'} is not accepted here; OTLP/HTTP sends application/x-protobuf or application/json`,
    [{ field: 'content-type', message: 'must be application/x-protobuf or application/json' }],
  );
}

/** The timestamps a write may carry now: not past the retention floor, not too far in the future. */
function writeWindowOf(options: MeetrApiOptions): () => TsWindow {
  const { maxFutureMs, oldestWritable = () => undefined } = options;
  return () => {
    const now = Date.now();
    const floor = oldestWritable(now);
    return floor === undefined
      ? { earliestMs: ANY_TIME.earliestMs, latestMs: now + maxFutureMs }
      : { earliestMs: floor.ms, earliestReason: floor.reason, latestMs: now + maxFutureMs };
  };
}

/** GET /health: 200 when this worker can serve (Cassandra reachable, clock within bound, not draining), else 503. */
function healthRoute(options: MeetrApiOptions): Handler<AppEnv> {
  const { health, workerId, clockWatch, isDraining } = options;
  return (c) => {
    if (isDraining()) return errorResponse(c, 'storage_unavailable', 'the worker is shutting down');
    if (!health.isReady()) return errorResponse(c, 'storage_unavailable', 'no connection to Cassandra');
    const clock = clockWatch?.reading();
    // Past the clock bound the worker fails its check, so HAProxy sends its requests to the others.
    if (clock?.refusal !== undefined)
      return c.json({ error: 'clock_skew', message: clock.refusal, worker: workerId, clock: clockReport(clock) }, 503);
    const disk = options.disk?.();
    return c.json({
      status: 'ok',
      worker: workerId,
      ...(clock === undefined ? {} : { clock: clockReport(clock) }),
      ...(disk === undefined ? {} : { disk }),
    });
  };
}
