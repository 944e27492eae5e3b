/**
 * Aggregation operators (engine.go's aggregation): sum, avg, count, min, max,
 * group, stddev, stdvar, topk, bottomk, quantile and count_values, with `by` and
 * `without`. Groups come out in the order they were first seen, as in Prometheus;
 * topk and bottomk keep Go's heap, so ties resolve the same way. Pure.
 */
import { MeetrError } from '../errors.js';
import { isLabelName } from '../domain/series.js';
import { VALUE_AGGREGATE_OPS, type AggregateOp } from './ast.js';
import { quantile } from './quantile.js';
import {
  formatSampleValue,
  groupLabels,
  labelsKey,
  withLabel,
  type Labels,
  type Sample,
  type Vector,
} from './values.js';

/** One group of an aggregation at one step. */
export interface Group {
  readonly labels: Labels;
  value: number;
  mean: number;
  count: number;
  /** topk, bottomk: the heap; quantile: every value. */
  readonly members: Sample[];
}

/** Go's container/heap over `less`, as topk (a min-heap) and bottomk (a max-heap) use it. */
function heapUp(heap: Sample[], j: number, less: (a: Sample, b: Sample) => boolean): void {
  while (j > 0) {
    const i = (j - 1) >> 1;
    if (i === j || !less(heap[j]!, heap[i]!)) break;
    [heap[i], heap[j]] = [heap[j]!, heap[i]!];
    j = i;
  }
}

function heapDown(heap: Sample[], i0: number, n: number, less: (a: Sample, b: Sample) => boolean): void {
  let i = i0;
  for (;;) {
    const j1 = 2 * i + 1;
    if (j1 >= n || j1 < 0) break;
    let j = j1;
    const j2 = j1 + 1;
    if (j2 < n && less(heap[j2]!, heap[j1]!)) j = j2;
    if (!less(heap[j]!, heap[i]!)) break;
    [heap[i], heap[j]] = [heap[j]!, heap[i]!];
    i = j;
  }
}

function heapPop(heap: Sample[], less: (a: Sample, b: Sample) => boolean): void {
  const n = heap.length - 1;
  [heap[0], heap[n]] = [heap[n]!, heap[0]!];
  heapDown(heap, 0, n, less);
  heap.pop();
}

const lowerFirst = (a: Sample, b: Sample): boolean => Number.isNaN(a.value) || a.value < b.value;
const higherFirst = (a: Sample, b: Sample): boolean => Number.isNaN(a.value) || a.value > b.value;

/** Keeps the k largest (topk) or smallest (bottomk) in a group's heap, as engine.go does. */
function keep(
  group: Group,
  sample: Sample,
  k: number,
  less: (a: Sample, b: Sample) => boolean,
  better: (v: number, than: number) => boolean,
): void {
  const heap = group.members;
  if (heap.length < k || better(sample.value, heap[0]!.value) || Number.isNaN(heap[0]!.value)) {
    if (heap.length === k) {
      if (k === 1) {
        heap[0] = sample;
        return;
      }
      heapPop(heap, less);
    }
    heap.push(sample);
    heapUp(heap, heap.length - 1, less);
  }
}

/** Go's sort.Sort(sort.Reverse(heap)) of a topk/bottomk heap: the output order within a group. */
function reversed(heap: readonly Sample[], less: (a: Sample, b: Sample) => boolean): Sample[] {
  return [...heap].sort((a, b) => (less(b, a) ? -1 : less(a, b) ? 1 : 0));
}

/** Aggregates `vector` by `grouping`; `param` is topk/bottomk's k, quantile's φ or count_values' label. */
export function aggregate(
  op: AggregateOp,
  grouping: readonly string[],
  without: boolean,
  param: number | string | undefined,
  vector: Vector,
): Vector {
  const k = op === 'topk' || op === 'bottomk' ? kOf(param as number) : 0;
  if ((op === 'topk' || op === 'bottomk') && k < 1) return [];
  let names = grouping;
  if (op === 'count_values') {
    const label = param as string;
    if (!isLabelName(label)) throw new MeetrError('query_failed', `invalid label name ${JSON.stringify(label)}`);
    if (!without) names = [...grouping, label];
  }
  const groups = new Map<string, Group>();
  for (let sample of vector) {
    if (op === 'count_values')
      sample = {
        labels: withLabel(sample.labels, param as string, formatSampleValue(sample.value)),
        value: sample.value,
      };
    const labels = groupLabels(sample.labels, names, without);
    const key = labelsKey(labels);
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, startGroup(op, labels, sample));
    } else {
      accumulate(op, group, sample, k);
    }
  }
  const out: Vector = [];
  for (const group of groups.values()) finish(op, group, param, out);
  return out;
}

/** Aggregations whose value at a step is worked out from the values alone: no parameter, no member kept. */
export const VALUE_AGGREGATIONS: ReadonlySet<AggregateOp> = new Set<AggregateOp>(VALUE_AGGREGATE_OPS);

/** A group begun by its first sample. */
export function startGroup(op: AggregateOp, labels: Labels, sample: Sample): Group {
  const value = op === 'stddev' || op === 'stdvar' ? 0 : op === 'group' ? 1 : sample.value;
  return { labels, value, mean: sample.value, count: 1, members: [sample] };
}

/** topk/bottomk's k: the parameter truncated, refused past int64 as Go's conversion is. */
function kOf(f: number): number {
  if (!(f >= -9.223372036854776e18 && f <= 9.223372036854776e18))
    throw new MeetrError('query_failed', `Scalar value ${formatSampleValue(f)} overflows int64`);
  return Math.trunc(f);
}

/** Adds one more sample to its group, as Prometheus' aggregation does for `op`. */
export function accumulate(op: AggregateOp, group: Group, sample: Sample, k: number): void {
  const v = sample.value;
  switch (op) {
    case 'sum':
      group.value += v;
      break;
    case 'avg':
      group.count++;
      if (group.mean === Infinity || group.mean === -Infinity) {
        if ((v === Infinity || v === -Infinity) && group.mean > 0 === v > 0) break;
        if (Number.isFinite(v)) break;
      }
      group.mean += v / group.count - group.mean / group.count;
      break;
    case 'max':
      if (group.value < v || Number.isNaN(group.value)) group.value = v;
      break;
    case 'min':
      if (group.value > v || Number.isNaN(group.value)) group.value = v;
      break;
    case 'count':
    case 'count_values':
      group.count++;
      break;
    case 'stddev':
    case 'stdvar': {
      group.count++;
      const delta = v - group.mean;
      group.mean += delta / group.count;
      group.value += delta * (v - group.mean);
      break;
    }
    case 'topk':
      keep(group, sample, k, lowerFirst, (value, than) => than < value);
      break;
    case 'bottomk':
      keep(group, sample, k, higherFirst, (value, than) => than > value);
      break;
    case 'quantile':
      group.members.push(sample);
      break;
    case 'group':
      break;
  }
}

/** A group's result, appended to `out`: its value, or topk/bottomk's members in Prometheus' order. */
export function finish(op: AggregateOp, group: Group, param: number | string | undefined, out: Vector): void {
  switch (op) {
    case 'topk':
    case 'bottomk':
      for (const s of reversed(group.members, op === 'topk' ? lowerFirst : higherFirst))
        out.push({ labels: s.labels, value: s.value });
      return;
    case 'avg':
      group.value = group.mean;
      break;
    case 'count':
    case 'count_values':
      group.value = group.count;
      break;
    case 'stdvar':
      group.value /= group.count;
      break;
    case 'stddev':
      group.value = Math.sqrt(group.value / group.count);
      break;
    case 'quantile':
      group.value = quantile(
        param as number,
        group.members.map((s) => s.value),
      );
      break;
    default:
  }
  out.push({ labels: group.labels, value: group.value });
}
