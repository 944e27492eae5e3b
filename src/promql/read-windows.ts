/**
 * The raw samples each selector of a query needs: its range or the lookback, after
 * offsets, `@` and enclosing subqueries, as engine.go's getTimeRangesForSelector.
 * A range query whose windows are shorter than its step needs only those windows,
 * not the span between them (`rate(x[5m])` at a 1h step: five minutes an hour), so
 * such a selector gets one span per step; anything else gets the one span that
 * covers all its evaluations.
 */
import type { TimeSpan } from '../domain/point.js';
import { resolveAt, type AtModifier, type Expr, type VectorSelector } from './ast.js';
import { LOOKBACK_MS } from './selectors.js';

interface Reach {
  readonly offsetMs: number;
  readonly rangeMs: number;
  readonly atMs?: number;
  /** Under a subquery: evaluated at the subquery's own steps, not the query's. */
  readonly nested: boolean;
}

/**
 * The spans (ms, inclusive, ascending, disjoint) of raw samples each selector of
 * `expr` needs for evaluations at startMs, startMs + stepMs, ... up to endMs
 * (stepMs 0: an instant query, or every instant in between).
 */
export function selectorWindows(
  expr: Expr,
  startMs: number,
  endMs: number,
  stepMs = 0,
): Map<VectorSelector, TimeSpan[]> {
  const windows = new Map<VectorSelector, TimeSpan[]>();
  const atMs = (at: AtModifier): number => resolveAt(at, startMs, endMs);
  const add = (node: VectorSelector, spans: TimeSpan[]): void => {
    windows.set(node, mergeSpans([...(windows.get(node) ?? []), ...spans]));
  };
  const visit = (node: Expr, reach: Reach, rangeMs: number): void => {
    switch (node.kind) {
      case 'vector': {
        const widthMs = rangeMs === 0 ? LOOKBACK_MS : rangeMs;
        if (node.at === undefined && reach.atMs === undefined && !reach.nested && stepMs > widthMs)
          return add(node, stepWindows(startMs - node.offsetMs, endMs - node.offsetMs, stepMs, widthMs));
        let [from, to] = reach.atMs === undefined ? [startMs, endMs] : [reach.atMs, reach.atMs];
        if (node.at !== undefined) from = to = atMs(node.at);
        else [from, to] = [from - reach.offsetMs - reach.rangeMs, to - reach.offsetMs];
        return add(node, [[from - widthMs - node.offsetMs, to - node.offsetMs]]);
      }
      case 'matrix':
        return visit(node.selector, reach, node.rangeMs);
      case 'subquery': {
        const inner =
          node.at === undefined
            ? {
                offsetMs: reach.offsetMs + node.offsetMs,
                rangeMs: reach.rangeMs + node.rangeMs,
                atMs: reach.atMs,
                nested: true,
              }
            : { offsetMs: node.offsetMs, rangeMs: node.rangeMs, atMs: atMs(node.at), nested: true };
        return visit(node.expr, inner, 0);
      }
      case 'paren':
      case 'unary':
        return visit(node.expr, reach, 0);
      case 'call':
        return node.args.forEach((arg) => visit(arg, reach, 0));
      case 'aggregate':
        if (node.param !== undefined) visit(node.param, reach, 0);
        return visit(node.expr, reach, 0);
      case 'binary':
        visit(node.lhs, reach, 0);
        return visit(node.rhs, reach, 0);
      default:
    }
  };
  visit(expr, { offsetMs: 0, rangeMs: 0, nested: false }, 0);
  return windows;
}

/** [t - widthMs, t] for t = fromMs, fromMs + stepMs, ... up to toMs (widthMs < stepMs: disjoint). */
function stepWindows(fromMs: number, toMs: number, stepMs: number, widthMs: number): TimeSpan[] {
  const spans: TimeSpan[] = [];
  for (let t = fromMs; t <= toMs; t += stepMs) spans.push([t - widthMs, t]);
  return spans;
}

/** Spans sorted and joined where they overlap or touch. */
export function mergeSpans(spans: readonly TimeSpan[]): TimeSpan[] {
  const merged: Array<[number, number]> = [];
  for (const [from, to] of [...spans].sort((a, b) => a[0] - b[0])) {
    const last = merged[merged.length - 1];
    if (last !== undefined && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

/** The parts of `spans` (ascending, disjoint) within `bounds`. */
export function clipSpans(spans: readonly TimeSpan[], [from, to]: TimeSpan): TimeSpan[] {
  const within: TimeSpan[] = [];
  for (const span of spans) {
    const clipped: TimeSpan = [Math.max(span[0], from), Math.min(span[1], to)];
    if (clipped[0] <= clipped[1]) within.push(clipped);
  }
  return within;
}
