/**
 * The Prometheus HTTP API subset Grafana and promtool use, under /api/v1/:
 * query, query_range, series, labels, label/<name>/values, metadata,
 * query_exemplars and status/buildinfo; GET, and POST with a form body (Grafana's
 * default). Answers `{"status":"success","data":...}` as Prometheus does; errors
 * are rendered by the app's onError in Prometheus' shape (prometheusError).
 * Also the Meetr catalogue listing, GET /1.0/series, paged.
 */
import { Hono, type Context } from 'hono';
import { compareText, type CompiledMatcher, type Labels, type SeriesEntry } from '../domain/series.js';
import { invalidRequest, MeetrError, statusOf, type ErrorCode } from '../errors.js';
import type { InstantResult } from '../promql/evaluator.js';
import { parseDurationMs } from '../promql/literals.js';
import { parseQuery, type QueryEngine, type QueryLimits } from '../promql/query-engine.js';
import { formatSampleValue, type RangeSeries, type RangeWindow } from '../promql/values.js';
import {
  cataloguePosition,
  labelNames,
  labelValues,
  type CatalogueService,
  type CataloguePosition,
} from '../query/catalogue-service.js';
import type { EpochMs } from '../time/units.js';
import type { AppEnv } from './app-env.js';
import { readRequestBody } from './request-body.js';
import { PROMETHEUS_API_PREFIX, SERIES_PATH } from './routes.js';

export interface PrometheusApiOptions {
  readonly engine: QueryEngine;
  readonly catalogue: CatalogueService;
  readonly maxBodyBytes: number;
  /** What /api/v1/status/buildinfo reports as meetr's own version. */
  readonly version: string;
}

/** The Prometheus version whose API this subset follows (reported by buildinfo, which Grafana reads). */
const PROMETHEUS_API_VERSION = '2.42.0';
/** Points per series a range query may have, as Prometheus limits it. */
const MAX_POINTS_PER_SERIES = 11_000;
/** Series per page of GET /1.0/series, by default and at most. */
const DEFAULT_PAGE = 1_000;
const MAX_PAGE = 10_000;
/** Prometheus' own bounds when start or end is left out. */
const MIN_TIME_MS = -9_223_372_036_854;
const MAX_TIME_MS = 9_223_372_036_854;

/** A request's parameters: the form body (POST) first, then the query string, as Go's Request.Form. */
interface Params {
  get(name: string): string | undefined;
  all(name: string): string[];
}

async function paramsOf(c: Context<AppEnv>, maxBodyBytes: number): Promise<Params> {
  const url = new URL(c.req.url).searchParams;
  let form = new URLSearchParams();
  if (c.req.method === 'POST') {
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded' && type !== '') {
      throw new MeetrError(
        'unsupported_media_type',
        `Content-Type ${type} is not accepted; POST the parameters form-encoded (application/x-www-form-urlencoded)`,
      );
    }
    form = new URLSearchParams((await readRequestBody(c, maxBodyBytes, c.get('scope').signal)).toString('utf8'));
  }
  return {
    get: (name) => form.get(name) ?? url.get(name) ?? undefined,
    all: (name) => [...form.getAll(name), ...url.getAll(name)],
  };
}

function badParameter(name: string, message: string): MeetrError {
  return invalidRequest(`invalid parameter "${name}": ${message}`, [{ field: name, message }]);
}

/** A Prometheus time: float seconds since the epoch or RFC 3339; in ms (rounded to the ms as Prometheus does). */
export function parsePrometheusTime(text: string): EpochMs | undefined {
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i.test(text.trim())) {
    const seconds = Number(text);
    const whole = Math.trunc(seconds);
    return Math.max(MIN_TIME_MS, Math.min(MAX_TIME_MS, whole * 1000 + Math.round((seconds - whole) * 1000)));
  }
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)$/i.test(text)) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

function timeParam(params: Params, name: string, fallback: EpochMs | undefined): EpochMs {
  const text = params.get(name);
  if (text === undefined || text === '') {
    if (fallback === undefined) throw badParameter(name, `cannot parse "" to a valid timestamp`);
    return fallback;
  }
  const ms = parsePrometheusTime(text);
  if (ms === undefined) throw badParameter(name, `cannot parse ${JSON.stringify(text)} to a valid timestamp`);
  return ms;
}

/** A step or timeout: float seconds or a Prometheus duration; in ms. */
function durationParam(params: Params, name: string): number {
  const text = params.get(name) ?? '';
  const ms = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i.test(text)
    ? Math.trunc(Number(text) * 1000)
    : parseDurationMs(text);
  if (ms === undefined) throw badParameter(name, `cannot parse ${JSON.stringify(text)} to a valid duration`);
  return ms;
}

/** The `match[]` selectors as matcher sets; each must hold a matcher that does not match the empty string. */
function matcherSets(params: Params): CompiledMatcher[][] {
  return params.all('match[]').map((text) => {
    const expr = parseQuery(text);
    if (expr.kind !== 'vector' || expr.offsetMs !== 0 || expr.at !== undefined)
      throw invalidRequest(`invalid parameter "match[]": ${JSON.stringify(text)} is not a series selector`, [
        { field: 'match[]', message: 'must be a series selector' },
      ]);
    return [...expr.matchers];
  });
}

function success(c: Context<AppEnv>, data: unknown): Response {
  return c.json({ status: 'success', data });
}

const seconds = (ms: number): number => ms / 1000;

/** Labels as Prometheus writes them: sorted by name. */
function sorted(labels: Labels): Labels {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => compareText(a, b)));
}

function instantData(result: InstantResult, t: EpochMs): unknown {
  switch (result.type) {
    case 'scalar':
      return { resultType: 'scalar', result: [seconds(t), formatSampleValue(result.value)] };
    case 'string':
      return { resultType: 'string', result: [seconds(t), result.value] };
    case 'vector':
      return {
        resultType: 'vector',
        result: result.samples.map((s) => ({
          metric: sorted(s.labels),
          value: [seconds(t), formatSampleValue(s.value)],
        })),
      };
    case 'matrix':
      return { resultType: 'matrix', result: result.series.map(windowData) };
  }
}

function windowData(series: RangeWindow): unknown {
  return {
    metric: sorted(series.labels),
    values: series.ts.map((t, i) => [seconds(t), formatSampleValue(series.values[i]!)]),
  };
}

function matrixOf(series: readonly RangeSeries[]): unknown[] {
  return series.map((s) => ({
    metric: sorted(s.labels),
    values: s.points.map(([t, v]) => [seconds(t), formatSampleValue(v)]),
  }));
}

/** The `timeout` parameter, if given: a query's own time bound. */
function limitsOf(params: Params): QueryLimits {
  if (params.get('timeout') === undefined || params.get('timeout') === '') return {};
  const timeoutMs = durationParam(params, 'timeout');
  return { timeoutMs };
}

/** The cursor of GET /1.0/series: where the next page starts, opaque to clients. */
function encodeCursor(position: CataloguePosition): string {
  return Buffer.from(JSON.stringify([position.shard, position.name, position.metricId])).toString('base64url');
}

function decodeCursor(text: string): CataloguePosition {
  try {
    const [shard, name, metricId] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    const position = cataloguePosition(shard, name, metricId);
    if (position !== undefined) return position;
  } catch {
    // answered below
  }
  throw invalidRequest('the after parameter is not a cursor this API gave', [
    { field: 'after', message: 'must be the "next" of an earlier page' },
  ]);
}

/** The Prometheus API and the Meetr catalogue listing, as a sub-app the HTTP app mounts. */
export function createPrometheusApi(options: PrometheusApiOptions): Hono<AppEnv> {
  const { engine, catalogue, maxBodyBytes, version } = options;
  const app = new Hono<AppEnv>({ strict: false });
  const api = (path: string): string => `${PROMETHEUS_API_PREFIX}${path}`;
  const both = (path: string, handler: (c: Context<AppEnv>, params: Params) => Promise<Response>): void => {
    app.on(['GET', 'POST'], api(path), async (c) => handler(c, await paramsOf(c, maxBodyBytes)));
  };

  both('/query', async (c, params) => {
    const t = timeParam(params, 'time', Date.now());
    const result = await engine.instant(params.get('query') ?? '', t, c.get('scope'), limitsOf(params));
    return success(c, instantData(result, t));
  });

  both('/query_range', async (c, params) => {
    const start = timeParam(params, 'start', undefined);
    const end = timeParam(params, 'end', undefined);
    if (end < start) throw badParameter('end', 'end timestamp must not be before start time');
    const step = durationParam(params, 'step');
    if (step <= 0)
      throw badParameter(
        'step',
        'zero or negative query resolution step widths are not accepted. Try a positive integer',
      );
    if (Math.floor((end - start) / step) > MAX_POINTS_PER_SERIES) {
      throw invalidRequest(
        'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
        [{ field: 'step', message: 'too small for the range' }],
      );
    }
    const series = await engine.range(params.get('query') ?? '', start, end, step, c.get('scope'), limitsOf(params));
    return success(c, { resultType: 'matrix', result: matrixOf(series) });
  });

  const selection = async (c: Context<AppEnv>, params: Params, required: boolean): Promise<SeriesEntry[]> => {
    const start = timeParam(params, 'start', MIN_TIME_MS);
    const end = timeParam(params, 'end', MAX_TIME_MS);
    const sets = matcherSets(params);
    if (sets.length === 0 && required)
      throw invalidRequest('no match[] parameter provided', [{ field: 'match[]', message: 'is required' }]);
    return catalogue.select(sets.length === 0 ? [[]] : sets, start, end, c.get('scope'));
  };

  both('/series', async (c, params) =>
    success(
      c,
      (await selection(c, params, true)).map((s) => s.labels),
    ),
  );
  both('/labels', async (c, params) => success(c, labelNames(await selection(c, params, false))));

  app.get(api('/label/:name/values'), async (c) => {
    const name = c.req.param('name') ?? '';
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name))
      throw invalidRequest(`invalid label name: ${JSON.stringify(name)}`, [
        { field: 'name', message: 'is not a label name' },
      ]);
    return success(c, labelValues(await selection(c, await paramsOf(c, maxBodyBytes), false), name));
  });

  app.get(api('/metadata'), (c) => success(c, {}));
  app.on(['GET', 'POST'], api('/query_exemplars'), (c) => success(c, []));
  app.get(api('/status/buildinfo'), (c) =>
    success(c, {
      version: PROMETHEUS_API_VERSION,
      revision: `meetr ${version}`,
      branch: 'meetr',
      buildUser: 'meetr',
      buildDate: '',
      goVersion: 'none (meetr)',
    }),
  );

  app.get(SERIES_PATH, async (c) => {
    const params = await paramsOf(c, maxBodyBytes);
    const limitText = params.get('limit') ?? String(DEFAULT_PAGE);
    const limit = /^\d{1,6}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= MAX_PAGE))
      throw invalidRequest(`limit must be a whole number from 1 to ${MAX_PAGE}`, [
        { field: 'limit', message: `must be 1 to ${MAX_PAGE}` },
      ]);
    const sets = matcherSets(params);
    if (sets.length > 1)
      throw invalidRequest('give at most one match[] selector to a listing', [
        { field: 'match[]', message: 'at most one' },
      ]);
    const after = params.get('after');
    const page = await catalogue.page(
      sets[0] ?? [],
      limit,
      after === undefined ? undefined : decodeCursor(after),
      c.get('scope'),
    );
    return c.json({
      series: page.series.map((s) => ({ metric: s.metricId, labels: s.labels })),
      next: page.next === undefined ? null : encodeCursor(page.next),
    });
  });

  return app;
}

/** Prometheus' errorType for each meetr error code. */
function errorTypeOf(code: ErrorCode): string {
  switch (code) {
    case 'query_too_large':
    case 'query_failed':
    case 'not_representable':
      return 'execution';
    case 'storage_unavailable':
    case 'overloaded':
      return 'unavailable';
    case 'deadline_exceeded':
    case 'request_timeout':
      return 'timeout';
    case 'not_found':
      return 'not_found';
    case 'internal_error':
      return 'internal';
    default:
      return 'bad_data';
  }
}

/** An error as the Prometheus API answers it: `{"status":"error","errorType":...,"error":...}`. */
export function prometheusError(
  code: ErrorCode,
  message: string,
): { status: ReturnType<typeof statusOf>; body: { status: 'error'; errorType: string; error: string } } {
  return { status: statusOf(code), body: { status: 'error', errorType: errorTypeOf(code), error: message } };
}
