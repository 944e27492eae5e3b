/**
 * The PromQL meetr answers, parsed with the Prometheus project's own grammar
 * (@prometheus-io/lezer-promql) into a small typed tree. The subset: instant and
 * range vector selectors (=, !=, =~, !~, offset); sum|avg|min|max|count_over_time,
 * rate and increase of a range selector; sum|avg|min|max|count with by/without;
 * number literals; + - * / % ^ between scalars and between a vector and a scalar;
 * unary minus. Anything else throws invalid_request (bad_data) naming it.
 */
import { parser } from '@prometheus-io/lezer-promql';
import { invalidRequest, type MeetrError } from '../errors.js';
import { compileMatcher, NAME_LABEL, type CompiledMatcher, type MatchOp } from '../domain/series.js';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

export type RangeFunction = 'sum_over_time' | 'avg_over_time' | 'min_over_time' | 'max_over_time' | 'count_over_time' | 'rate' | 'increase';
export type AggregateOp = 'sum' | 'avg' | 'min' | 'max' | 'count';
export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^';

export interface VectorSelector {
  readonly kind: 'vector';
  readonly matchers: readonly CompiledMatcher[];
  /** How far back it looks (`offset`), in ms. */
  readonly offsetMs: number;
}

export interface MatrixSelector {
  readonly kind: 'matrix';
  readonly selector: VectorSelector;
  readonly rangeMs: number;
}

export type Expr =
  | { readonly kind: 'number'; readonly value: number }
  | VectorSelector
  | MatrixSelector
  | { readonly kind: 'call'; readonly func: RangeFunction; readonly arg: MatrixSelector }
  | { readonly kind: 'aggregate'; readonly op: AggregateOp; readonly grouping: readonly string[]; readonly without: boolean; readonly expr: Expr }
  | { readonly kind: 'binary'; readonly op: ArithmeticOp; readonly lhs: Expr; readonly rhs: Expr }
  | { readonly kind: 'negate'; readonly expr: Expr };

/** What an expression evaluates to. */
export type ValueType = 'scalar' | 'vector' | 'matrix';

const RANGE_FUNCTIONS = new Set<string>(['sum_over_time', 'avg_over_time', 'min_over_time', 'max_over_time', 'count_over_time', 'rate', 'increase']);
const AGGREGATE_OPS = new Set<string>(['sum', 'avg', 'min', 'max', 'count']);
const ARITHMETIC: Record<string, ArithmeticOp> = { Add: '+', Sub: '-', Mul: '*', Div: '/', Mod: '%', Pow: '^' };
const MATCH_OPS: Record<string, MatchOp> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };

/** Parses a PromQL expression; throws invalid_request (Prometheus' bad_data) for a syntax error or anything outside the subset. */
export function parsePromql(query: string): Expr {
  const tree = parser.parse(query);
  let error: SyntaxNode | undefined;
  tree.iterate({
    enter: (node) => {
      if (error === undefined && node.type.isError) error = node.node;
      return error === undefined;
    },
  });
  if (error !== undefined) throw parseError(query, error.from, error.to === error.from ? (error.from >= query.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(query.slice(error.from, error.from + 10))}`) : `unexpected ${JSON.stringify(query.slice(error.from, error.to))}`);
  const top = tree.topNode.firstChild;
  if (top === null) throw parseError(query, 0, 'no expression found in input');
  return new Builder(query).expr(top);
}

/** The type of an expression's value (the tree is already checked). */
export function typeOf(expr: Expr): ValueType {
  switch (expr.kind) {
    case 'number':
      return 'scalar';
    case 'matrix':
      return 'matrix';
    case 'binary':
      return typeOf(expr.lhs) === 'scalar' && typeOf(expr.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'negate':
      return typeOf(expr.expr);
    default:
      return 'vector';
  }
}

/** Every selector in an expression, in order. */
export function selectorsOf(expr: Expr): Array<VectorSelector | MatrixSelector> {
  switch (expr.kind) {
    case 'number':
      return [];
    case 'vector':
    case 'matrix':
      return [expr];
    case 'call':
      return [expr.arg];
    case 'aggregate':
    case 'negate':
      return selectorsOf(expr.expr);
    case 'binary':
      return [...selectorsOf(expr.lhs), ...selectorsOf(expr.rhs)];
  }
}

function parseError(query: string, at: number, message: string): MeetrError {
  // Prometheus reports line:column (1-based).
  const before = query.slice(0, at).split('\n');
  return invalidRequest(`${before.length}:${before[before.length - 1]!.length + 1}: parse error: ${message}`, [{ field: 'query', message }]);
}

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const DURATION_UNITS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1_000, 1];

/** A Prometheus duration (`1h30m`, `5m`, `250ms`) in ms; undefined when it is not one. */
export function parseDurationMs(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (match === null || text === '') return undefined;
  return DURATION_UNITS.reduce((sum, unit, i) => sum + Number(match[i + 1] ?? 0) * unit, 0);
}

/** Deepest nesting of sub-expressions a query may have (the tree is walked recursively). */
const MAX_DEPTH = 64;

class Builder {
  private depth = 0;

  constructor(private readonly query: string) {}

  private text(node: SyntaxNode): string {
    return this.query.slice(node.from, node.to);
  }

  private unsupported(node: SyntaxNode, what: string): MeetrError {
    return parseError(this.query, node.from, `${what} is not supported by meetr (${JSON.stringify(this.text(node).slice(0, 60))})`);
  }

  private fail(node: SyntaxNode, message: string): MeetrError {
    return parseError(this.query, node.from, message);
  }

  expr(node: SyntaxNode): Expr {
    return this.build(node);
  }

  private build(node: SyntaxNode): Expr {
    if (++this.depth > MAX_DEPTH) throw this.fail(node, `the expression nests deeper than ${MAX_DEPTH} levels`);
    try {
      return this.buildNode(node);
    } finally {
      this.depth--;
    }
  }

  private buildNode(node: SyntaxNode): Expr {
    switch (node.name) {
      case 'ParenExpr':
        return this.build(this.only(node));
      case 'NumberDurationLiteral':
        return { kind: 'number', value: this.number(node) };
      case 'VectorSelector':
        return this.vectorSelector(node, 0);
      case 'MatrixSelector':
        return this.matrixSelector(node, 0);
      case 'OffsetExpr':
        return this.offset(node);
      case 'FunctionCall':
        return this.call(node);
      case 'AggregateExpr':
        return this.aggregate(node);
      case 'BinaryExpr':
        return this.binary(node);
      case 'UnaryExpr':
        return this.unary(node);
      case 'StringLiteral':
        throw this.unsupported(node, 'a string expression');
      case 'SubqueryExpr':
        throw this.unsupported(node, 'a subquery');
      case 'StepInvariantExpr':
        throw this.unsupported(node, 'the @ modifier');
      default:
        throw this.unsupported(node, `the expression ${node.name}`);
    }
  }

  private children(node: SyntaxNode): SyntaxNode[] {
    const list: SyntaxNode[] = [];
    for (let child = node.firstChild; child !== null; child = child.nextSibling) list.push(child);
    return list;
  }

  private only(node: SyntaxNode): SyntaxNode {
    const [child] = this.children(node);
    if (child === undefined) throw this.fail(node, 'empty expression');
    return child;
  }

  private number(node: SyntaxNode): number {
    const text = this.text(node);
    if (/^[+-]?inf$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
    if (/^[+-]?nan$/i.test(text)) return NaN;
    const hex = /^([+-]?)0x([0-9a-f]+)$/i.exec(text);
    if (hex !== null) return (hex[1] === '-' ? -1 : 1) * parseInt(hex[2]!, 16);
    if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i.test(text)) return Number(text);
    throw this.unsupported(node, 'a duration used as a number');
  }

  private duration(node: SyntaxNode, what: string): number {
    const text = this.text(node).trim();
    const ms = parseDurationMs(text);
    if (ms === undefined) throw this.unsupported(node, `the ${what} ${JSON.stringify(text)} (only a plain duration such as 5m or 1h30m)`);
    return ms;
  }

  private vectorSelector(node: SyntaxNode, offsetMs: number): VectorSelector {
    const matchers: CompiledMatcher[] = [];
    let named = false;
    for (const child of this.children(node)) {
      if (child.name === 'Identifier') {
        matchers.push(compileMatcher({ name: NAME_LABEL, op: '=', value: this.text(child) }));
        named = true;
      } else if (child.name === 'LabelMatchers') {
        for (const matcher of this.children(child)) {
          if (matcher.name === 'UnquotedLabelMatcher' || matcher.name === 'QuotedLabelMatcher') matchers.push(this.matcher(matcher, named));
          else if (matcher.name === 'QuotedLabelName') {
            if (named) throw this.fail(matcher, 'metric name must not be set twice');
            matchers.push(compileMatcher({ name: NAME_LABEL, op: '=', value: this.string(this.only(matcher)) }));
            named = true;
          }
        }
      }
    }
    if (!matchers.some((m) => !m.matches(''))) throw this.fail(node, 'vector selector must contain at least one non-empty matcher');
    return { kind: 'vector', matchers, offsetMs };
  }

  private matcher(node: SyntaxNode, named: boolean): CompiledMatcher {
    const [nameNode, opNode, valueNode] = this.children(node);
    if (nameNode === undefined || opNode === undefined || valueNode === undefined) throw this.fail(node, 'incomplete label matcher');
    const name = nameNode.name === 'QuotedLabelName' ? this.string(this.only(nameNode)) : this.text(nameNode);
    if (named && name === NAME_LABEL) throw this.fail(node, 'metric name must not be set twice');
    const op = MATCH_OPS[opNode.firstChild?.name ?? ''];
    if (op === undefined) throw this.unsupported(opNode, 'the match operator');
    const value = this.string(valueNode);
    try {
      return compileMatcher({ name, op, value });
    } catch (error) {
      throw this.fail(valueNode, `invalid regular expression ${JSON.stringify(value)}: ${(error as Error).message}`);
    }
  }

  /** A Go-style string literal: "..." or '...' with escapes, or `raw`. */
  private string(node: SyntaxNode): string {
    const text = this.text(node);
    if (text.startsWith('`')) return text.slice(1, -1);
    const body = text.slice(1, -1);
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };
    return body.replace(/\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{3})|(.))/gs, (whole, hex2?: string, hex4?: string, hex8?: string, octal?: string, char?: string) => {
      if (hex2 !== undefined) return String.fromCharCode(parseInt(hex2, 16));
      if (hex4 !== undefined) return String.fromCharCode(parseInt(hex4, 16));
      if (hex8 !== undefined) return String.fromCodePoint(parseInt(hex8, 16));
      if (octal !== undefined) return String.fromCharCode(parseInt(octal, 8));
      const unescaped = simple[char ?? ''];
      if (unescaped === undefined) throw this.fail(node, `unknown escape sequence ${whole}`);
      return unescaped;
    });
  }

  private matrixSelector(node: SyntaxNode, offsetMs: number): MatrixSelector {
    const [vector, range] = this.children(node);
    if (vector === undefined || range === undefined) throw this.fail(node, 'incomplete range selector');
    if (vector.name !== 'VectorSelector') throw this.fail(vector, 'ranges only allowed for vector selectors');
    const rangeMs = this.duration(range, 'range');
    if (rangeMs <= 0) throw this.fail(range, 'range must be greater than zero');
    return { kind: 'matrix', selector: this.vectorSelector(vector, offsetMs), rangeMs };
  }

  private offset(node: SyntaxNode): Expr {
    const children = this.children(node);
    const [target] = children;
    const durationNode = children.find((c) => c.name === 'OffsetDurationExpr');
    if (target === undefined || durationNode === undefined) throw this.fail(node, 'incomplete offset');
    const text = this.text(durationNode).trim();
    const negative = text.startsWith('-');
    const ms = parseDurationMs(negative ? text.slice(1).trim() : text);
    if (ms === undefined) throw this.unsupported(durationNode, `the offset ${JSON.stringify(text)}`);
    const offsetMs = negative ? -ms : ms;
    if (target.name === 'VectorSelector') return this.vectorSelector(target, offsetMs);
    if (target.name === 'MatrixSelector') return this.matrixSelector(target, offsetMs);
    throw this.fail(node, 'offset modifier must be preceded by an instant vector selector or range vector selector');
  }

  private call(node: SyntaxNode): Expr {
    const [identifier, body] = this.children(node);
    if (identifier === undefined || body === undefined) throw this.fail(node, 'incomplete function call');
    const func = this.text(identifier);
    if (!RANGE_FUNCTIONS.has(func)) throw this.unsupported(identifier, `the function ${func}()`);
    const args = this.children(body).map((child) => this.build(child));
    if (args.length !== 1) throw this.fail(body, `expected 1 argument(s) in call to "${func}", got ${args.length}`);
    const [arg] = args;
    if (arg?.kind !== 'matrix') throw this.fail(body, `expected type range vector in call to function "${func}", got ${typeOf(arg!) === 'scalar' ? 'scalar' : 'instant vector'}`);
    return { kind: 'call', func: func as RangeFunction, arg };
  }

  private aggregate(node: SyntaxNode): Expr {
    let op = '';
    let grouping: string[] = [];
    let without = false;
    let args: Expr[] = [];
    for (const child of this.children(node)) {
      if (child.name === 'AggregateOp') op = this.text(child);
      else if (child.name === 'AggregateModifier') {
        for (const part of this.children(child)) {
          if (part.name === 'Without') without = true;
          else if (part.name === 'GroupingLabels') grouping = this.children(part).map((label) => (label.name === 'QuotedLabelName' ? this.string(this.only(label)) : this.text(label)));
        }
      } else if (child.name === 'FunctionCallBody') args = this.children(child).map((arg) => this.build(arg));
    }
    if (!AGGREGATE_OPS.has(op)) throw this.unsupported(node, `the aggregation ${op}`);
    if (args.length !== 1) throw this.fail(node, `wrong number of arguments for aggregate expression provided, expected 1, got ${args.length}`);
    const [expr] = args;
    if (typeOf(expr!) !== 'vector') throw this.fail(node, `expected type instant vector in aggregation expression, got ${typeOf(expr!) === 'scalar' ? 'scalar' : 'range vector'}`);
    return { kind: 'aggregate', op: op as AggregateOp, grouping, without, expr: expr! };
  }

  private binary(node: SyntaxNode): Expr {
    const children = this.children(node);
    const lhsNode = children[0];
    const rhsNode = children[children.length - 1];
    const opNode = children[1];
    if (lhsNode === undefined || rhsNode === undefined || opNode === undefined || children.length < 3) throw this.fail(node, 'incomplete binary expression');
    const modifier = children.find((c) => c.name === 'BoolModifier' || c.name === 'MatchingModifierClause' || c.name === 'OnOrIgnoring');
    if (modifier !== undefined) throw this.unsupported(modifier, 'vector matching and bool modifiers');
    const op = ARITHMETIC[opNode.name];
    if (op === undefined) throw this.unsupported(opNode, `the operator ${this.text(opNode)}`);
    const lhs = this.build(lhsNode);
    const rhs = this.build(rhsNode);
    const types = [typeOf(lhs), typeOf(rhs)];
    if (types.includes('matrix')) throw this.fail(node, 'binary expression must contain only scalar and instant vector types');
    if (types[0] === 'vector' && types[1] === 'vector') throw this.unsupported(node, 'a binary operation between two vectors');
    return { kind: 'binary', op, lhs, rhs };
  }

  private unary(node: SyntaxNode): Expr {
    const [opNode, operand] = this.children(node);
    if (opNode === undefined || operand === undefined) throw this.fail(node, 'incomplete unary expression');
    const expr = this.build(operand);
    if (typeOf(expr) === 'matrix') throw this.fail(node, 'unary expression only allowed on expressions of type scalar or instant vector');
    if (this.text(opNode) === '+') return expr;
    return expr.kind === 'number' ? { kind: 'number', value: -expr.value } : { kind: 'negate', expr };
  }
}
