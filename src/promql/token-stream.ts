/** The parser's cursor over the lexer's tokens, and the errors it reports at a token. */
import type { Token } from './lexer.js';
import { PromqlSyntaxError } from './syntax-error.js';

export class TokenStream {
  private next = 0;

  constructor(
    protected readonly query: string,
    private readonly tokens: readonly Token[],
  ) {}

  /** The token before the current one. */
  protected previous(): Token {
    return this.tokens[this.next - 1]!;
  }

  protected peek(): Token {
    return this.tokens[this.next]!;
  }

  protected take(): Token {
    return this.tokens[this.next++]!;
  }

  protected fail(token: Token | number, message: string): PromqlSyntaxError {
    return new PromqlSyntaxError(this.query, typeof token === 'number' ? token : token.at, message);
  }

  protected unexpected(token: Token, context = '', expected = ''): PromqlSyntaxError {
    const what =
      token.type === 'eof'
        ? 'end of input'
        : token.type === 'keyword'
          ? `<${token.text}>`
          : token.type === 'op'
            ? `<op:${token.text}>`
            : JSON.stringify(token.text);
    return this.fail(
      token,
      `unexpected ${what}${context === '' ? '' : ` in ${context}`}${expected === '' ? '' : `, expected ${expected}`}`,
    );
  }

  protected expect(type: Token['type'], context: string, expected: string): Token {
    if (this.peek().type !== type) throw this.unexpected(this.peek(), context, expected);
    return this.take();
  }
}
