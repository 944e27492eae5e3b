/**
 * The typed tree a PromQL query parses into (parser.ts), as Prometheus 2.42's
 * parser/ast.go has it: selectors with their offset and `@`, subqueries, calls,
 * aggregations, binary operations with their vector matching. Times are ms.
 */
import type { CompiledMatcher } from '../domain/series.js';

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

/** `@ <time>`, `@ start()` or `@ end()`. */
export type AtModifier =
  { readonly kind: 'time'; readonly ms: number } | { readonly kind: 'start' } | { readonly kind: 'end' };

export interface VectorSelector {
  readonly kind: 'vector';
  readonly matchers: readonly CompiledMatcher[];
  /** `offset`, in ms (negative looks ahead). */
  offsetMs: number;
  at?: AtModifier;
}

export interface MatrixSelector {
  readonly kind: 'matrix';
  readonly selector: VectorSelector;
  readonly rangeMs: number;
}

export interface Subquery {
  readonly kind: 'subquery';
  readonly expr: Expr;
  readonly rangeMs: number;
  /** 0: the default evaluation interval. */
  readonly stepMs: number;
  offsetMs: number;
  at?: AtModifier;
}

/** The aggregation operators whose value at a step comes from the values alone: no parameter, no member kept. */
export const VALUE_AGGREGATE_OPS = ['sum', 'avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar'] as const;
/** Every aggregation operator. */
export const AGGREGATE_OPS = [...VALUE_AGGREGATE_OPS, 'topk', 'bottomk', 'count_values', 'quantile'] as const;
export type AggregateOp = (typeof AGGREGATE_OPS)[number];
export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;

export type Cardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

/** How the two sides of a binary operation between vectors are matched. */
export interface VectorMatching {
  readonly card: Cardinality;
  /** `on(...)` (true) or `ignoring(...)` (false, also when neither is given). */
  readonly on: boolean;
  readonly labels: readonly string[];
  /** The labels of `group_left(...)` / `group_right(...)`. */
  readonly include: readonly string[];
}

export type Expr =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'paren'; readonly expr: Expr }
  | { readonly kind: 'unary'; readonly op: '+' | '-'; readonly expr: Expr }
  | VectorSelector
  | MatrixSelector
  | Subquery
  | { readonly kind: 'call'; readonly func: string; readonly args: readonly Expr[] }
  | {
      readonly kind: 'aggregate';
      readonly op: AggregateOp;
      readonly expr: Expr;
      readonly param?: Expr;
      readonly grouping: readonly string[];
      readonly without: boolean;
    }
  | {
      readonly kind: 'binary';
      readonly op: BinaryOp;
      readonly lhs: Expr;
      readonly rhs: Expr;
      readonly returnBool: boolean;
      /** Present when both sides are vectors. */
      readonly matching?: VectorMatching;
    };

export type Call = Extract<Expr, { kind: 'call' }>;

/** A function's signature, as parser/functions.go declares it. */
export interface FunctionSignature {
  readonly args: readonly ValueType[];
  /** Optional trailing arguments of the last type: 1, or -1 for any number. */
  readonly variadic?: number;
  readonly returns: ValueType;
}

const vectorToVector: FunctionSignature = { args: ['vector'], returns: 'vector' };
const matrixToVector: FunctionSignature = { args: ['matrix'], returns: 'vector' };
const dateFunction: FunctionSignature = { args: ['vector'], variadic: 1, returns: 'vector' };

/** Every function of Prometheus 2.42. */
export const FUNCTIONS: Readonly<Record<string, FunctionSignature>> = {
  abs: vectorToVector,
  absent: vectorToVector,
  absent_over_time: matrixToVector,
  acos: vectorToVector,
  acosh: vectorToVector,
  asin: vectorToVector,
  asinh: vectorToVector,
  atan: vectorToVector,
  atanh: vectorToVector,
  avg_over_time: matrixToVector,
  ceil: vectorToVector,
  changes: matrixToVector,
  clamp: { args: ['vector', 'scalar', 'scalar'], returns: 'vector' },
  clamp_max: { args: ['vector', 'scalar'], returns: 'vector' },
  clamp_min: { args: ['vector', 'scalar'], returns: 'vector' },
  cos: vectorToVector,
  cosh: vectorToVector,
  count_over_time: matrixToVector,
  days_in_month: dateFunction,
  day_of_month: dateFunction,
  day_of_week: dateFunction,
  day_of_year: dateFunction,
  deg: vectorToVector,
  delta: matrixToVector,
  deriv: matrixToVector,
  exp: vectorToVector,
  floor: vectorToVector,
  histogram_count: vectorToVector,
  histogram_sum: vectorToVector,
  histogram_fraction: { args: ['scalar', 'scalar', 'vector'], returns: 'vector' },
  histogram_quantile: { args: ['scalar', 'vector'], returns: 'vector' },
  holt_winters: { args: ['matrix', 'scalar', 'scalar'], returns: 'vector' },
  hour: dateFunction,
  idelta: matrixToVector,
  increase: matrixToVector,
  irate: matrixToVector,
  label_replace: { args: ['vector', 'string', 'string', 'string', 'string'], returns: 'vector' },
  label_join: { args: ['vector', 'string', 'string', 'string'], variadic: -1, returns: 'vector' },
  last_over_time: matrixToVector,
  ln: vectorToVector,
  log10: vectorToVector,
  log2: vectorToVector,
  max_over_time: matrixToVector,
  min_over_time: matrixToVector,
  minute: dateFunction,
  month: dateFunction,
  pi: { args: [], returns: 'scalar' },
  predict_linear: { args: ['matrix', 'scalar'], returns: 'vector' },
  present_over_time: matrixToVector,
  quantile_over_time: { args: ['scalar', 'matrix'], returns: 'vector' },
  rad: vectorToVector,
  rate: matrixToVector,
  resets: matrixToVector,
  round: { args: ['vector', 'scalar'], variadic: 1, returns: 'vector' },
  scalar: { args: ['vector'], returns: 'scalar' },
  sgn: vectorToVector,
  sin: vectorToVector,
  sinh: vectorToVector,
  sort: vectorToVector,
  sort_desc: vectorToVector,
  sqrt: vectorToVector,
  stddev_over_time: matrixToVector,
  stdvar_over_time: matrixToVector,
  sum_over_time: matrixToVector,
  tan: vectorToVector,
  tanh: vectorToVector,
  time: { args: [], returns: 'scalar' },
  timestamp: vectorToVector,
  vector: { args: ['scalar'], returns: 'vector' },
  year: dateFunction,
};

/** The time (ms) an `@` names, in a query from startMs to endMs. */
export function resolveAt(at: AtModifier, startMs: number, endMs: number): number {
  return at.kind === 'time' ? at.ms : at.kind === 'start' ? startMs : endMs;
}

const COMPARISONS = new Set<string>(['==', '!=', '>', '<', '>=', '<=']);
const SET_OPERATORS = new Set<string>(['and', 'or', 'unless']);

export function isComparison(op: BinaryOp): op is ComparisonOp {
  return COMPARISONS.has(op);
}

export function isSetOperator(op: BinaryOp): op is SetOp {
  return SET_OPERATORS.has(op);
}

/** The type of an expression's value. */
export function typeOf(expr: Expr): ValueType {
  switch (expr.kind) {
    case 'number':
      return 'scalar';
    case 'string':
      return 'string';
    case 'paren':
    case 'unary':
      return typeOf(expr.expr);
    case 'vector':
    case 'aggregate':
      return 'vector';
    case 'matrix':
    case 'subquery':
      return 'matrix';
    case 'call':
      return FUNCTIONS[expr.func]!.returns;
    case 'binary':
      return typeOf(expr.lhs) === 'scalar' && typeOf(expr.rhs) === 'scalar' ? 'scalar' : 'vector';
  }
}

/** The expression inside any parentheses. */
export function unwrapParens(expr: Expr): Expr {
  return expr.kind === 'paren' ? unwrapParens(expr.expr) : expr;
}

/** How a type is named in Prometheus' errors. */
export function documentedType(type: ValueType): string {
  return type === 'vector' ? 'instant vector' : type === 'matrix' ? 'range vector' : type;
}
