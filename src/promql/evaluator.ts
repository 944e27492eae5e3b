/**
 * Evaluates a parsed query (ast.ts) over samples already loaded, one evaluation
 * time after the other, as Prometheus 2.42's engine defines each step. Bounded
 * as Prometheus bounds it: the samples held at once (loaded, in the output and in
 * each step's intermediate vectors) never exceed `maxSamples`, checked before they
 * are added; the event loop is given back at least every YIELD_MS, and past its
 * deadline a query stops with Prometheus' timeout error.
 */
import { createYielder, YIELD_MS } from '../concurrency.js';
import { groupOf } from '../domain/groups.js';
import { MeetrError } from '../errors.js';
import type { WorkScope } from '../work-scope.js';
import { aggregate } from './aggregations.js';
import {
  resolveAt,
  typeOf,
  unwrapParens,
  type AtModifier,
  type Call,
  type Expr,
  type MatrixSelector,
  type Subquery,
  type VectorSelector,
} from './ast.js';
import { binaryValue } from './binary.js';
import { absentLabels, INSTANT_FUNCTIONS } from './functions.js';
import { RANGE_FUNCTIONS } from './range-functions.js';
import { RangeSteps } from './range-steps.js';
import type { SteppedCall } from './step-values.js';
import { instantSamples, windows, type SelectorData } from './selectors.js';
import {
  compareLabels,
  distinct,
  labelsKey,
  sameLabelset,
  tooManySamples,
  vectorOf,
  withoutName,
  type GrowingSeries,
  type RangeSeries,
  type Labels,
  type RangeWindow,
  type Sample,
  type StepValue,
  type Vector,
} from './values.js';

export interface EvaluationOptions {
  readonly data: SelectorData;
  /** The query's first and last evaluation times (equal for an instant query), ms. */
  readonly startMs: number;
  readonly endMs: number;
  /** Most samples the query may hold at once. */
  readonly maxSamples: number;
  /** Samples already held (the loaded raw samples). */
  readonly loadedSamples: number;
  /** The step of a subquery that names none (Prometheus' evaluation interval), ms. */
  readonly defaultSubqueryStepMs: number;
  /** When the query must have finished, and the signal that ends it early. */
  readonly scope: WorkScope;
  /** A range query's calls already worked out for every step (rollup-windows.ts): their selectors were not loaded. */
  readonly stepped?: ReadonlyMap<Call, SteppedCall>;
}

export type InstantResult = StepValue;

export class Evaluator {
  private held: number;
  private stepHeld = 0;
  private readonly yieldIfDue = createYielder(YIELD_MS);
  private readonly subqueryCache = new Map<Subquery, Map<number, Vector>>();
  /** Per range-function call: which input series gave each output label set, across steps. */
  private readonly outputSources = new Map<Expr, Map<string, string>>();
  /** A range query's range-function calls worked out for every step. */
  private rangeSteps: RangeSteps | undefined;

  constructor(private readonly options: EvaluationOptions) {
    this.held = options.loadedSamples;
  }

  /** The value of `expr` at the query's (one) time; vectors sorted by labels unless the query sorts them. */
  async instant(expr: Expr): Promise<InstantResult> {
    await this.checkpoint(true); // as Prometheus looks at its deadline before it evaluates
    const t = this.options.startMs;
    const value = await this.evaluate(expr, t);
    const top = unwrapParens(expr);
    if (value.type === 'vector' && !(top.kind === 'call' && (top.func === 'sort' || top.func === 'sort_desc')))
      return { type: 'vector', samples: [...value.samples].sort((a, b) => compareLabels(a.labels, b.labels)) };
    if (value.type === 'matrix')
      return { type: 'matrix', series: [...value.series].sort((a, b) => compareLabels(a.labels, b.labels)) };
    return value;
  }

  /** The series of `expr` (a scalar or an instant vector) at each step from start to end, sorted by labels. */
  async range(expr: Expr, stepMs: number): Promise<RangeSeries[]> {
    await this.checkpoint(true);
    const { data, startMs, endMs, maxSamples } = this.options;
    this.rangeSteps = new RangeSteps(
      { data, startMs, endMs, stepMs, maxSamples },
      {
        endOf: ({ at, offsetMs }) => ({ atMs: at === undefined ? undefined : resolveAt(at, startMs, endMs), offsetMs }),
        checkpoint: async () => this.checkpoint(),
      },
      this.options.stepped,
    );
    const whole = await this.rangeSteps.answer(expr, this.held);
    if (whole !== undefined) return whole;
    const series = new Map<string, GrowingSeries>();
    const steps = Math.floor((endMs - startMs) / stepMs) + 1;
    for (let step = 0, t = startMs; step < steps; step++, t += stepMs) {
      this.stepHeld = 0;
      const value = await this.evaluate(expr, t);
      const samples: Vector =
        value.type === 'scalar' ? [{ labels: {}, value: value.value }] : value.type === 'vector' ? value.samples : [];
      // The output is refused before it is built: the series of this step, at every step left, must fit.
      if (this.held + samples.length * (steps - step) > this.options.maxSamples) throw tooManySamples();
      this.hold(samples.length);
      for (const { labels, value } of samples) {
        const out = groupOf(series, labelsKey(labels), (): GrowingSeries => ({ labels, ts: [], values: [] }));
        out.ts.push(t);
        out.values.push(value);
      }
      await this.checkpoint();
    }
    return [...series.values()].sort((a, b) => compareLabels(a.labels, b.labels));
  }

  /** Counts samples the query now holds for good (output, cached subquery steps); refuses past the limit before they are kept. */
  private hold(count: number): void {
    if (this.held + this.stepHeld + count > this.options.maxSamples) throw tooManySamples();
    this.held += count;
  }

  /** Counts samples held only while this step is evaluated. */
  private holdForStep(count: number): void {
    this.stepHeld += count;
    if (this.held + this.stepHeld > this.options.maxSamples) throw tooManySamples();
  }

  /** Gives the event loop back when evaluation has run YIELD_MS, and stops (then, or `now`) at the deadline or when the request ends. */
  private async checkpoint(now = false): Promise<void> {
    if (!(await this.yieldIfDue()) && !now) return;
    const { scope } = this.options;
    if (scope.signal.aborted || Date.now() >= scope.deadlineMs)
      throw new MeetrError('deadline_exceeded', 'query timed out in expression evaluation');
  }

  private atTime(at: AtModifier | undefined, t: number): number {
    return at === undefined ? t : resolveAt(at, this.options.startMs, this.options.endMs);
  }

  /** The window [start, end] (ms) a range selector or subquery covers when evaluated at `t`, after `@` and offset. */
  private windowAt(range: MatrixSelector | Subquery, t: number): { start: number; end: number } {
    const { at, offsetMs } = range.kind === 'matrix' ? range.selector : range;
    const end = this.atTime(at, t) - offsetMs;
    return { start: end - range.rangeMs, end };
  }

  private async evaluate(expr: Expr, t: number): Promise<StepValue> {
    switch (expr.kind) {
      case 'number':
        return { type: 'scalar', value: expr.value };
      case 'string':
        return { type: 'string', value: expr.value };
      case 'paren':
        return this.evaluate(expr.expr, t);
      case 'vector':
        return this.vector(this.selectorSamples(expr, t));
      case 'matrix': {
        const { start, end } = this.windowAt(expr, t);
        const series = windows(this.options.data.get(expr.selector) ?? [], start, end);
        this.holdForStep(series.reduce((n, s) => n + s.last - s.first + 1, 0));
        return { type: 'matrix', series };
      }
      case 'subquery':
        return { type: 'matrix', series: await this.subquery(expr, t) };
      case 'unary': {
        const inner = await this.evaluate(expr.expr, t);
        if (expr.op === '+') return inner;
        if (inner.type === 'scalar') return { type: 'scalar', value: -inner.value };
        return this.vector(distinct(vectorOf(inner).map((s) => ({ labels: withoutName(s.labels), value: -s.value }))));
      }
      case 'aggregate': {
        const param = expr.param === undefined ? undefined : await this.evaluate(expr.param, t);
        const inner = vectorOf(await this.evaluate(expr.expr, t));
        const paramValue = param?.type === 'scalar' || param?.type === 'string' ? param.value : undefined;
        return this.vector(aggregate(expr.op, expr.grouping, expr.without, paramValue, inner));
      }
      case 'binary':
        return this.binary(expr, t);
      case 'call':
        return this.call(expr, t);
    }
  }

  private vector(samples: Vector): StepValue {
    this.holdForStep(samples.length);
    return { type: 'vector', samples };
  }

  private selectorSamples(selector: VectorSelector, t: number): Vector {
    return instantSamples(this.options.data.get(selector) ?? [], this.atTime(selector.at, t) - selector.offsetMs);
  }

  private async binary(expr: Extract<Expr, { kind: 'binary' }>, t: number): Promise<StepValue> {
    const value = binaryValue(expr, await this.evaluate(expr.lhs, t), await this.evaluate(expr.rhs, t));
    return typeof value === 'number' ? { type: 'scalar', value } : this.vector(distinct(value));
  }

  private async call(expr: Call, t: number): Promise<StepValue> {
    const rangeIndex = expr.args.findIndex((arg) => typeOf(arg) === 'matrix');
    if (rangeIndex >= 0) return this.rangeCall(expr, rangeIndex, t);
    const args: StepValue[] = [];
    for (const arg of expr.args) args.push(await this.evaluate(arg, t));
    // timestamp() of a selector answers each sample's own time; of anything else, the evaluation time.
    if (expr.func === 'timestamp' && unwrapParens(expr.args[0]!).kind !== 'vector')
      args[0] = { type: 'vector', samples: vectorOf(args[0]).map((s) => ({ labels: s.labels, value: s.value })) };
    const value = INSTANT_FUNCTIONS[expr.func]!(args, expr, t);
    return value.type === 'vector' ? this.vector(distinct(value.samples)) : value;
  }

  /** A function of a range vector: applied to each series' window, names dropped (but for last_over_time). */
  private async rangeCall(expr: Call, rangeIndex: number, t: number): Promise<StepValue> {
    const scalars: number[] = [];
    for (const [i, arg] of expr.args.entries()) {
      if (i === rangeIndex) continue;
      const value = await this.evaluate(arg, t);
      scalars.push(value.type === 'scalar' ? value.value : NaN);
    }
    const arg = unwrapParens(expr.args[rangeIndex]!) as MatrixSelector | Subquery; // the parser admits nothing else of type matrix
    const samples: Sample[] = [];
    // Prometheus checks a range function's whole output matrix: two input series may not give the same labels at any step.
    let sources = this.outputSources.get(expr);
    if (sources === undefined) this.outputSources.set(expr, (sources = new Map()));
    const add = (input: Labels, value: number): void => {
      const labels = expr.func === 'last_over_time' ? input : withoutName(input);
      const [key, source] = [labelsKey(labels), labelsKey(input)];
      const seen = sources.get(key);
      if (seen === undefined) sources.set(key, source);
      else if (seen !== source) throw sameLabelset();
      samples.push({ labels, value });
    };
    const stepped = await this.rangeSteps?.at(expr, arg, scalars, t);
    if (stepped !== undefined) {
      const [{ series, held }, step] = [stepped.call, stepped.step];
      this.holdForStep(held[step]!);
      for (const s of series) if (s.present[step] === 1) add(s.labels, s.values[step]!);
      return this.vector(samples);
    }
    const { start, end } = this.windowAt(arg, t);
    const matrix = await this.evaluate(arg, t);
    const series = matrix.type === 'matrix' ? matrix.series : [];
    if (expr.func === 'absent_over_time')
      return this.vector(series.length > 0 ? [] : [{ labels: absentLabels(expr), value: 1 }]);
    const fn = RANGE_FUNCTIONS[expr.func]!;
    for (const { labels, ts, values, first, last } of series) {
      const value = fn({ ts, values, first, last, start, end, t, rangeMs: arg.rangeMs, scalars });
      if (value !== undefined) add(labels, value);
    }
    return this.vector(samples);
  }

  /** A subquery's series in its window at `t`: the inner expression evaluated at every multiple of the step in the window, each once per query. */
  private async subquery(expr: Subquery, t: number): Promise<RangeWindow[]> {
    const stepMs = expr.stepMs > 0 ? expr.stepMs : this.options.defaultSubqueryStepMs;
    const { start, end } = this.windowAt(expr, t);
    const first = Math.ceil(start / stepMs) * stepMs;
    let cache = this.subqueryCache.get(expr);
    if (cache === undefined) this.subqueryCache.set(expr, (cache = new Map()));
    for (const [ti, vector] of cache) {
      if (ti >= first) break;
      cache.delete(ti); // later steps start later still
      this.held -= vector.length;
    }
    const series = new Map<string, { labels: Sample['labels']; ts: number[]; values: number[] }>();
    for (let ti = first; ti <= end; ti += stepMs) {
      let vector = cache.get(ti);
      if (vector === undefined) {
        const saved = this.stepHeld;
        vector = vectorOf(await this.evaluate(expr.expr, ti));
        this.stepHeld = saved;
        this.hold(vector.length);
        cache.set(ti, vector);
        await this.checkpoint();
      }
      for (const sample of vector) {
        const entry = groupOf(series, labelsKey(sample.labels), () => ({
          labels: sample.labels,
          ts: [] as number[],
          values: [] as number[],
        }));
        entry.ts.push(ti);
        entry.values.push(sample.value);
      }
    }
    return [...series.values()].map((s) => ({ ...s, first: 0, last: s.ts.length - 1 }));
  }
}
