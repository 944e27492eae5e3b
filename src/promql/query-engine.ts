/**
 * PromQL over meetr's storage: parses a query (parser.ts), works out the spans of
 * raw samples each selector needs (read-windows.ts), finds the series in the
 * catalogue, reads their samples as one bounded search, then
 * evaluates (evaluator.ts); a range query that needs one series at a time and does
 * not fit the bound at once is answered a few series at a time (series-batches.ts).
 * At most `maxConcurrent` queries evaluate at once per worker; more wait their
 * turn, and past `maxWaiting` are shed.
 */
import { createTurns } from '../concurrency.js';
import { invalidRequest, MeetrError, OverloadedError } from '../errors.js';
import type { MetricSamples, SamplesQuery, TimeSpan } from '../domain/point.js';
import type { CompiledMatcher, SeriesEntry } from '../domain/series.js';
import { dayEndMs, dayStartMs } from '../time/day-bucket.js';
import { type EpochMs } from '../time/units.js';
import type { WorkScope } from '../work-scope.js';
import { typeOf, type Call, type Expr, type VectorSelector } from './ast.js';
import { Evaluator, type InstantResult } from './evaluator.js';
import { parsePromql } from './parser.js';
import { clipSpans, selectorWindows } from './read-windows.js';
import { withSpecialSamples, type LoadedSeries } from './selectors.js';
import { answeredWhole } from './range-steps.js';
import type { SteppedCall } from './step-values.js';
import { rangeInBatches, type FoundSeries } from './series-batches.js';
import { rolledCalls, stepsFromRollups, type WindowReader } from './rollup-windows.js';
import { PromqlSyntaxError } from './syntax-error.js';
import { compareLabels, type RangeSeries } from './values.js';

/** Finds the series a selector names, with the UTC days they have points on (the catalogue service). */
export interface SeriesFinder {
  select(
    sets: ReadonlyArray<readonly CompiledMatcher[]>,
    fromMs: EpochMs,
    toMs: EpochMs,
    scope: WorkScope,
  ): Promise<readonly SeriesEntry[]>;
}

/** Reads the raw samples of several series as one bounded read (the search service). */
export interface SampleReader {
  samples(queries: readonly SamplesQuery[], maxSamples: number, scope: WorkScope): Promise<MetricSamples[]>;
}

/** What a query reads through: declared here, wired in compose.ts, so PromQL knows no service. */
export interface QueryEngineOptions {
  readonly catalogue: SeriesFinder;
  /** With windows: min, max and count over time on whole hours are read from rollups (rollup-windows.ts). */
  readonly search: SampleReader & Partial<Pick<WindowReader, 'windows'>>;
  /** Most samples one query holds at once, loaded and computed (MEETR_MAX_QUERY_SAMPLES). */
  readonly maxSamples: number;
  /** Queries evaluated at once per worker, and how many may wait for a turn (MEETR_MAX_CONCURRENT_QUERIES, MEETR_MAX_WAITING_QUERIES). */
  readonly maxConcurrent: number;
  readonly maxWaiting: number;
  /** The step of a subquery that names none, ms: Prometheus' default evaluation interval, 1 minute. */
  readonly defaultSubqueryStepMs?: number;
}

/** A query's time bound: the request's deadline, or `timeoutMs` from now if that is sooner. */
export interface QueryLimits {
  readonly timeoutMs?: number;
}

export interface QueryEngine {
  /** Evaluates `query` at `t` (ms). Throws invalid_request (bad_data) for a query it cannot parse. */
  instant(query: string, t: EpochMs, scope: WorkScope, limits?: QueryLimits): Promise<InstantResult>;
  /** Evaluates `query` at start, start + step, ... up to end (ms); it must be a scalar or an instant vector. */
  range(
    query: string,
    startMs: EpochMs,
    endMs: EpochMs,
    stepMs: number,
    scope: WorkScope,
    limits?: QueryLimits,
  ): Promise<RangeSeries[]>;
}

/** Parses a query, answering a syntax error as invalid_request. */
export function parseQuery(query: string): Expr {
  try {
    return parsePromql(query);
  } catch (error) {
    if (error instanceof PromqlSyntaxError) throw error.toMeetrError();
    throw error;
  }
}

export function createQueryEngine(options: QueryEngineOptions): QueryEngine {
  const { defaultSubqueryStepMs = 60_000 } = options;
  const turns = createTurns(
    options.maxConcurrent,
    options.maxWaiting,
    (waiting) =>
      new OverloadedError(
        'queries_waiting',
        `the worker evaluates ${options.maxConcurrent} queries and has ${waiting} waiting (MEETR_MAX_CONCURRENT_QUERIES, MEETR_MAX_WAITING_QUERIES); retry shortly`,
      ),
  );

  const evaluate = async <T>(evaluation: Evaluation<T>, scope: WorkScope, limits: QueryLimits | undefined) => {
    const bounded: WorkScope =
      limits?.timeoutMs === undefined
        ? scope
        : { signal: scope.signal, deadlineMs: Math.min(scope.deadlineMs, Date.now() + limits.timeoutMs) };
    const release = await turns.take(bounded);
    try {
      return await evaluateQuery({ ...options, defaultSubqueryStepMs }, evaluation, bounded);
    } finally {
      release();
    }
  };

  return {
    async instant(query, t, scope, limits) {
      const expr = parseQuery(query);
      return evaluate(
        { expr, startMs: t, endMs: t, stepMs: 0, run: (evaluator) => evaluator.instant(expr) },
        scope,
        limits,
      );
    },

    async range(query, startMs, endMs, stepMs, scope, limits) {
      const expr = parseQuery(query);
      const type = typeOf(expr);
      if (type !== 'scalar' && type !== 'vector') {
        throw invalidRequest(
          `invalid expression type "${type === 'matrix' ? 'range vector' : type}" for range query, must be Scalar or instant Vector`,
          [{ field: 'query', message: `is a ${type}` }],
        );
      }
      const run = (evaluator: Evaluator): Promise<RangeSeries[]> => evaluator.range(expr, stepMs);
      return evaluate(
        {
          expr,
          startMs,
          endMs,
          stepMs,
          run,
          ...(answeredWhole(expr) !== undefined && { batched: (series: RangeSeries[]) => series }),
        },
        scope,
        limits,
      );
    },
  };
}

/** One evaluation of a query: its times, and what it evaluates. */
interface Evaluation<T> {
  readonly expr: Expr;
  readonly startMs: EpochMs;
  readonly endMs: EpochMs;
  readonly stepMs: number;
  readonly run: (evaluator: Evaluator) => Promise<T>;
  /** For a range query that may be answered a few series at a time (series-batches.ts) when its samples do not fit at once: its answer from those series. */
  readonly batched?: (series: RangeSeries[]) => T;
}

/**
 * Finds a query's series, reads their samples and evaluates. Past the bound on
 * samples while loading, a batched query is answered a few series at a time, which
 * holds less: a batch's samples and the answer so far. A refusal while evaluating
 * (the output a range query would build, say) stands.
 */
async function evaluateQuery<T>(
  options: QueryEngineOptions & { readonly defaultSubqueryStepMs: number },
  { expr, startMs, endMs, stepMs, run, batched }: Evaluation<T>,
  scope: WorkScope,
): Promise<T> {
  const { maxSamples, defaultSubqueryStepMs } = options;
  const found = await findSeries(options, expr, [startMs, endMs, stepMs], scope);
  const { stepped, rest } = await fromRollups(options, expr, [startMs, endMs, stepMs], found, scope);
  let read: { data: Map<VectorSelector, LoadedSeries[]>; loaded: number };
  try {
    read = await readSeries(options, rest, scope);
  } catch (error) {
    if (batched === undefined || !(error instanceof MeetrError && error.code === 'query_too_large')) throw error;
    const batches = { maxSamples, defaultSubqueryStepMs, read: readSeries.bind(null, options) };
    return batched(await rangeInBatches(batches, { expr, startMs, endMs, stepMs }, found, scope));
  }
  const { data, loaded } = read;
  const evaluator = new Evaluator({
    data,
    startMs,
    endMs,
    maxSamples,
    loadedSamples: loaded,
    defaultSubqueryStepMs,
    scope,
    stepped,
  });
  return run(evaluator);
}

/**
 * The calls of a range query that rollups answer (rollup-windows.ts), worked out
 * for every step, and the series of the other selectors, which are read as samples.
 */
async function fromRollups(
  { search, maxSamples }: QueryEngineOptions,
  expr: Expr,
  times: [EpochMs, EpochMs, number],
  found: FoundSeries,
  scope: WorkScope,
): Promise<{ stepped: Map<Call, SteppedCall>; rest: FoundSeries }> {
  const stepped = new Map<Call, SteppedCall>();
  const rolled = new Set<VectorSelector>();
  const windows = search.windows?.bind(search);
  if (windows === undefined) return { stepped, rest: found };
  const reader: WindowReader = { windows, samples: search.samples.bind(search) };
  const of = (keep: (selector: VectorSelector) => boolean): FoundSeries => {
    const mine = [...found.owners.keys()].filter((i) => keep(found.owners[i]!.selector));
    return { reads: mine.map((i) => found.reads[i]!), owners: mine.map((i) => found.owners[i]!) };
  };
  for (const call of rolledCalls(expr, times, maxSamples)) {
    const series = of((selector) => selector === call.selector);
    // As RangeSteps: past the bound, the call's values at every step would hold too much; it is evaluated step by step.
    if (series.reads.length * call.steps > maxSamples) continue;
    stepped.set(call.call, await stepsFromRollups(reader, call, series, scope));
    rolled.add(call.selector);
  }
  return { stepped, rest: rolled.size === 0 ? found : of((selector) => !rolled.has(selector)) };
}

/** The series every selector of `expr` needs for evaluations from startMs to endMs every stepMs (0: instant), with what to read of each. */
async function findSeries(
  { catalogue }: QueryEngineOptions,
  expr: Expr,
  [startMs, endMs, stepMs]: [EpochMs, EpochMs, number],
  scope: WorkScope,
): Promise<FoundSeries> {
  const reads: SamplesQuery[] = [];
  const owners: Array<{ selector: VectorSelector; labels: LoadedSeries['labels'] }> = [];
  for (const [selector, spans] of selectorWindows(expr, startMs, endMs, stepMs)) {
    const [fromMs, toMs] = [spans[0]![0], spans[spans.length - 1]![1]];
    for (const series of await catalogue.select([selector.matchers], fromMs, toMs, scope)) {
      // Only the days the catalogue says the series has points on.
      const days: TimeSpan = [dayStartMs(series.firstDay), dayEndMs(series.lastDay)];
      const within = clipSpans(spans, days);
      if (within.length === 0) continue;
      const [from, to] = [within[0]![0], within[within.length - 1]![1]];
      reads.push({ metricId: series.metricId, fromMs: from, toMs: to, ...(within.length > 1 && { spans: within }) });
      owners.push({ selector, labels: series.labels });
    }
  }
  return { reads, owners };
}

/** The samples of the series found, by selector (only selectors with a series that has samples), each selector's series sorted by labels. */
async function readSeries(
  { search, maxSamples }: Pick<QueryEngineOptions, 'search' | 'maxSamples'>,
  { reads, owners }: FoundSeries,
  scope: WorkScope,
): Promise<{ data: Map<VectorSelector, LoadedSeries[]>; loaded: number }> {
  const data = new Map<VectorSelector, LoadedSeries[]>(); // a selector with no series has no entry
  const samples = await search.samples(reads, maxSamples, scope);
  let loaded = 0;
  samples.forEach((read, i) => {
    const { selector, labels } = owners[i]!;
    loaded += read.ts.length + read.special.length;
    if (read.ts.length === 0 && read.special.length === 0) return;
    const series = data.get(selector);
    if (series === undefined) data.set(selector, [{ labels, ...withSpecialSamples(read) }]);
    else series.push({ labels, ...withSpecialSamples(read) });
  });
  for (const series of data.values()) series.sort((a, b) => compareLabels(a.labels, b.labels));
  return { data, loaded };
}
