import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import {
  clientGone,
  deadlineExceeded,
  forLog,
  MeetrError,
  OverloadedError,
  statusOf,
  type ErrorCode,
  type ErrorDetail,
} from '../errors.js';
import type { IngestService } from '../ingest/ingest-service.js';
import { checkRemoteWriteType, remoteWritePoints, uncompressWriteRequest } from '../prometheus/remote-write.js';
import type { AppEnv } from './app-env.js';
import type { SearchService } from '../query/search-service.js';
import type { StorageHealth } from '../storage/ports.js';
import type { DiskReport } from '../storage/disk-report.js';
import { errorAnswer, insertAnswer, searchAnswer } from './answers.js';
import { refusal, requirementOf, tokenOf, type Authenticator } from './auth.js';
import { decodePointInputs, yieldToEventLoop } from './point-input.js';
import { nodeBindingsOf } from './node-bindings.js';
import { readRequestBody, readSnappyBody } from './request-body.js';
import { METRICS_PATH, PROMETHEUS_API_PREFIX, REMOTE_WRITE_PATH, SERIES_PATH } from './routes.js';
import { createPrometheusApi, prometheusError } from './prometheus-api.js';
import type { CatalogueService } from '../query/catalogue-service.js';
import type { QueryEngine } from '../promql/query-engine.js';
import { parseSearchParams, withSeriesBuckets } from './search-params.js';
import type { WriteFloor } from '../rollup/retention.js';
import { clockReport, type ClockWatch } from '../time/clock-watch.js';
import type { Telemetry } from './telemetry.js';
import type { TsWindow } from '../domain/point.js';
import { validatePointsInTurns } from './validate-points.js';

/** Where details of unexpected errors and storage failures go, with the request's fields (request_id, method, path). */
export type LogError = (message: string, error: unknown, fields: Readonly<Record<string, string>>) => void;

export interface AppOptions {
  readonly ingest: IngestService;
  readonly search: SearchService;
  readonly catalogue: CatalogueService;
  readonly engine: QueryEngine;
  /** meetr's version, as /api/v1/status/buildinfo reports it. */
  readonly version?: string;
  readonly health: StorageHealth;
  readonly telemetry: Telemetry;
  /** Sent as X-Meetr-Worker on every response. */
  readonly workerId: string;
  readonly defaultTimeZone: string;
  /** Tokens, when MEETR_AUTH_TOKENS_FILE turns them on; every route but /health then needs one. */
  readonly auth?: Authenticator;
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
  /** Every request is answered within this (503 past it), measured from its arrival at the worker. */
  readonly requestTimeoutMs: number;
  /** True once shutdown began: /health fails and connections are closed after their response. */
  readonly isDraining?: () => boolean;
  /** Free space of Cassandra's data and commit log directories, for /health. */
  readonly disk?: () => DiskReport | undefined;
  /** Where details of unexpected errors and of storage failures go (never to the client). */
  readonly logError?: LogError;
  /** Where other answers of ours with a 5xx (a deadline, a shed request, a clock refusal) are told, with the request's fields. */
  readonly logWarning?: (message: string, fields: Readonly<Record<string, string>>) => void;
}

const RETRY_AFTER_SECONDS = '1';

/** Storage failures are logged at most once per this long, with how many were not, so an outage does not flood the log. */
const STORAGE_LOG_INTERVAL_MS = 10_000;
/** Other 5xx answers (deadlines, shedding, clock refusals): at most this many lines per code in that interval. */
const WARNINGS_PER_INTERVAL = 10;

/**
 * Set by HAProxy on every request it forwards (haproxy.cfg): when the request reached
 * it, in microseconds since the epoch. A request HAProxy replays on another worker
 * keeps it, so its points are stored under the time it first arrived.
 */
export const RECEIVED_HEADER = 'x-meetr-received-us';
/** How far HAProxy's arrival time may lie from the worker's clock before the worker's own is used instead. */
const RECEIVED_TOLERANCE_US = 60_000_000;

/** The HTTP API: Meetr's /1.0/metrics, the Prometheus API and /health. Telemetry is served apart (telemetry-server.ts). */
export function createApp(options: AppOptions): Hono<AppEnv> {
  const {
    ingest,
    search,
    health,
    telemetry,
    workerId,
    defaultTimeZone,
    maxSeriesBuckets,
    maxBodyBytes,
    maxBatch,
    maxFutureMs,
    requestTimeoutMs,
  } = options;
  const {
    isDraining = () => false,
    logError = (message, error) => console.error(message, error),
    oldestWritable = () => undefined,
    clockWatch,
  } = options;
  const writeWindow = (): TsWindow => {
    const now = Date.now();
    const floor = oldestWritable(now);
    return floor === undefined
      ? { earliestMs: Number.NEGATIVE_INFINITY, latestMs: now + maxFutureMs }
      : { earliestMs: floor.ms, earliestReason: floor.reason, latestMs: now + maxFutureMs };
  };
  let storageLoggedAt = Number.NEGATIVE_INFINITY;
  let storageUnlogged = 0;
  const logStorageFailure = (c: Context<AppEnv>, error: MeetrError): void => {
    const now = Date.now();
    if (now - storageLoggedAt < STORAGE_LOG_INTERVAL_MS) {
      storageUnlogged++;
      return;
    }
    const more = storageUnlogged === 0 ? '' : ` (${storageUnlogged} more since the last line)`;
    storageLoggedAt = now;
    storageUnlogged = 0;
    logError(`503 on ${c.req.method} ${c.req.path}${more}`, forLog(error), requestFields(c));
  };
  const { logWarning = () => undefined } = options;
  /** Per error code: lines written in the current interval, and how many were left out. */
  const warned = new Map<string, { since: number; lines: number; unlogged: number }>();
  const logServerError = (c: Context<AppEnv>, error: MeetrError): void => {
    const now = Date.now();
    let count = warned.get(error.code);
    if (count === undefined || now - count.since >= STORAGE_LOG_INTERVAL_MS) {
      if (count !== undefined && count.unlogged > 0)
        logWarning(`${count.unlogged} more ${error.code} answers were not logged`, { code: error.code });
      count = { since: now, lines: 0, unlogged: 0 };
      warned.set(error.code, count);
    }
    if (count.lines >= WARNINGS_PER_INTERVAL) {
      count.unlogged++;
      return;
    }
    count.lines++;
    logWarning(`${statusOf(error.code)} ${error.code} on ${c.req.method} ${c.req.path}: ${error.message}`, {
      ...requestFields(c),
      code: error.code,
    });
  };
  const app = new Hono<AppEnv>({ strict: false }); // /1.0/metrics/ is /1.0/metrics

  app.use(async (c, next) => {
    const started = performance.now();
    const nowMs = Date.now();
    // The request's deadline, and the client going away, end its work.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(deadlineExceeded(requestTimeoutMs)), requestTimeoutMs);
    const requestId = requestIdOf(c.req.header(REQUEST_ID_HEADER));
    c.set('scope', {
      signal: controller.signal,
      deadlineMs: nowMs + requestTimeoutMs,
      receivedUs: receivedUs(c.req.header(RECEIVED_HEADER), nowMs),
      requestId,
    });
    // Set before the handler answers, on the Node response where there is one: adding a header to a
    // finished web Response would make @hono/node-server materialise it.
    const outgoing = nodeBindingsOf(c)?.outgoing;
    const onClose = (): void => {
      if (outgoing !== undefined && !outgoing.writableFinished) controller.abort(clientGone());
    };
    if (outgoing !== undefined) {
      outgoing.setHeader('X-Meetr-Worker', workerId);
      outgoing.setHeader('X-Request-Id', requestId);
      if (isDraining()) outgoing.setHeader('Connection', 'close');
      outgoing.once('close', onClose);
    } else {
      c.header('X-Meetr-Worker', workerId);
      c.header('X-Request-Id', requestId);
      if (isDraining()) c.header('Connection', 'close');
    }
    try {
      await next();
    } finally {
      clearTimeout(timer);
    }
    telemetry.observeRequest(routeLabel(c.req.path), c.req.method, c.res.status, (performance.now() - started) / 1000);
  });

  if (options.auth !== undefined) {
    const { auth } = options;
    app.use(async (c, next) => {
      const token = tokenOf(c.req.header('authorization'));
      const refused = refusal(
        requirementOf(c.req.method, c.req.path),
        token,
        token === undefined ? undefined : auth.authenticate(token),
        `${c.req.method} ${c.req.path}`,
      );
      if (refused !== undefined) {
        telemetry.authFailure(refused.failure);
        throw refused.error;
      }
      await next();
    });
  }

  app.get(METRICS_PATH, async (c) => {
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
  });

  app.post(METRICS_PATH, async (c) => {
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
    const inserted = await ingest.ingest(points, {
      signal: scope.signal,
      deadlineMs: scope.deadlineMs,
      writeTimeUs: scope.receivedUs,
    });
    telemetry.pointsWritten(inserted);
    return c.json(insertAnswer(inserted));
  });

  // Prometheus remote write 1.0: 204 once Cassandra acknowledged every sample.
  app.post(REMOTE_WRITE_PATH, async (c) => {
    clockWatch?.ensureWithinBound();
    const scope = c.get('scope');
    checkRemoteWriteType(c.req.header('content-type'));
    const block = await readSnappyBody(c, maxBodyBytes, scope.signal);
    const message = await uncompressWriteRequest(block, maxBodyBytes, maxBatch, yieldToEventLoop);
    const { points, specialSamples, tooOld } = remoteWritePoints(message, writeWindow());
    const inserted = await ingest.ingest(
      points,
      { signal: scope.signal, deadlineMs: scope.deadlineMs, writeTimeUs: scope.receivedUs },
      specialSamples,
    );
    telemetry.pointsWritten(inserted);
    telemetry.samplesSkipped(tooOld);
    return c.body(null, 204);
  });

  app.route(
    '/',
    createPrometheusApi({
      engine: options.engine,
      catalogue: options.catalogue,
      maxBodyBytes,
      version: options.version ?? 'dev',
    }),
  );

  app.all(REMOTE_WRITE_PATH, (c) => {
    c.header('Allow', 'POST');
    throw new MeetrError(
      'method_not_allowed',
      `${c.req.method} is not allowed on ${REMOTE_WRITE_PATH}; Prometheus remote write POSTs`,
    );
  });

  app.all(METRICS_PATH, (c) => {
    c.header('Allow', 'GET, HEAD, POST');
    throw new MeetrError(
      'method_not_allowed',
      `${c.req.method} is not allowed on ${METRICS_PATH}; use GET to search or POST to insert`,
    );
  });

  app.get('/health', (c) => {
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
  });

  app.notFound((c) => errorResponse(c, 'not_found', `no such endpoint: ${c.req.method} ${c.req.path}`));

  app.onError((error, c) => {
    if (error instanceof MeetrError) {
      if (error.code === 'storage_unavailable') {
        telemetry.storageError(routeLabel(c.req.path));
        logStorageFailure(c, error);
      } else if (statusOf(error.code) >= 500) {
        logServerError(c, error);
      }
      if (error instanceof OverloadedError) telemetry.requestShed(routeLabel(c.req.path), error.reason);
      if (error.code === 'deadline_exceeded') telemetry.deadlineExceeded(routeLabel(c.req.path));
      if (error.code === 'clock_skew') telemetry.clockRefusal(routeLabel(c.req.path));
      return errorResponse(c, error.code, error.message, error.details);
    }
    if (error instanceof HTTPException && error.status < 500) {
      return errorResponse(
        c,
        error.status === 413 ? 'payload_too_large' : 'invalid_request',
        error.message || 'bad request',
      );
    }
    logError(`unexpected error on ${c.req.method} ${c.req.path}`, error, requestFields(c));
    return errorResponse(c, 'internal_error', 'internal error; the request may be retried');
  });

  return app;
}

function errorResponse(
  c: Context<AppEnv>,
  code: ErrorCode,
  message: string,
  details?: readonly ErrorDetail[],
): Response {
  const status = statusOf(code);
  if (status === 503) c.header('Retry-After', RETRY_AFTER_SECONDS);
  if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="meetr", Basic realm="meetr", charset="UTF-8"');
  if (status === 408) c.header('Connection', 'close'); // the rest of the body was never read
  // The Prometheus API answers in its own envelope (remote write keeps meetr's: Prometheus only logs it).
  if (c.req.path.startsWith(`${PROMETHEUS_API_PREFIX}/`) && c.req.path !== REMOTE_WRITE_PATH) {
    const answer = prometheusError(code, message);
    return c.json(answer.body, answer.status);
  }
  return c.json(errorAnswer(code, message, details), status);
}

/** Set by HAProxy on every request (unique-id-header in haproxy.cfg). */
const REQUEST_ID_HEADER = 'x-request-id';

/** HAProxy's request id when it looks like one (printable, short), else a new one: a client's header never reaches a log unchecked. */
function requestIdOf(header: string | undefined): string {
  return header !== undefined && /^[A-Za-z0-9._:+/=-]{1,128}$/.test(header) ? header : randomUUID();
}

/** What every log line about a request carries. */
function requestFields(c: Context<AppEnv>): Record<string, string> {
  return { request_id: c.get('scope')?.requestId ?? '', method: c.req.method, path: c.req.path };
}

/** The request's arrival in µs: HAProxy's stamp when it is plausible, else the worker's clock. */
function receivedUs(stamp: string | undefined, nowMs: number): number {
  const nowUs = nowMs * 1000;
  if (stamp !== undefined && /^\d{1,17}$/.test(stamp)) {
    const us = Number(stamp);
    if (Math.abs(us - nowUs) <= RECEIVED_TOLERANCE_US) return us;
  }
  return nowUs;
}

/** The route a request counts under in /metrics: a known path, `/api/v1/<endpoint>`, or other (bounded label values). */
function routeLabel(path: string): string {
  if (path === METRICS_PATH || path === REMOTE_WRITE_PATH || path === SERIES_PATH || path === '/health') return path;
  if (path.startsWith(`${PROMETHEUS_API_PREFIX}/label/`)) return `${PROMETHEUS_API_PREFIX}/label/values`;
  return PROMETHEUS_ROUTES.has(path) ? path : 'other';
}

const PROMETHEUS_ROUTES = new Set(
  ['query', 'query_range', 'series', 'labels', 'metadata', 'query_exemplars', 'status/buildinfo'].map(
    (name) => `${PROMETHEUS_API_PREFIX}/${name}`,
  ),
);
