/** PromQL's literals as Go reads them: numbers, durations, quoted strings. Pure. */

const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;
const SPECIAL = /^[+-]?(?:inf|infinity|nan)$/i;

/** Go's strconv.ParseFloat for what PromQL and `le` labels hold: decimal, `Inf`, `NaN` (any case); undefined otherwise. */
export function parseGoFloat(text: string): number | undefined {
  if (SPECIAL.test(text)) {
    if (/nan/i.test(text)) return NaN;
    return text.startsWith('-') ? -Infinity : Infinity;
  }
  if (FLOAT.test(text)) return Number(text);
  const hex = /^([+-]?)0x([0-9a-f]+)(?:\.([0-9a-f]*))?p([+-]?\d+)$/i.exec(text);
  if (hex !== null)
    return (
      (hex[1] === '-' ? -1 : 1) *
      parseInt(`${hex[2]}${hex[3] ?? ''}`, 16) *
      2 ** (Number(hex[4]) - 4 * (hex[3]?.length ?? 0))
    );
  return undefined;
}

/** A PromQL number literal, as the parser reads it: Go's ParseInt with base prefixes (0x, leading 0 for octal), else ParseFloat. */
export function parseNumberLiteral(text: string): number | undefined {
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text.slice(2), 16);
  if (/^0[0-7]+$/.test(text)) return parseInt(text, 8);
  return parseGoFloat(text);
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/** A quoted PromQL string ("..." or '...' with Go escapes, `raw`) unquoted; throws Error naming a bad escape. */
export function unquote(text: string): string {
  if (text.startsWith('`')) return text.slice(1, -1);
  const quote = text[0]!;
  const body = text.slice(1, -1);
  return body.replace(
    /\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{3})|(.))/gs,
    (whole, hex2?: string, hex4?: string, hex8?: string, octal?: string, char?: string) => {
      const code = hex2 ?? hex4 ?? hex8;
      if (code !== undefined) {
        const point = parseInt(code, 16);
        if (point > 0x10ffff || (point >= 0xd800 && point < 0xe000))
          throw new Error('escape sequence is an invalid Unicode code point');
        return String.fromCodePoint(point);
      }
      if (octal !== undefined) {
        const point = parseInt(octal, 8);
        if (point > 255) throw new Error('escape sequence is an invalid Unicode code point');
        return String.fromCharCode(point);
      }
      const unescaped = SIMPLE_ESCAPES[char ?? ''];
      if (unescaped === undefined || ((char === '"' || char === "'") && char !== quote))
        throw new Error(`unknown escape sequence ${whole}`);
      return unescaped;
    },
  );
}
