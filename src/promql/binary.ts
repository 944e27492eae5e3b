/**
 * Binary operators (engine.go's VectorBinop, VectorAnd/Or/Unless,
 * VectorscalarBinop): arithmetic, comparisons with and without `bool`, the set
 * operators, and vector matching one-to-one, many-to-one (group_left) and
 * one-to-many (group_right) with Prometheus' own errors. Pure.
 */
import { MeetrError } from '../errors.js';
import { NAME_LABEL } from '../domain/series.js';
import { isComparison, isSetOperator, type BinaryOp, type Expr, type VectorMatching } from './ast.js';
import {
  goPow,
  labelsKey,
  vectorOf,
  withoutName,
  type Labels,
  type Sample,
  type StepValue,
  type Vector,
} from './values.js';

/** Whether the result of `op` loses the metric name (arithmetic, not comparisons or atan2). */
function dropsName(op: BinaryOp): boolean {
  return op === '+' || op === '-' || op === '*' || op === '/' || op === '%' || op === '^';
}

/** Go's math.Mod: the sign of the dividend, as JavaScript's %. */
function arithmetic(op: BinaryOp, lhs: number, rhs: number): number {
  switch (op) {
    case '+':
      return lhs + rhs;
    case '-':
      return lhs - rhs;
    case '*':
      return lhs * rhs;
    case '/':
      return lhs / rhs;
    case '%':
      return lhs % rhs;
    case '^':
      return goPow(lhs, rhs);
    case 'atan2':
      return Math.atan2(lhs, rhs);
    default:
      throw new Error(`${op} is not arithmetic`);
  }
}

function compare(op: BinaryOp, lhs: number, rhs: number): boolean {
  switch (op) {
    case '==':
      return lhs === rhs;
    case '!=':
      return lhs !== rhs;
    case '>':
      return lhs > rhs;
    case '<':
      return lhs < rhs;
    case '>=':
      return lhs >= rhs;
    case '<=':
      return lhs <= rhs;
    default:
      throw new Error(`${op} is not a comparison`);
  }
}

/** `op` between two scalars (comparisons always with bool). */
export function scalarBinary(op: BinaryOp, lhs: number, rhs: number): number {
  return isComparison(op) ? Number(compare(op, lhs, rhs)) : arithmetic(op, lhs, rhs);
}

/** `op` between each sample of `vector` and a scalar (`scalarOnLeft`: the scalar is the left operand). */
export function vectorScalarBinary(
  op: BinaryOp,
  vector: Vector,
  scalar: number,
  scalarOnLeft: boolean,
  returnBool: boolean,
): Vector {
  const out: Vector = [];
  for (const sample of vector) {
    const [lhs, rhs] = scalarOnLeft ? [scalar, sample.value] : [sample.value, scalar];
    let value: number;
    let kept = true;
    if (isComparison(op)) {
      kept = compare(op, lhs, rhs);
      value = scalarOnLeft ? rhs : lhs;
    } else {
      value = arithmetic(op, lhs, rhs);
    }
    if (returnBool) {
      value = Number(kept);
      kept = true;
    }
    if (kept) out.push({ labels: dropsName(op) || returnBool ? withoutName(sample.labels) : sample.labels, value });
  }
  return out;
}

/** The labels two samples are matched by: only the `on` labels, or all but the `ignoring` ones and the name. */
export function matchSignature(labels: Labels, matching: VectorMatching): string {
  const picked: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels)) {
    if (matching.on ? matching.labels.includes(name) : !matching.labels.includes(name) && name !== NAME_LABEL)
      picked[name] = value;
  }
  return labelsKey(picked);
}

/** `and`, `or`, `unless` (many-to-many). */
export function setOperation(op: 'and' | 'or' | 'unless', lhs: Vector, rhs: Vector, matching: VectorMatching): Vector {
  const signatures = (vector: Vector): Set<string> => new Set(vector.map((s) => matchSignature(s.labels, matching)));
  switch (op) {
    case 'and': {
      if (lhs.length === 0 || rhs.length === 0) return [];
      const right = signatures(rhs);
      return lhs.filter((s) => right.has(matchSignature(s.labels, matching)));
    }
    case 'or': {
      if (lhs.length === 0) return [...rhs];
      if (rhs.length === 0) return [...lhs];
      const left = signatures(lhs);
      return [...lhs, ...rhs.filter((s) => !left.has(matchSignature(s.labels, matching)))];
    }
    case 'unless': {
      if (lhs.length === 0 || rhs.length === 0) return [...lhs];
      const right = signatures(rhs);
      return lhs.filter((s) => !right.has(matchSignature(s.labels, matching)));
    }
  }
}

function labelString(labels: Labels): string {
  return `{${Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([n, v]) => `${n}=${JSON.stringify(v)}`)
    .join(', ')}}`;
}

/** The result's labels, as resultMetric in engine.go. */
function resultLabels(lhs: Labels, rhs: Labels, op: BinaryOp, matching: VectorMatching): Labels {
  let labels: Record<string, string> = { ...(dropsName(op) ? withoutName(lhs) : lhs) };
  if (matching.card === 'one-to-one') {
    if (matching.on)
      labels = Object.fromEntries(Object.entries(labels).filter(([name]) => matching.labels.includes(name)));
    else for (const name of matching.labels) delete labels[name];
  }
  for (const name of matching.include) {
    const value = rhs[name];
    if (value !== undefined && value !== '') labels[name] = value;
    else delete labels[name];
  }
  return labels;
}

/** The "one" side of a matching by its signature; two of its series with one signature is Prometheus' many-to-many error. */
function bySignature(rhs: Vector, matching: VectorMatching, swapped: boolean): Map<string, Sample> {
  const rightBySignature = new Map<string, Sample>();
  for (const sample of rhs) {
    const signature = matchSignature(sample.labels, matching);
    const duplicate = rightBySignature.get(signature);
    if (duplicate !== undefined) {
      const matched = matching.on
        ? Object.fromEntries(
            matching.labels.filter((n) => sample.labels[n] !== undefined).map((n) => [n, sample.labels[n]!]),
          )
        : withoutName(Object.fromEntries(Object.entries(sample.labels).filter(([n]) => !matching.labels.includes(n))));
      throw new MeetrError(
        'query_failed',
        `found duplicate series for the match group ${labelString(matched)} on the ${swapped ? 'left' : 'right'} hand-side of the operation: [${labelString(sample.labels)}, ${labelString(duplicate.labels)}];many-to-many matching not allowed: matching labels must be unique on one side`,
      );
    }
    rightBySignature.set(signature, sample);
  }
  return rightBySignature;
}

/** Arithmetic or a comparison between two vectors, with vector matching. */
export function vectorBinary(
  op: BinaryOp,
  left: Vector,
  right: Vector,
  matching: VectorMatching,
  returnBool: boolean,
): Vector {
  if (left.length === 0 || right.length === 0) return [];
  const swapped = matching.card === 'one-to-many';
  const [lhs, rhs] = swapped ? [right, left] : [left, right];
  const rightBySignature = bySignature(rhs, matching, swapped);
  const matched = new Map<string, Set<string>>();
  const out: Vector = [];
  for (const ls of lhs) {
    const signature = matchSignature(ls.labels, matching);
    const rs = rightBySignature.get(signature);
    if (rs === undefined) continue;
    const [vl, vr] = swapped ? [rs.value, ls.value] : [ls.value, rs.value];
    let value: number;
    let kept = true;
    if (isComparison(op)) {
      kept = compare(op, vl, vr);
      value = vl;
    } else {
      value = arithmetic(op, vl, vr);
    }
    if (returnBool) value = Number(kept);
    else if (!kept) continue;
    let labels = resultLabels(ls.labels, rs.labels, op, matching);
    if (returnBool) labels = withoutName(labels);
    const inserted = matched.get(signature);
    if (matching.card === 'one-to-one') {
      if (inserted !== undefined)
        throw new MeetrError(
          'query_failed',
          'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
        );
      matched.set(signature, new Set());
    } else {
      const key = labelsKey(labels);
      if (inserted === undefined) matched.set(signature, new Set([key]));
      else if (inserted.has(key))
        throw new MeetrError('query_failed', 'multiple matches for labels: grouping labels must ensure unique matches');
      else inserted.add(key);
    }
    out.push({ labels, value });
  }
  return out;
}

/** A binary expression of its evaluated operands: a number for two scalars, else the vector (before duplicates are refused). */
export function binaryValue(expr: Extract<Expr, { kind: 'binary' }>, lhs: StepValue, rhs: StepValue): number | Vector {
  const { op, returnBool } = expr;
  if (lhs.type === 'scalar' && rhs.type === 'scalar') return scalarBinary(op, lhs.value, rhs.value);
  if (lhs.type === 'scalar') return vectorScalarBinary(op, vectorOf(rhs), lhs.value, true, returnBool);
  if (rhs.type === 'scalar') return vectorScalarBinary(op, vectorOf(lhs), rhs.value, false, returnBool);
  if (isSetOperator(op)) return setOperation(op, vectorOf(lhs), vectorOf(rhs), expr.matching!);
  return vectorBinary(op, vectorOf(lhs), vectorOf(rhs), expr.matching!, returnBool);
}
