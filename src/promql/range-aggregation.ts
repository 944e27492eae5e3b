/**
 * An aggregation of a call's values at every step (range-steps.ts), for a range
 * query such as `sum by (job) (rate(x[5m]))`: each input series' group is found
 * once, and each step adds its present values group by group in input order, as
 * the evaluator's aggregation does at that step (aggregations.ts, whose group
 * functions it uses), so the values are the same to the bit. No label key is made
 * and no group looked up per step. Only the aggregations whose value comes from the
 * values alone (VALUE_AGGREGATIONS); the evaluator works out the others.
 */
import type { AggregateOp } from './ast.js';
import { accumulate, finish, startGroup, type Group } from './aggregations.js';
import {
  compareLabels,
  groupLabels,
  labelsKey,
  tooManySamples,
  type GrowingSeries,
  type Labels,
  type RangeSeries,
  type Vector,
} from './values.js';

export interface StepAggregation {
  readonly op: AggregateOp;
  readonly grouping: readonly string[];
  readonly without: boolean;
}

/** Each series' value at each step where `present` is 1, and the samples each step's windows hold (step-values.ts SteppedCall). */
export interface StepValues {
  readonly series: ReadonlyArray<{
    readonly values: Float64Array;
    readonly present: Uint8Array;
  }>;
  readonly held: Float64Array;
}

/** Steps between two calls of `checkpoint`. */
const STEPS_PER_CHECKPOINT = 64;

/**
 * The series of `aggregation` over a call's series (labelled `inputs`, by index,
 * distinct) at every step, the query holding `held` samples before, refused past
 * `maxSamples` at the step the evaluator would refuse it.
 */
export async function aggregateSteps(
  aggregation: StepAggregation,
  call: StepValues,
  inputs: readonly Labels[],
  [held, maxSamples]: [held: number, maxSamples: number],
  [startMs, stepMs]: [startMs: number, stepMs: number],
  checkpoint: () => Promise<void>,
): Promise<RangeSeries[]> {
  const { op, grouping, without } = aggregation;
  const { groupOf, out } = groupsOf(inputs, grouping, without);
  if (FOLDS.has(op)) {
    const folded = await foldSeries(op, call, groupOf, out.length, checkpoint);
    return foldedSeries(folded, call, out, [held, maxSamples], [startMs, stepMs]);
  }
  const groups: Array<Group | undefined> = new Array<Group | undefined>(out.length);
  const results: Vector = [];
  const steps = call.held.length;
  // What accumulate is given: it reads the value alone for these aggregations and keeps nothing, so one object serves.
  const next: { labels: Labels; value: number } = { labels: {}, value: 0 };
  for (let step = 0, t = startMs; step < steps; step++, t += stepMs) {
    groups.fill(undefined);
    let count = 0;
    for (let i = 0; i < call.series.length; i++) {
      const s = call.series[i]!;
      if (s.present[step] === 0) continue;
      count++;
      const g = groupOf[i]!;
      const value = s.values[step]!;
      const group = groups[g];
      if (group === undefined) groups[g] = startGroup(op, out[g]!.labels, { labels: inputs[i]!, value });
      else {
        next.labels = inputs[i]!;
        next.value = value;
        accumulate(op, group, next, 0);
      }
    }
    results.length = 0;
    for (const group of groups) if (group !== undefined) finish(op, group, undefined, results);
    held = heldAfterStep(
      held,
      { step, steps, windows: call.held[step]!, inputs: count, kept: results.length },
      maxSamples,
    );
    groups.forEach((group, g) => {
      if (group === undefined) return;
      out[g]!.ts.push(t);
      out[g]!.values.push(group.value);
    });
    if (step % STEPS_PER_CHECKPOINT === STEPS_PER_CHECKPOINT - 1) await checkpoint();
  }
  return out.filter((s) => s.ts.length > 0).sort((a, b) => compareLabels(a.labels, b.labels));
}

/**
 * What the query holds after an aggregation's step, `held` before it; tooManySamples
 * where the evaluator would refuse it: it holds the step's windows, its input vector
 * and its output vector, then keeps the output (`kept` samples), which every step
 * left may keep as many of.
 */
function heldAfterStep(
  held: number,
  {
    step,
    steps,
    windows,
    inputs,
    kept,
  }: { step: number; steps: number; windows: number; inputs: number; kept: number },
  maxSamples: number,
): number {
  if (held + kept * (steps - step) > maxSamples || held + windows + inputs + 2 * kept > maxSamples)
    throw tooManySamples();
  return held + kept;
}

/** Each input's group (by index), and each group's output series, in the order first met. */
function groupsOf(
  inputs: readonly Labels[],
  grouping: readonly string[],
  without: boolean,
): { groupOf: Int32Array; out: GrowingSeries[] } {
  const byKey = new Map<string, number>();
  const out: GrowingSeries[] = [];
  const groupOf = new Int32Array(inputs.length);
  inputs.forEach((labels, i) => {
    const group = groupLabels(labels, grouping, without);
    const key = labelsKey(group);
    let g = byKey.get(key);
    if (g === undefined) byKey.set(key, (g = out.push({ labels: group, ts: [], values: [] }) - 1));
    groupOf[i] = g;
  });
  return { groupOf, out };
}

/** The aggregations whose value at a step is a fold of its present values, taken series by series (foldSeries). */
const FOLDS: ReadonlySet<AggregateOp> = new Set<AggregateOp>(['sum', 'min', 'max', 'count', 'group']);

/** Each group's value and presence at every step, and how many inputs each step has. */
interface Folded {
  readonly values: Float64Array[];
  readonly present: Uint8Array[];
  readonly inputs: Float64Array;
}

/**
 * A FOLDS aggregation at every step, one input series after another: each (group,
 * step) meets its inputs in input order, as the loop over steps does, and folds
 * them as startGroup and accumulate do, so the values are the same to the bit.
 */
async function foldSeries(
  op: AggregateOp,
  call: StepValues,
  groupOf: Int32Array,
  groups: number,
  checkpoint: () => Promise<void>,
): Promise<Folded> {
  const steps = call.held.length;
  const values = Array.from({ length: groups }, () => new Float64Array(steps));
  const present = Array.from({ length: groups }, () => new Uint8Array(steps));
  const inputs = new Float64Array(steps);
  const first = op === 'count' || op === 'group';
  for (let i = 0; i < call.series.length; i++) {
    const s = call.series[i]!;
    const [acc, seen] = [values[groupOf[i]!]!, present[groupOf[i]!]!];
    for (let step = 0; step < steps; step++) {
      if (s.present[step] === 0) continue;
      inputs[step]!++;
      const v = s.values[step]!;
      if (seen[step] === 0) {
        seen[step] = 1;
        acc[step] = first ? 1 : v;
      } else if (op === 'sum') acc[step]! += v;
      else if (op === 'count') acc[step]!++;
      else if (op === 'max') {
        if (acc[step]! < v || Number.isNaN(acc[step])) acc[step] = v;
      } else if (op === 'min') {
        if (acc[step]! > v || Number.isNaN(acc[step])) acc[step] = v;
      }
    }
    await checkpoint();
  }
  return { values, present, inputs };
}

/** The folded groups as series, refused past `maxSamples` at the step the evaluator would refuse it (as aggregateSteps). */
function foldedSeries(
  { values, present, inputs }: Folded,
  call: StepValues,
  out: readonly GrowingSeries[],
  [held, maxSamples]: [held: number, maxSamples: number],
  [startMs, stepMs]: [startMs: number, stepMs: number],
): RangeSeries[] {
  const steps = call.held.length;
  const lengths = new Int32Array(out.length);
  for (let step = 0; step < steps; step++) {
    let kept = 0;
    for (let g = 0; g < out.length; g++) {
      kept += present[g]![step]!;
      lengths[g]! += present[g]![step]!;
    }
    held = heldAfterStep(held, { step, steps, windows: call.held[step]!, inputs: inputs[step]!, kept }, maxSamples);
  }
  const series: RangeSeries[] = [];
  out.forEach(({ labels }, g) => {
    if (lengths[g] === 0) return;
    const [ts, groupValues] = [new Float64Array(lengths[g]!), new Float64Array(lengths[g]!)];
    for (let step = 0, at = 0; step < steps; step++) {
      if (present[g]![step] === 0) continue;
      ts[at] = startMs + step * stepMs;
      groupValues[at++] = values[g]![step]!;
    }
    series.push({ labels, ts, values: groupValues });
  });
  return series.sort((a, b) => compareLabels(a.labels, b.labels));
}
