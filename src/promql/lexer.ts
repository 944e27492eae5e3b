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
export const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'atan2',
  'sum',
  'avg',
  'count',
  'min',
  'max',
  'group',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'count_values',
  'quantile',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'start',
  'end',
]);

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean =>
  c !== undefined && (c === '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlphaNumeric = (c: string | undefined): boolean => isAlpha(c) || isDigit(c);
const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/** The query's tokens, ending with `eof`; throws PromqlSyntaxError where the lexer stops. */
export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let parenDepth = 0;
  let braceOpen = false;
  let bracketOpen = false;
  let gotColon = false;
  const fail = (at: number, message: string): never => {
    throw new PromqlSyntaxError(query, at, message);
  };
  const emit = (type: TokenType, start: number, text = query.slice(start, pos)): void => {
    tokens.push({ type, text, at: start });
  };
  const accept = (chars: string): boolean => {
    const c = query[pos];
    if (c !== undefined && chars.includes(c)) {
      pos++;
      return true;
    }
    return false;
  };
  const acceptRun = (chars: string): void => {
    while (accept(chars));
  };
  /** Go's scanNumber: true when what follows is not alphanumeric (a number), false when it may be a duration. */
  const scanNumber = (): boolean => {
    let digits = '0123456789';
    if (accept('0') && accept('xX')) digits = '0123456789abcdefABCDEF';
    acceptRun(digits);
    if (accept('.')) acceptRun(digits);
    if (accept('eE')) {
      accept('+-');
      acceptRun('0123456789');
    }
    return !isAlphaNumeric(query[pos]);
  };
  const acceptRemainingDuration = (): boolean => {
    if (!accept('smhdwy')) return false;
    accept('s');
    while (accept('0123456789')) {
      acceptRun('0123456789');
      if (!accept('smhdw')) return false;
      accept('s');
    }
    return !isAlphaNumeric(query[pos]);
  };
  const lexString = (start: number, quote: string): void => {
    pos++;
    for (;;) {
      const c = query[pos];
      if (c === undefined || (c === '\n' && quote !== '`'))
        fail(start, quote === '`' ? 'unterminated raw string' : 'unterminated quoted string');
      pos++;
      if (c === '\\' && quote !== '`') {
        if (query[pos] === undefined) fail(start, 'escape sequence not terminated');
        pos++;
      } else if (c === quote) break;
    }
    emit('string', start);
  };

  while (pos < query.length) {
    const start = pos;
    const c = query[pos]!;
    if (c === '#') {
      while (pos < query.length && query[pos] !== '\n' && query[pos] !== '\r') pos++;
      continue;
    }
    if (isSpace(c)) {
      pos++;
      continue;
    }
    if (braceOpen) {
      if (isAlpha(c)) {
        while (isAlphaNumeric(query[pos])) pos++;
        emit('identifier', start);
      } else if (c === ',') {
        pos++;
        emit(',', start);
      } else if (c === '"' || c === "'" || c === '`') {
        lexString(start, c);
      } else if (c === '=') {
        pos++;
        if (accept('~')) emit('op', start);
        else emit('=', start);
      } else if (c === '!') {
        pos++;
        if (!accept('~='))
          fail(start, `unexpected character after '!' inside braces: ${JSON.stringify(query[pos] ?? '')}`);
        emit('op', start);
      } else if (c === '}') {
        pos++;
        braceOpen = false;
        emit('}', start);
      } else {
        fail(start, `unexpected character inside braces: ${JSON.stringify(c)}`);
      }
      continue;
    }
    if (bracketOpen && tokens[tokens.length - 1]?.type === '[') {
      // lexDuration: right after "[" only a duration may stand.
      if (scanNumber()) fail(start, 'missing unit character in duration');
      if (!acceptRemainingDuration())
        fail(start, `bad duration syntax: ${JSON.stringify(query.slice(start, pos + 1))}`);
      emit('duration', start);
      continue;
    }
    pos++;
    switch (c) {
      case ',':
      case '@':
        emit(c, start);
        break;
      case '*':
      case '/':
      case '%':
      case '+':
      case '-':
      case '^':
        emit('op', start);
        break;
      case '=':
        if (accept('=')) emit('op', start);
        else if (query[pos] === '~') fail(start, `unexpected character after '=': "~"`);
        else emit('=', start);
        break;
      case '!':
        if (!accept('=')) fail(start, `unexpected character after '!': ${JSON.stringify(query[pos] ?? '')}`);
        emit('op', start);
        break;
      case '<':
      case '>':
        accept('=');
        emit('op', start);
        break;
      case '"':
      case "'":
      case '`':
        pos = start;
        lexString(start, c);
        break;
      case '(':
        parenDepth++;
        emit('(', start);
        break;
      case ')':
        parenDepth--;
        if (parenDepth < 0) fail(start, `unexpected right parenthesis ')'`);
        emit(')', start);
        break;
      case '{':
        braceOpen = true;
        emit('{', start);
        break;
      case '[':
        if (bracketOpen) fail(start, `unexpected left bracket '['`);
        gotColon = false;
        bracketOpen = true;
        emit('[', start);
        break;
      case ']':
        if (!bracketOpen) fail(start, `unexpected right bracket ']'`);
        bracketOpen = false;
        emit(']', start);
        break;
      default:
        if (isDigit(c) || (c === '.' && isDigit(query[pos]))) {
          pos = start;
          if (scanNumber()) emit('number', start);
          else if (acceptRemainingDuration()) emit('duration', start);
          else fail(start, `bad number or duration syntax: ${JSON.stringify(query.slice(start, pos + 1))}`);
        } else if (isAlpha(c) || c === ':') {
          if (bracketOpen) {
            if (gotColon || c !== ':')
              fail(start, `unexpected ${c === ':' ? 'colon' : 'character'} ${JSON.stringify(c)}`);
            gotColon = true;
            emit(':', start);
            break;
          }
          while (isAlphaNumeric(query[pos]) || query[pos] === ':') pos++;
          const word = query.slice(start, pos);
          const lower = word.toLowerCase();
          if (lower === 'inf' || lower === 'nan') emit('number', start);
          else if (KEYWORDS.has(lower)) emit('keyword', start, lower);
          else emit(word.includes(':') ? 'metric_identifier' : 'identifier', start);
        } else {
          fail(start, `unexpected character: ${JSON.stringify(c)}`);
        }
    }
  }
  if (braceOpen) fail(pos, 'unexpected end of input inside braces');
  if (parenDepth !== 0) fail(pos, 'unclosed left parenthesis');
  if (bracketOpen) fail(pos, 'unclosed left bracket');
  tokens.push({ type: 'eof', text: '', at: pos });
  return tokens;
}
