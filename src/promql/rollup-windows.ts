/**
 * `min_over_time`, `max_over_time` and `count_over_time` of a range selector in a
 * range query (anywhere in it but inside a subquery) whose windows fall on whole
 * hours, answered from rollups for every step at once, which the evaluator then
 * takes as it takes RangeSteps' calls (range-steps.ts): a
 * window [t - range, t] is the rollup buckets of [t - range, t) and the sample at
 * exactly t, which is the first of the bucket starting at t when it falls there.
 * So a month at a 1h step reads an hour's rollup row a window instead of its 240
 * samples. Only buckets the search says are plain (query/plain-buckets.ts: their
 * rollups hold every sample PromQL sees, and compare as it does) answer; a window
 * touching another is read as samples and worked out as the evaluator does, so
 * the answer is the same either way.
 */
import type { MetricSamples, SamplesQuery, TimeSpan } from '../domain/point.js';
import type { WorkScope } from '../work-scope.js';
import { checkScope } from '../work-scope.js';
import { unwrapParens, type Call, type Expr, type VectorSelector } from './ast.js';
import { clipSpans, mergeSpans } from './read-windows.js';
import { RANGE_FUNCTIONS } from './range-functions.js';
import { stepRangeFunction, type SteppedCall, type SteppedSeries } from './step-values.js';
import { BATCH_SERIES, type FoundSeries } from './series-batches.js';
import { windowEndAt, withSpecialSamples } from './selectors.js';
import { compareLabels } from './values.js';

/** What a bucket's rollups say: PartialAggregate's part that these functions need. */
export interface BucketAggregate {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly first?: { readonly ts: number; readonly value: number };
}

/** Reads series' buckets: the search service, declared here so PromQL knows no service. */
export interface WindowReader {
  windows(
    queries: ReadonlyArray<{ readonly metricId: string; readonly bounds: readonly number[] }>,
    scope: WorkScope,
  ): Promise<Array<{ readonly partials: readonly BucketAggregate[]; readonly plain: Uint8Array }>>;
  samples(queries: readonly SamplesQuery[], maxSamples: number, scope: WorkScope): Promise<MetricSamples[]>;
}

/** The finest rollup bucket: the sample at a window's end is the first of the quarter starting there. */
const QUARTER_MS = 15 * 60_000;

/**
 * Windows are read from rollups only when they end on whole hours and cover the
 * query's range without gaps: then a window is hour rows (or day rows), each in
 * place of an hour's chunk. Quarter rows cost more to read than the chunks they
 * replace (four a chunk: the driver spends some 10 µs on a row, a chunk of a
 * 15-second series decodes in about 3 µs), and rows in the gaps between shorter
 * windows are read with the rest of their partition's slice.
 */
const HOUR_MS = 60 * 60_000;

const FROM_ROLLUPS = new Set(['min_over_time', 'max_over_time', 'count_over_time']);

/** A call of a range query that rollups answer: its function and range selector, the query's steps and bound. */
export interface RolledCall {
  readonly call: Call;
  readonly func: string;
  readonly selector: VectorSelector;
  readonly rangeMs: number;
  readonly startMs: number;
  readonly stepMs: number;
  readonly steps: number;
  readonly maxSamples: number;
}

/**
 * The calls of a range query that rollups can answer: one of the functions of a
 * range selector without `@` whose windows all end on hours and leave no gaps
 * (HOUR_MS), evaluated at the query's steps (so not inside a subquery, which has
 * steps of its own).
 */
export function rolledCalls(
  expr: Expr,
  [startMs, endMs, stepMs]: [number, number, number],
  maxSamples: number,
): RolledCall[] {
  if (stepMs <= 0 || stepMs % HOUR_MS !== 0) return [];
  const steps = Math.floor((endMs - startMs) / stepMs) + 1;
  const found: RolledCall[] = [];
  const visit = (node: Expr): void => {
    switch (node.kind) {
      case 'call': {
        const arg = node.args.length === 1 ? unwrapParens(node.args[0]!) : undefined;
        if (FROM_ROLLUPS.has(node.func) && arg?.kind === 'matrix' && arg.selector.at === undefined) {
          const { rangeMs } = arg;
          const aligned =
            (startMs - arg.selector.offsetMs) % HOUR_MS === 0 && rangeMs % HOUR_MS === 0 && rangeMs >= stepMs;
          if (aligned) {
            const { selector } = arg;
            found.push({ call: node, func: node.func, selector, rangeMs, startMs, stepMs, steps, maxSamples });
          }
          return;
        }
        return node.args.forEach(visit);
      }
      case 'paren':
      case 'unary':
        return visit(node.expr);
      case 'aggregate':
        if (node.param !== undefined) visit(node.param);
        return visit(node.expr);
      case 'binary':
        visit(node.lhs);
        return visit(node.rhs);
      default: // a subquery's calls are evaluated at its own steps
    }
  };
  visit(expr);
  return found;
}

/** Every step's value of a RolledCall over the series found for its selector (sorted by labels), as RangeSteps holds a call. */
export async function stepsFromRollups(
  reader: WindowReader,
  query: RolledCall,
  found: FoundSeries,
  scope: WorkScope,
): Promise<SteppedCall> {
  const { bounds, starts, ends } = windowBounds(query);
  const buckets = await reader.windows(
    found.reads.map(({ metricId }) => ({ metricId, bounds })),
    scope,
  );
  const series: SteppedSeries[] = [];
  const unplain: Array<{ index: number; steps: number[] }> = [];
  buckets.forEach(({ partials, plain }, index) => {
    const stepped = fromBuckets(query, { partials, plain }, { bounds, starts, ends });
    series.push({ labels: found.owners[index]!.labels, values: stepped.values, present: stepped.present });
    if (stepped.unplain.length > 0) unplain.push({ index, steps: stepped.unplain });
  });
  checkScope(scope);
  await fromSamples(reader, query, { found, series, unplain }, scope);
  // In the order the selector's loaded series would be in: an aggregation adds them up in it.
  series.sort((a, b) => compareLabels(a.labels, b.labels));
  return { series, held: new Float64Array(query.steps), scalars: [] };
}

/** Window i is [bounds[starts[i]], bounds[ends[i]]]; the buckets' bounds are every window's ends and a quarter past the last. */
interface Windows {
  readonly bounds: number[];
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
}

function windowBounds({ startMs, stepMs, steps, rangeMs, selector }: RolledCall): Windows {
  const firstEnd = startMs - selector.offsetMs;
  const instants = new Set<number>();
  for (let i = 0; i < steps; i++) instants.add(firstEnd + i * stepMs - rangeMs).add(firstEnd + i * stepMs);
  instants.add(firstEnd + (steps - 1) * stepMs + QUARTER_MS);
  const bounds = [...instants].sort((a, b) => a - b);
  const index = new Map(bounds.map((t, i) => [t, i]));
  const [starts, ends] = [new Uint32Array(steps), new Uint32Array(steps)];
  for (let i = 0; i < steps; i++) {
    starts[i] = index.get(firstEnd + i * stepMs - rangeMs)!;
    ends[i] = index.get(firstEnd + i * stepMs)!;
  }
  return { bounds, starts, ends };
}

/**
 * Each window's value from its buckets where they are all plain; the steps of the
 * others are left for the samples. Both ends of the windows only move forward, so
 * the extreme of each is kept in a monotonic queue of bucket indexes.
 */
function fromBuckets(
  { func, steps }: RolledCall,
  { partials, plain }: { readonly partials: readonly BucketAggregate[]; readonly plain: Uint8Array },
  { bounds, starts, ends }: Windows,
): { values: Float64Array; present: Uint8Array; unplain: number[] } {
  const [values, present, unplain] = [new Float64Array(steps), new Uint8Array(steps), [] as number[]];
  const [counted, plainBefore] = [new Float64Array(plain.length + 1), new Uint32Array(plain.length + 1)];
  for (let i = 0; i < plain.length; i++) {
    counted[i + 1] = counted[i]! + (partials[i]?.count ?? 0);
    plainBefore[i + 1] = plainBefore[i]! + plain[i]!;
  }
  const sign = func === 'min_over_time' ? -1 : 1; // min is the max of the negated values
  const extreme = (i: number): number => {
    const p = partials[i];
    return p === undefined || p.count === 0 ? -Infinity : sign === 1 ? p.max : -p.min;
  };
  const queue: number[] = [];
  let [head, next] = [0, 0];
  for (let step = 0; step < steps; step++) {
    const [from, to] = [starts[step]!, ends[step]!];
    const atEnd = partials[to];
    if (
      plainBefore[to + 1]! - plainBefore[from]! !== to + 1 - from ||
      (atEnd !== undefined && atEnd.count > 0 && atEnd.first === undefined)
    ) {
      unplain.push(step);
      continue;
    }
    for (; next < to; next++) {
      while (queue.length > head && extreme(queue[queue.length - 1]!) <= extreme(next)) queue.pop();
      queue.push(next);
    }
    while (head < queue.length && queue[head]! < from) head++;
    const last = atEnd?.first?.ts === bounds[to] ? atEnd?.first : undefined;
    const count = counted[to]! - counted[from]! + (last === undefined ? 0 : 1);
    if (count === 0) continue;
    present[step] = 1;
    if (func === 'count_over_time') values[step] = count;
    else {
      const inBuckets = head < queue.length ? extreme(queue[head]!) : -Infinity;
      values[step] = sign * Math.max(inBuckets, last === undefined ? -Infinity : sign * last.value);
    }
  }
  return { values, present, unplain };
}

/** The steps no plain buckets answer, from the samples of their windows, BATCH_SERIES series at a time. */
async function fromSamples(
  reader: WindowReader,
  query: RolledCall,
  {
    found,
    series,
    unplain,
  }: { found: FoundSeries; series: SteppedSeries[]; unplain: Array<{ index: number; steps: number[] }> },
  scope: WorkScope,
): Promise<void> {
  const { startMs, stepMs, steps, rangeMs, selector, maxSamples } = query;
  const end = { atMs: undefined, offsetMs: selector.offsetMs };
  const reads: Array<{ index: number; steps: number[]; query: SamplesQuery }> = [];
  for (const { index, steps: unplainSteps } of unplain) {
    const { metricId, fromMs, toMs } = found.reads[index]!;
    const windows = unplainSteps.map((step): TimeSpan => {
      const endMs = windowEndAt(end, startMs + step * stepMs);
      return [endMs - rangeMs, endMs];
    });
    const spans = clipSpans(mergeSpans(windows), [fromMs, toMs]);
    if (spans.length === 0) continue;
    const [from, to] = [spans[0]![0], spans[spans.length - 1]![1]];
    reads.push({
      index,
      steps: unplainSteps,
      query: { metricId, fromMs: from, toMs: to, ...(spans.length > 1 && { spans }) },
    });
  }
  const fn = RANGE_FUNCTIONS[query.func]!;
  const plan = { startMs, stepMs, steps, rangeMs, end, checkpoint: async () => checkScope(scope) };
  for (let first = 0; first < reads.length; first += BATCH_SERIES) {
    const batch = reads.slice(first, first + BATCH_SERIES);
    const samples = await reader.samples(
      batch.map((read) => read.query),
      maxSamples,
      scope,
    );
    for (const [i, { index, steps: unplainSteps }] of batch.entries()) {
      const loaded = { labels: series[index]!.labels, ...withSpecialSamples(samples[i]!) };
      const [stepped] = (await stepRangeFunction(fn, [loaded], [], plan)).series;
      for (const step of unplainSteps) {
        series[index]!.values[step] = stepped!.values[step]!;
        series[index]!.present[step] = stepped!.present[step]!;
      }
    }
  }
}
