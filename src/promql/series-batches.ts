/**
 * A range query answered a few series at a time, for a query whose samples do not
 * fit the bound on loading at once (MEETR_MAX_QUERY_SAMPLES) but which needs no more
 * than one series at a time: a selector, or a range function of one (range-steps.ts
 * answeredWhole), as Prometheus holds one series' windows at a time. Each batch's
 * samples are read, evaluated and let go; what a query holds is a batch's samples
 * and the answer so far, under the same bound.
 */
import type { SamplesQuery } from '../domain/point.js';
import type { WorkScope } from '../work-scope.js';
import type { Expr, VectorSelector } from './ast.js';
import { Evaluator } from './evaluator.js';
import type { LoadedSeries } from './selectors.js';
import { compareLabels, labelsKey, sameLabelset, tooManySamples, type RangeSeries } from './values.js';

/** The series each selector of a query selected, and the read of each, in the same order. */
export interface FoundSeries {
  readonly reads: readonly SamplesQuery[];
  readonly owners: ReadonlyArray<{ selector: VectorSelector; labels: LoadedSeries['labels'] }>;
}

/** Series read and evaluated at once. */
export const BATCH_SERIES = 10;

export interface BatchOptions {
  readonly maxSamples: number;
  readonly defaultSubqueryStepMs: number;
  /** Reads the samples of some of the series found. */
  readonly read: (
    found: FoundSeries,
    scope: WorkScope,
  ) => Promise<{ data: Map<VectorSelector, LoadedSeries[]>; loaded: number }>;
}

/** The answer of a range query `answeredWhole` accepts, from BATCH_SERIES of the series found at a time. */
export async function rangeInBatches(
  options: BatchOptions,
  query: { readonly expr: Expr; readonly startMs: number; readonly endMs: number; readonly stepMs: number },
  found: FoundSeries,
  scope: WorkScope,
): Promise<RangeSeries[]> {
  const { maxSamples, defaultSubqueryStepMs } = options;
  const { expr, startMs, endMs, stepMs } = query;
  const answer: RangeSeries[] = [];
  const labels = new Set<string>();
  let held = 0;
  for (let first = 0; first < found.reads.length; first += BATCH_SERIES) {
    const batch = {
      reads: found.reads.slice(first, first + BATCH_SERIES),
      owners: found.owners.slice(first, first + BATCH_SERIES),
    };
    const { data, loaded } = await options.read(batch, scope);
    const evaluator = new Evaluator({
      data,
      startMs,
      endMs,
      maxSamples,
      loadedSamples: loaded + held,
      defaultSubqueryStepMs,
      scope,
    });
    for (const series of await evaluator.range(expr, stepMs)) {
      // Two series of the answer with the same labels are refused, as within one evaluation.
      const key = labelsKey(series.labels);
      if (labels.has(key)) throw sameLabelset();
      labels.add(key);
      held += series.ts.length;
      if (held > maxSamples) throw tooManySamples();
      answer.push(series);
    }
  }
  return answer.sort((a, b) => compareLabels(a.labels, b.labels));
}
