/** Vector selectors and quoted strings, as Prometheus 2.42's grammar reads them (label_matchers, string_literal). */
import { compileMatcher, NAME_LABEL, type CompiledMatcher, type MatchOp } from '../domain/series.js';
import type { Expr } from './ast.js';
import type { Token } from './lexer.js';
import { unquote } from './literals.js';
import { TokenStream } from './token-stream.js';

const MATCH_OPS = new Set(['=', '!=', '=~', '!~']);

export class SelectorParser extends TokenStream {
  protected unquote(token: Token): string {
    try {
      return unquote(token.text);
    } catch (error) {
      throw this.fail(token, (error as Error).message);
    }
  }

  protected selector(name: string | undefined, start: Token): Expr {
    const matchers: CompiledMatcher[] = [];
    if (this.peek().type === '{' && name !== undefined) this.take();
    if (name === undefined || this.previous().type === '{') {
      while (this.peek().type !== '}') {
        const label = this.expect('identifier', 'label matching', 'identifier or "}"');
        const op = this.take();
        if (!MATCH_OPS.has(op.text) || (op.type !== 'op' && op.type !== '='))
          throw this.unexpected(op, 'label matching', 'label matching operator');
        const value = this.expect('string', 'label matching', 'string');
        try {
          matchers.push(compileMatcher({ name: label.text, op: op.text as MatchOp, value: this.unquote(value) }));
        } catch (error) {
          throw this.fail(label, (error as Error).message);
        }
        if (this.peek().type === ',') this.take();
        else if (this.peek().type !== '}') throw this.unexpected(this.peek(), 'label matching', '"," or "}"');
      }
      this.take();
    }
    if (name !== undefined) {
      const named = matchers.find((m) => m.name === NAME_LABEL);
      if (named !== undefined)
        throw this.fail(
          start,
          `metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(named.value)}`,
        );
      matchers.push(compileMatcher({ name: NAME_LABEL, op: '=', value: name }));
    } else if (matchers.every((m) => m.matches(''))) {
      throw this.fail(start, 'vector selector must contain at least one non-empty matcher');
    }
    return { kind: 'vector', matchers, offsetMs: 0 };
  }
}
