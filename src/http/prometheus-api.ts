/**
 * The Prometheus HTTP API subset Grafana and promtool use, under /api/v1/:
 * query, query_range, series, labels, label/<name>/values, metadata,
 * query_exemplars and status/buildinfo; GET, and POST with a form body (Grafana's
 * default). Answers `{"status":"success","data":...}` as Prometheus does; errors
 * are rendered by the app's onError in Prometheus' shape (prometheusError).
 * Also the Meetr catalogue listing, GET /1.0/series, paged.
 */
import { Hono, type Context } from 'hono';
import { isLabelName, type SeriesEntry } from '../domain/series.js';
import { invalidRequest } from '../errors.js';
import type { QueryEngine } from '../promql/query-engine.js';
import type { CatalogueService } from '../query/catalogue-service.js';
import type { AppEnv } from './app-env.js';
import { instantData, matrixAnswer, success } from './prometheus-answers.js';
import {
  badParameter,
  durationParam,
  limitsOf,
  matcherSets,
  paramsOf,
  timeParam,
  type Params,
} from './prometheus-params.js';
import { PROMETHEUS_API_PREFIX, SERIES_PATH } from './routes.js';
import { MAX_TIME_MS, MIN_TIME_MS } from '../time/time-text.js';
import { seriesListing } from './series-listing.js';
import { tsdbStatus } from './tsdb-status.js';

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

/** A handler that reads the request's parameters first. */
type ParamsHandler = (c: Context<AppEnv>, params: Params) => Promise<Response>;

/** The Prometheus API and the Meetr catalogue listing, as a sub-app the HTTP app mounts. */
export function createPrometheusApi(options: PrometheusApiOptions): Hono<AppEnv> {
  const { engine, catalogue, maxBodyBytes, version } = options;
  const app = new Hono<AppEnv>({ strict: false });
  const api = (path: string): string => `${PROMETHEUS_API_PREFIX}${path}`;
  const both = (path: string, handler: ParamsHandler): void => {
    app.on(['GET', 'POST'], api(path), async (c) => handler(c, await paramsOf(c, maxBodyBytes)));
  };
  const select = selection(catalogue);
  const labels = labelListing(catalogue);

  both('/query', async (c, params) => {
    const t = timeParam(params, 'time', Date.now());
    const result = await engine.instant(params.get('query') ?? '', t, c.get('scope'), limitsOf(params));
    return success(c, instantData(result, t));
  });
  both('/query_range', rangeQuery(engine));
  both('/series', async (c, params) =>
    success(
      c,
      (await select(c, params)).map((s) => s.labels),
    ),
  );
  both('/labels', async (c, params) => success(c, await labels(c, params, undefined)));
  app.get(api('/label/:name/values'), async (c) => {
    const name = c.req.param('name') ?? '';
    if (!isLabelName(name))
      throw invalidRequest(`invalid label name: ${JSON.stringify(name)}`, [
        { field: 'name', message: 'is not a label name' },
      ]);
    return success(c, await labels(c, await paramsOf(c, maxBodyBytes), name));
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
  app.get(api('/status/tsdb'), tsdbStatus(catalogue, maxBodyBytes));
  app.get(SERIES_PATH, seriesListing(catalogue, maxBodyBytes));
  return app;
}

/** query_range: start and end required, a positive step, at most 11,000 points per series. */
function rangeQuery(engine: QueryEngine): ParamsHandler {
  return async (c, params) => {
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
    return matrixAnswer(c, series);
  };
}

/** What the catalogue listings ask: the matcher sets (every series when none), from start to end (all of time when left out). */
function catalogueQuery(params: Params) {
  const sets = matcherSets(params);
  return {
    given: sets.length > 0,
    sets: sets.length === 0 ? [[]] : sets,
    start: timeParam(params, 'start', MIN_TIME_MS),
    end: timeParam(params, 'end', MAX_TIME_MS),
  };
}

/** The series `match[]` (required) selects between start and end. */
function selection(catalogue: CatalogueService) {
  return async (c: Context<AppEnv>, params: Params): Promise<SeriesEntry[]> => {
    const { given, sets, start, end } = catalogueQuery(params);
    if (!given) throw invalidRequest('no match[] parameter provided', [{ field: 'match[]', message: 'is required' }]);
    return catalogue.select(sets, start, end, c.get('scope'));
  };
}

/** The label names (`name` undefined) or one label's values among the series `match[]` selects. */
function labelListing(catalogue: CatalogueService) {
  return async (c: Context<AppEnv>, params: Params, name: string | undefined): Promise<string[]> => {
    const { sets, start, end } = catalogueQuery(params);
    return catalogue.labels(sets, start, end, c.get('scope'), name);
  };
}
