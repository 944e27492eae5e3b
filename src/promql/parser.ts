/**
 * PromQL parsed into the typed tree of ast.ts with Prometheus 2.42's grammar
 * (parser/generated_parser.y): precedence from `or` (lowest) to `^` (highest,
 * right-associative), unary minus binding like `*` (so `-1 ^ 2` is -1), `[...]`,
 * `offset` and `@` binding to the expression just before them. Types are checked
 * as parser/parse.go's checkAST does. Throws PromqlSyntaxError. Pure.
 */
import { AGGREGATE_OPS, documentedType, FUNCTIONS, typeOf, type AggregateOp, type BinaryOp, type Expr } from './ast.js';
import { arityError, binaryExpression } from './checks.js';
import { tokenize, type Token } from './lexer.js';
import { ModifierParser } from './modifier-parser.js';
import { parseNumberLiteral } from './literals.js';

/** Deepest nesting a query may have (the tree is built and walked recursively). */
const MAX_DEPTH = 128;

const PRECEDENCE: Readonly<Record<string, number>> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '<': 3,
  '<=': 3,
  '>': 3,
  '>=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  atan2: 5,
  '^': 6,
};
const AGGREGATORS = new Set<string>(AGGREGATE_OPS);

/** Parses a PromQL expression. */
export function parsePromql(query: string): Expr {
  return new Parser(query).parseQuery();
}

class Parser extends ModifierParser {
  private depth = 0;

  constructor(query: string) {
    super(query, tokenize(query));
  }

  parseQuery(): Expr {
    if (this.peek().type === 'eof') throw this.fail(this.peek(), 'no expression found in input');
    const expr = this.expression(0);
    if (this.peek().type !== 'eof') throw this.unexpected(this.peek());
    return expr;
  }

  private binaryOp(token: Token): BinaryOp | undefined {
    if ((token.type === 'op' || token.type === 'keyword') && PRECEDENCE[token.text] !== undefined)
      return token.text as BinaryOp;
    return undefined;
  }

  /** Binary operations of at least `minPrecedence`, by precedence climbing. */
  private expression(minPrecedence: number): Expr {
    if (++this.depth > MAX_DEPTH) throw this.fail(this.peek(), `the expression nests deeper than ${MAX_DEPTH} levels`);
    try {
      let lhs = this.unary();
      for (;;) {
        const opToken = this.peek();
        const op = this.binaryOp(opToken);
        if (op === undefined || PRECEDENCE[op]! < minPrecedence) return lhs;
        this.take();
        const { returnBool, matching } = this.binaryModifiers();
        const rhs = this.expression(op === '^' ? PRECEDENCE[op]! : PRECEDENCE[op]! + 1);
        lhs = binaryExpression(op, lhs, rhs, returnBool, matching, (message) => this.fail(opToken, message));
      }
    } finally {
      this.depth--;
    }
  }

  private unary(): Expr {
    const token = this.peek();
    if (token.type === 'op' && (token.text === '-' || token.text === '+')) {
      this.take();
      const operand = this.expression(PRECEDENCE['^']!); // binds like *, below ^
      if (operand.kind === 'number') return token.text === '-' ? { kind: 'number', value: -operand.value } : operand;
      const type = typeOf(operand);
      if (type !== 'scalar' && type !== 'vector')
        throw this.fail(
          token,
          `unary expression only allowed on expressions of type scalar or instant vector, got "${documentedType(type)}"`,
        );
      return { kind: 'unary', op: token.text, expr: operand };
    }
    return this.postfix(this.primary());
  }

  private primary(): Expr {
    const token = this.take();
    switch (token.type) {
      case 'number': {
        const value = parseNumberLiteral(token.text);
        if (value === undefined) throw this.fail(token, `error parsing number: ${token.text}`);
        return { kind: 'number', value };
      }
      case 'string':
        return { kind: 'string', value: this.unquote(token) };
      case '(': {
        const expr = this.expression(0);
        this.expect(')', 'paren expression', '")"');
        return { kind: 'paren', expr };
      }
      case '{':
        return this.selector(undefined, token);
      case 'identifier':
        if (this.peek().type === '(') return this.call(token);
        return this.selector(token.text, token);
      case 'metric_identifier':
        return this.selector(token.text, token);
      case 'keyword':
        if (
          AGGREGATORS.has(token.text) &&
          (this.peek().type === '(' || this.peek().text === 'by' || this.peek().text === 'without')
        )
          return this.aggregate(token);
        if (
          this.peek().type === '{' ||
          !['on', 'ignoring', 'group_left', 'group_right', 'bool', 'atan2'].includes(token.text)
        ) {
          return this.selector(this.query.slice(token.at, token.at + token.text.length), token);
        }
        throw this.unexpected(token);
      case 'duration':
        throw this.fail(token, `unexpected duration ${JSON.stringify(token.text)}`);
      default:
        throw this.unexpected(token);
    }
  }

  private args(context: string): Expr[] {
    this.expect('(', context, '"("');
    const args: Expr[] = [];
    while (this.peek().type !== ')') {
      args.push(this.expression(0));
      if (this.peek().type === ',') {
        const comma = this.take();
        if (this.peek().type === ')') throw this.fail(comma, 'trailing commas not allowed in function call args');
      } else if (this.peek().type !== ')') throw this.unexpected(this.peek(), context, '"," or ")"');
    }
    this.take();
    return args;
  }

  private expectType(expr: Expr, want: string, context: string, at: Token): void {
    const type = typeOf(expr);
    if (type !== want)
      throw this.fail(at, `expected type ${documentedType(want as never)} in ${context}, got ${documentedType(type)}`);
  }

  private call(name: Token): Expr {
    const signature = FUNCTIONS[name.text];
    if (signature === undefined) throw this.fail(name, `unknown function with name ${JSON.stringify(name.text)}`);
    const args = this.args('function call');
    const arity = arityError(name.text, signature, args.length);
    if (arity !== undefined) throw this.fail(name, arity);
    args.forEach((arg, i) =>
      this.expectType(
        arg,
        signature.args[Math.min(i, signature.args.length - 1)]!,
        `call to function ${JSON.stringify(name.text)}`,
        name,
      ),
    );
    return { kind: 'call', func: name.text, args };
  }

  private aggregate(opToken: Token): Expr {
    const op = opToken.text as AggregateOp;
    let grouping: string[] = [];
    let without = false;
    const modifier = (): void => {
      if (this.peek().text === 'by' || this.peek().text === 'without') {
        without = this.take().text === 'without';
        grouping = this.groupingLabels('grouping opts');
      }
    };
    modifier();
    const args = this.args('aggregation');
    if (grouping.length === 0 && !without) modifier();
    if (args.length === 0) throw this.fail(opToken, 'no arguments for aggregate expression provided');
    const wanted = op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values' ? 2 : 1;
    if (args.length !== wanted)
      throw this.fail(
        opToken,
        `wrong number of arguments for aggregate expression provided, expected ${wanted}, got ${args.length}`,
      );
    const expr = args[wanted - 1]!;
    this.expectType(expr, 'vector', 'aggregation expression', opToken);
    const param = wanted === 2 ? args[0] : undefined;
    if (param !== undefined)
      this.expectType(param, op === 'count_values' ? 'string' : 'scalar', 'aggregation parameter', opToken);
    return param === undefined
      ? { kind: 'aggregate', op, expr, grouping, without }
      : { kind: 'aggregate', op, expr, param, grouping, without };
  }
}
