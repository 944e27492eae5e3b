/**
 * PromQL's tokens, as Prometheus 2.42's lexer (promql/parser/lex.go) cuts them:
 * keywords are case-insensitive, inside braces every word is an identifier,
 * after `[` a duration is expected and `:` separates a subquery's step. Pure.
 */
import { PromqlSyntaxError } from './syntax-error.js';

export type TokenType =
  | 'number'
  | 'duration'
  | 'string'
  | 'identifier'
  | 'metric_identifier'
  | 'keyword'
  | 'op'
  | '('
  | ')'
  | '{'
  | '}'
  | '['
  | ']'
  | ','
  | ':'
  | '@'
  | '='
  | 'eof';

export interface Token {
  readonly type: TokenType;
  /** The text; for a keyword, lower-cased. */
  readonly text: string;
  /** Offset of the first character in the query. */
  readonly at: number;
}

/** Words the lexer reads as keywords outside braces (`inf` and `nan` are numbers). */
export const KEYWORDS = new Set(
  [
    'and or unless atan2', // operators
    'sum avg count min max group stddev stdvar topk bottomk count_values quantile', // aggregations
    'offset by without on ignoring group_left group_right bool start end', // modifiers
  ]
    .join(' ')
    .split(' '),
);

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean =>
  c !== undefined && (c === '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlphaNumeric = (c: string | undefined): boolean => isAlpha(c) || isDigit(c);
const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/** The query's tokens, ending with `eof`; throws PromqlSyntaxError where the lexer stops. */
export function tokenize(query: string): Token[] {
  return new Lexer(query).run();
}

/** Prometheus' lexer (parser/lex.go), state by state: inside braces, right after "[", and between them. */
class Lexer {
  private readonly tokens: Token[] = [];
  private pos = 0;
  private parenDepth = 0;
  private braceOpen = false;
  private bracketOpen = false;
  private gotColon = false;

  constructor(private readonly query: string) {}

  run(): Token[] {
    const { query } = this;
    while (this.pos < query.length) {
      const start = this.pos;
      const c = query[start]!;
      if (c === '#') {
        while (this.pos < query.length && query[this.pos] !== '\n' && query[this.pos] !== '\r') this.pos++;
      } else if (isSpace(c)) {
        this.pos++;
      } else if (this.braceOpen) {
        this.insideBraces(start, c);
      } else if (this.bracketOpen && this.tokens[this.tokens.length - 1]?.type === '[') {
        // lexDuration: right after "[" only a duration may stand.
        if (this.scanNumber()) this.fail(start, 'missing unit character in duration');
        if (!this.acceptRemainingDuration())
          this.fail(start, `bad duration syntax: ${JSON.stringify(query.slice(start, this.pos + 1))}`);
        this.emit('duration', start);
      } else {
        this.pos++;
        if (!this.operatorOrBracket(start, c)) this.numberOrWord(start, c);
      }
    }
    if (this.braceOpen) this.fail(this.pos, 'unexpected end of input inside braces');
    if (this.parenDepth !== 0) this.fail(this.pos, 'unclosed left parenthesis');
    if (this.bracketOpen) this.fail(this.pos, 'unclosed left bracket');
    this.tokens.push({ type: 'eof', text: '', at: this.pos });
    return this.tokens;
  }

  private fail(at: number, message: string): never {
    throw new PromqlSyntaxError(this.query, at, message);
  }

  private emit(type: TokenType, start: number, text = this.query.slice(start, this.pos)): void {
    this.tokens.push({ type, text, at: start });
  }

  private accept(chars: string): boolean {
    const c = this.query[this.pos];
    if (c !== undefined && chars.includes(c)) {
      this.pos++;
      return true;
    }
    return false;
  }

  private acceptRun(chars: string): void {
    while (this.accept(chars));
  }

  /** Go's scanNumber: true when what follows is not alphanumeric (a number), false when it may be a duration. */
  private scanNumber(): boolean {
    let digits = '0123456789';
    if (this.accept('0') && this.accept('xX')) digits = '0123456789abcdefABCDEF';
    this.acceptRun(digits);
    if (this.accept('.')) this.acceptRun(digits);
    if (this.accept('eE')) {
      this.accept('+-');
      this.acceptRun('0123456789');
    }
    return !isAlphaNumeric(this.query[this.pos]);
  }

  private acceptRemainingDuration(): boolean {
    if (!this.accept('smhdwy')) return false;
    this.accept('s');
    while (this.accept('0123456789')) {
      this.acceptRun('0123456789');
      if (!this.accept('smhdw')) return false;
      this.accept('s');
    }
    return !isAlphaNumeric(this.query[this.pos]);
  }

  private lexString(start: number, quote: string): void {
    this.pos++;
    for (;;) {
      const c = this.query[this.pos];
      if (c === undefined || (c === '\n' && quote !== '`'))
        this.fail(start, quote === '`' ? 'unterminated raw string' : 'unterminated quoted string');
      this.pos++;
      if (c === '\\' && quote !== '`') {
        if (this.query[this.pos] === undefined) this.fail(start, 'escape sequence not terminated');
        this.pos++;
      } else if (c === quote) break;
    }
    this.emit('string', start);
  }

  /** Label matchers: names, operators, strings, commas, up to "}". */
  private insideBraces(start: number, c: string): void {
    if (isAlpha(c)) {
      while (isAlphaNumeric(this.query[this.pos])) this.pos++;
      this.emit('identifier', start);
    } else if (c === ',') {
      this.pos++;
      this.emit(',', start);
    } else if (c === '"' || c === "'" || c === '`') {
      this.lexString(start, c);
    } else if (c === '=') {
      this.pos++;
      if (this.accept('~')) this.emit('op', start);
      else this.emit('=', start);
    } else if (c === '!') {
      this.pos++;
      if (!this.accept('~='))
        this.fail(start, `unexpected character after '!' inside braces: ${JSON.stringify(this.query[this.pos] ?? '')}`);
      this.emit('op', start);
    } else if (c === '}') {
      this.pos++;
      this.braceOpen = false;
      this.emit('}', start);
    } else {
      this.fail(start, `unexpected character inside braces: ${JSON.stringify(c)}`);
    }
  }

  /** An operator, a string or a bracket at `start` (one character taken); false when `c` starts none of them. */
  private operatorOrBracket(start: number, c: string): boolean {
    switch (c) {
      case ',':
      case '@':
        this.emit(c, start);
        return true;
      case '*':
      case '/':
      case '%':
      case '+':
      case '-':
      case '^':
        this.emit('op', start);
        return true;
      case '=':
        if (this.accept('=')) this.emit('op', start);
        else if (this.query[this.pos] === '~') this.fail(start, `unexpected character after '=': "~"`);
        else this.emit('=', start);
        return true;
      case '!':
        if (!this.accept('='))
          this.fail(start, `unexpected character after '!': ${JSON.stringify(this.query[this.pos] ?? '')}`);
        this.emit('op', start);
        return true;
      case '<':
      case '>':
        this.accept('=');
        this.emit('op', start);
        return true;
      case '"':
      case "'":
      case '`':
        this.pos = start;
        this.lexString(start, c);
        return true;
      default:
        return this.bracket(start, c);
    }
  }

  /** Parentheses, braces and brackets, with the depth and state they open or close. */
  private bracket(start: number, c: string): boolean {
    switch (c) {
      case '(':
        this.parenDepth++;
        break;
      case ')':
        this.parenDepth--;
        if (this.parenDepth < 0) this.fail(start, `unexpected right parenthesis ')'`);
        break;
      case '{':
        this.braceOpen = true;
        break;
      case '[':
        if (this.bracketOpen) this.fail(start, `unexpected left bracket '['`);
        this.gotColon = false;
        this.bracketOpen = true;
        break;
      case ']':
        if (!this.bracketOpen) this.fail(start, `unexpected right bracket ']'`);
        this.bracketOpen = false;
        break;
      default:
        return false;
    }
    this.emit(c, start);
    return true;
  }

  /** A number or duration, or a word: a keyword, an identifier, or a metric name with colons (or a subquery's colon). */
  private numberOrWord(start: number, c: string): void {
    const { query } = this;
    if (isDigit(c) || (c === '.' && isDigit(query[this.pos]))) {
      this.pos = start;
      if (this.scanNumber()) this.emit('number', start);
      else if (this.acceptRemainingDuration()) this.emit('duration', start);
      else this.fail(start, `bad number or duration syntax: ${JSON.stringify(query.slice(start, this.pos + 1))}`);
    } else if (isAlpha(c) || c === ':') {
      if (this.bracketOpen) {
        if (this.gotColon || c !== ':')
          this.fail(start, `unexpected ${c === ':' ? 'colon' : 'character'} ${JSON.stringify(c)}`);
        this.gotColon = true;
        this.emit(':', start);
        return;
      }
      while (isAlphaNumeric(query[this.pos]) || query[this.pos] === ':') this.pos++;
      const word = query.slice(start, this.pos);
      const lower = word.toLowerCase();
      if (lower === 'inf' || lower === 'nan') this.emit('number', start);
      else if (KEYWORDS.has(lower)) this.emit('keyword', start, lower);
      else this.emit(word.includes(':') ? 'metric_identifier' : 'identifier', start);
    } else {
      this.fail(start, `unexpected character: ${JSON.stringify(c)}`);
    }
  }
}
