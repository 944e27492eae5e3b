/**
 * The parts of PromQL's grammar that modify an expression or an operator: `[range]`
 * and subqueries, `offset`, `@`, durations, `by`/`without`/`on`/`ignoring`
 * label lists and `bool`/`group_left`/`group_right` (parser/generated_parser.y).
 */
import { isLabelName } from '../domain/series.js';
import { typeOf, type AtModifier, type Expr, type VectorMatching } from './ast.js';
import type { Token } from './lexer.js';
import { parseDurationMs } from '../time/time-text.js';
import { parseNumberLiteral } from './literals.js';
import { SelectorParser } from './selector-parser.js';

export class ModifierParser extends SelectorParser {
  /** `[range]`, `[range:step]`, `offset d` and `@ t` after an expression. */
  protected postfix(expr: Expr): Expr {
    for (;;) {
      const token = this.peek();
      if (token.type === '[') expr = this.rangeOrSubquery(expr);
      else if (token.type === 'keyword' && token.text === 'offset') expr = this.offset(expr);
      else if (token.type === '@') expr = this.at(expr);
      else return expr;
    }
  }

  protected rangeOrSubquery(expr: Expr): Expr {
    const open = this.take();
    const range = this.duration(this.expect('duration', 'subquery selector', 'duration'));
    if (this.peek().type === ']') {
      this.take();
      if (expr.kind !== 'vector') throw this.fail(open, 'ranges only allowed for vector selectors');
      if (expr.offsetMs !== 0) throw this.fail(open, 'no offset modifiers allowed before range');
      if (expr.at !== undefined) throw this.fail(open, 'no @ modifiers allowed before range');
      return { kind: 'matrix', selector: expr, rangeMs: range };
    }
    this.expect(':', 'subquery or range', '":" or "]"');
    const step = this.peek().type === 'duration' ? this.duration(this.take()) : 0;
    this.expect(']', 'subquery selector', '"]"');
    if (typeOf(expr) !== 'vector')
      throw this.fail(open, `subquery is only allowed on instant vector, got ${typeOf(expr)} instead`);
    return { kind: 'subquery', expr, rangeMs: range, stepMs: step, offsetMs: 0 };
  }

  /** The selector (or subquery) an `offset` or `@` modifies, or a parse error. */
  protected modifiable(expr: Expr, token: Token, what: string): { offsetMs: number; at?: AtModifier } {
    if (expr.kind === 'vector' || expr.kind === 'subquery') return expr;
    if (expr.kind === 'matrix') return expr.selector;
    throw this.fail(
      token,
      `${what} modifier must be preceded by an instant vector selector or range vector selector or a subquery`,
    );
  }

  protected offset(expr: Expr): Expr {
    const token = this.take();
    const target = this.modifiable(expr, token, 'offset');
    let sign = 1;
    if (this.peek().type === 'op' && this.peek().text === '-') {
      this.take();
      sign = -1;
    }
    const ms = this.duration(this.expect('duration', 'offset', 'duration'));
    if (target.offsetMs !== 0) throw this.fail(token, 'offset may not be set multiple times');
    target.offsetMs = sign * ms;
    return expr;
  }

  protected at(expr: Expr): Expr {
    const token = this.take();
    const target = this.modifiable(expr, token, '@');
    if (target.at !== undefined) throw this.fail(token, '@ <timestamp> may not be set multiple times');
    const next = this.take();
    if (next.type === 'keyword' && (next.text === 'start' || next.text === 'end')) {
      this.expect('(', '@', '"("');
      this.expect(')', '@', '")"');
      target.at = { kind: next.text };
      return expr;
    }
    let sign = 1;
    let number = next;
    if (next.type === 'op' && (next.text === '-' || next.text === '+')) {
      sign = next.text === '-' ? -1 : 1;
      number = this.take();
    }
    if (number.type !== 'number') throw this.unexpected(number, '@', 'timestamp');
    const seconds = sign * parseNumberLiteral(number.text)!;
    if (!Number.isFinite(seconds) || Math.abs(seconds) >= 9.223372036854776e18)
      throw this.fail(token, `timestamp out of bounds for @ modifier: ${seconds}`);
    target.at = { kind: 'time', ms: Math.round(seconds * 1000) };
    return expr;
  }

  protected duration(token: Token): number {
    const ms = parseDurationMs(token.text);
    if (ms === undefined) throw this.fail(token, `not a valid duration string: ${JSON.stringify(token.text)}`);
    if (ms === 0) throw this.fail(token, 'duration must be greater than 0');
    return ms;
  }

  protected groupingLabels(context: string): string[] {
    this.expect('(', context, '"("');
    const labels: string[] = [];
    while (this.peek().type !== ')') {
      const token = this.take();
      const text = this.query.slice(token.at, token.at + token.text.length);
      if (!isLabelName(text) || !['identifier', 'keyword'].includes(token.type))
        throw this.unexpected(token, context, 'label');
      labels.push(text);
      if (this.peek().type === ',') this.take();
      else if (this.peek().type !== ')') throw this.unexpected(this.peek(), context, '"," or ")"');
    }
    this.take();
    return labels;
  }

  protected binaryModifiers(): { returnBool: boolean; matching: VectorMatching } {
    let returnBool = false;
    if (this.peek().text === 'bool' && this.peek().type === 'keyword') {
      this.take();
      returnBool = true;
    }
    let on = false;
    let labels: string[] = [];
    let include: string[] = [];
    let card: VectorMatching['card'] = 'one-to-one';
    if (this.peek().type === 'keyword' && (this.peek().text === 'on' || this.peek().text === 'ignoring')) {
      on = this.take().text === 'on';
      labels = this.groupingLabels('grouping opts');
      if (this.peek().type === 'keyword' && (this.peek().text === 'group_left' || this.peek().text === 'group_right')) {
        card = this.take().text === 'group_left' ? 'many-to-one' : 'one-to-many';
        if (this.peek().type === '(') include = this.groupingLabels('grouping opts');
      }
    }
    return { returnBool, matching: { card, on, labels, include } };
  }
}
