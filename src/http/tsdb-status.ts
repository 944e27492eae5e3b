/**
 * GET /api/v1/status/tsdb: the catalogue's cardinality in Prometheus' shape (its
 * TSDB status page, and the explorer's series browser), from one pass over the
 * catalogue. Prometheus reports its head block; meetr reports every series it
 * holds, with minTime and maxTime at day precision.
 */
import type { Handler } from 'hono';
import { compareText, NAME_LABEL } from '../domain/series.js';
import type { CatalogueService, CatalogueStats } from '../query/catalogue-service.js';
import type { AppEnv } from './app-env.js';
import { success } from './prometheus-answers.js';
import { badParameter, countParam, paramsOf } from './prometheus-params.js';

/** Entries per list, by default and at most, as Prometheus has them. */
const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 10_000;

interface Stat {
  readonly name: string;
  readonly value: number;
}

/** The `limit` largest, ties by name. */
function top(stats: Iterable<Stat>, limit: number): Stat[] {
  return [...stats].sort((a, b) => b.value - a.value || compareText(a.name, b.name)).slice(0, limit);
}

/** The answer's data: Prometheus' five lists, and the head statistics meetr can give. */
export function tsdbStatusData(stats: CatalogueStats, limit: number): unknown {
  const byLabel = [...stats.seriesByValue];
  const pairs = byLabel.flatMap(([name, values]) =>
    [...values].map(([value, n]) => ({ name: `${name}=${value}`, value: n })),
  );
  const headStats = {
    numSeries: stats.numSeries,
    numLabelPairs: pairs.length,
    minTime: stats.minTime,
    maxTime: stats.maxTime,
  };
  return {
    headStats,
    seriesCountByMetricName: top(
      [...(stats.seriesByValue.get(NAME_LABEL) ?? [])].map(([name, value]) => ({ name, value })),
      limit,
    ),
    labelValueCountByLabelName: top(
      byLabel.map(([name, values]) => ({ name, value: values.size })),
      limit,
    ),
    // As Prometheus counts it: the bytes of each label's distinct values.
    memoryInBytesByLabelName: top(
      byLabel.map(([name, values]) => ({
        name,
        value: [...values.keys()].reduce((sum, value) => sum + Buffer.byteLength(value), 0),
      })),
      limit,
    ),
    seriesCountByLabelValuePair: top(pairs, limit),
  };
}

export function tsdbStatus(catalogue: CatalogueService, maxBodyBytes: number): Handler<AppEnv> {
  return async (c) => {
    const params = await paramsOf(c, maxBodyBytes);
    const limit = countParam(params, 'limit', DEFAULT_LIMIT, MAX_LIMIT);
    if (limit === undefined) throw badParameter('limit', `must be a whole number from 1 to ${MAX_LIMIT}`);
    return success(c, tsdbStatusData(await catalogue.stats(c.get('scope')), limit));
  };
}
