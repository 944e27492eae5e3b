/**
 * PromQL over meetr's storage: parses a query (promql.ts), finds each selector's
 * series in the catalogue, reads their raw points for the window the query needs
 * (the range or the 5-minute lookback before each evaluation time, after offsets),
 * all as one search with one bound on points, then evaluates (evaluate.ts).
 */
import { invalidRequest } from '../errors.js';
import type { CatalogueService } from '../query/catalogue-service.js';
import type { MetricSamples, SamplesQuery, SearchService } from '../query/search-service.js';
import { MS_PER_DAY, type EpochMs } from '../time/units.js';
import type { WorkScope } from '../work-scope.js';
import { evaluateInstant, evaluateRange, LOOKBACK_MS, type InstantResult, type LoadedSeries, type RangeSeries } from './evaluate.js';
import { parsePromql, selectorsOf, typeOf, type Expr, type MatrixSelector, type VectorSelector } from './promql.js';

export interface QueryEngineOptions {
  readonly catalogue: CatalogueService;
  readonly search: SearchService;
  /** Most raw points one query reads (MEETR_MAX_QUERY_SAMPLES). */
  readonly maxSamples: number;
}

export interface QueryEngine {
  /** Evaluates `query` at `t` (ms). Throws invalid_request (bad_data) for a query it cannot parse or does not support. */
  instant(query: string, t: EpochMs, scope: WorkScope): Promise<InstantResult>;
  /** Evaluates `query` at start, start + step, ... up to end (ms); it must be a scalar or an instant vector. */
  range(query: string, startMs: EpochMs, endMs: EpochMs, stepMs: number, scope: WorkScope): Promise<RangeSeries[]>;
}

export function createQueryEngine(options: QueryEngineOptions): QueryEngine {
  const { catalogue, search, maxSamples } = options;

  /** The series and points every selector of `expr` needs for evaluations from firstT to lastT. */
  const load = async (expr: Expr, firstT: EpochMs, lastT: EpochMs, scope: WorkScope): Promise<Map<VectorSelector | MatrixSelector, LoadedSeries[]>> => {
    const selectors = selectorsOf(expr);
    const reads: SamplesQuery[] = [];
    const owners: Array<{ selector: VectorSelector | MatrixSelector; labels: LoadedSeries['labels'] }> = [];
    for (const selector of selectors) {
      const vector = selector.kind === 'matrix' ? selector.selector : selector;
      const reach = selector.kind === 'matrix' ? selector.rangeMs : LOOKBACK_MS;
      const fromMs = firstT - vector.offsetMs - reach;
      const toMs = lastT - vector.offsetMs;
      for (const series of await catalogue.select([vector.matchers], fromMs, toMs, scope)) {
        // Only the days the catalogue says the series has points on.
        const from = Math.max(fromMs, series.firstDay * MS_PER_DAY);
        const to = Math.min(toMs, (series.lastDay + 1) * MS_PER_DAY - 1);
        if (from > to) continue;
        reads.push({ metricId: series.metricId, fromMs: from, toMs: to });
        owners.push({ selector, labels: series.labels });
      }
    }
    const samples = await search.samples(reads, maxSamples, scope);
    const data = new Map<VectorSelector | MatrixSelector, LoadedSeries[]>(selectors.map((selector) => [selector, []]));
    samples.forEach((loaded, i) => {
      const { selector, labels } = owners[i]!;
      if (loaded.ts.length > 0 || loaded.special.length > 0) data.get(selector)!.push({ labels, ...withSpecialSamples(loaded) });
    });
    return data;
  };

  return {
    async instant(query, t, scope) {
      const expr = parsePromql(query);
      return evaluateInstant(expr, t, await load(expr, t, t, scope));
    },

    async range(query, startMs, endMs, stepMs, scope) {
      const expr = parsePromql(query);
      if (typeOf(expr) === 'matrix') throw invalidRequest('invalid expression type "range vector" for range query, must be Scalar or instant Vector', [{ field: 'query', message: 'is a range vector' }]);
      const times: number[] = [];
      for (let t = startMs; t <= endMs; t += stepMs) times.push(t);
      return evaluateRange(expr, times, await load(expr, startMs, endMs, scope));
    },
  };
}

/**
 * A series' points with its special samples merged in, in ts order (a special
 * sample at the ts of a point gives way to the point), and which are staleness markers.
 */
export function withSpecialSamples(samples: MetricSamples): Pick<LoadedSeries, 'ts' | 'values' | 'stale'> {
  const { special } = samples;
  if (special.length === 0) return { ts: samples.ts, values: samples.values };
  const ts: number[] = [];
  const values: number[] = [];
  const stale = new Set<number>();
  let s = 0;
  for (let i = 0; i <= samples.ts.length; i++) {
    const next = i < samples.ts.length ? samples.ts[i]! : Infinity;
    for (; s < special.length && special[s]!.ts < next; s++) {
      if (special[s]!.stale) stale.add(ts.length);
      ts.push(special[s]!.ts);
      values.push(special[s]!.value);
    }
    if (s < special.length && special[s]!.ts === next) s++;
    if (i < samples.ts.length) {
      ts.push(next);
      values.push(samples.values[i]!);
    }
  }
  return { ts, values, stale };
}
