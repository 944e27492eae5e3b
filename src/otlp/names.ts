/**
 * OTLP names into Prometheus names, as Prometheus' OTLP receiver makes them by
 * default (translation strategy UnderscoreEscapingWithSuffixes; the rules of
 * github.com/prometheus/otlptranslator and the OpenTelemetry specification's
 * "Prometheus and OpenMetrics compatibility"):
 *
 * - a metric name is split into tokens at every character outside [a-zA-Z0-9:],
 *   the unit's suffixes are added unless a token already says them (`s` seconds,
 *   `By` bytes, `By/s` bytes_per_second, `{requests}` nothing), a monotonic sum
 *   ends in `total` and a gauge of unit `1` in `ratio`, the tokens are joined with
 *   `_`, and a name that starts with a digit gets a leading `_`;
 * - an attribute name has every character outside [a-zA-Z0-9_] replaced by `_`,
 *   and gets `key_` before a leading digit and `key` before a single leading `_`;
 * - a bucket bound or a quantile is written as Go's FormatFloat(v, 'f', -1, 64).
 */

/** How a metric is typed for naming: what decides its `_total` and `_ratio` suffixes. */
export type NamingType = 'gauge' | 'monotonic_counter' | 'non_monotonic_counter' | 'histogram' | 'summary';

const UNITS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tebibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

const PER_UNITS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

/** A character a metric name token may hold (the underscore separates tokens). */
const NAME_TOKEN_CHAR = /[a-zA-Z0-9:]/u;
const NOT_NAME_TOKEN_CHAR = /[^a-zA-Z0-9:]/gu;
const NOT_LABEL_CHAR = /[^a-zA-Z0-9_]/gu;
const STARTS_WITH_DIGIT = /^[0-9]/;

/** The Prometheus name of an OTLP metric, or undefined when nothing of it is left (refused, as Prometheus does). */
export function metricName(name: string, unit: string, type: NamingType): string | undefined {
  let tokens = nameTokens(name);
  const [main, per] = unitSuffixes(unit);
  tokens = withUnitTokens(tokens, cleanUnit(main), cleanUnit(per));
  if (type === 'monotonic_counter') tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  if (unit === '1' && type === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  const joined = tokens.join('_');
  if (joined === '') return undefined;
  return STARTS_WITH_DIGIT.test(joined) ? `_${joined}` : joined;
}

/** The Prometheus label name of an OTLP attribute key, or undefined when it would be empty or only underscores. */
export function labelName(key: string): string | undefined {
  if (key === '') return undefined;
  let name = key.replace(NOT_LABEL_CHAR, '_');
  if (STARTS_WITH_DIGIT.test(name)) name = `key_${name}`;
  else if (name.startsWith('_') && !name.startsWith('__')) name = `key${name}`;
  if (name !== key && /^_+$/.test(name)) return undefined;
  return name;
}

function nameTokens(name: string): string[] {
  const tokens: string[] = [];
  let token = '';
  for (const char of name) {
    if (NAME_TOKEN_CHAR.test(char)) token += char;
    else if (token !== '') {
      tokens.push(token);
      token = '';
    }
  }
  if (token !== '') tokens.push(token);
  return tokens;
}

/** The unit's main and "per" suffixes before clean-up: `By/s` is [bytes, per_second]; a unit in braces adds nothing. */
function unitSuffixes(unit: string): [string, string] {
  const slash = unit.indexOf('/');
  const mainUnit = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  const perUnit = slash < 0 ? '' : unit.slice(slash + 1).trim();
  const main = mainUnit !== '' && !/[{}]/.test(mainUnit) ? (UNITS[mainUnit] ?? mainUnit) : '';
  const perName = perUnit !== '' && !/[{}]/.test(perUnit) ? (PER_UNITS[perUnit] ?? perUnit) : '';
  return [main, perName === '' ? '' : `per_${perName}`];
}

/** A unit suffix as name characters: others become `_`, runs of `_` one, and a leading `_` goes. */
function cleanUnit(unit: string): string {
  return unit.replace(NOT_NAME_TOKEN_CHAR, '_').replace(/__+/g, '_').replace(/^_/, '');
}

function withUnitTokens(tokens: string[], main: string, per: string): string[] {
  let mainSuffix = tokens.includes(main) ? '' : main;
  let perSuffix = per === 'per_' ? '' : per.replace(/_$/, '');
  if (tokens.includes(perSuffix)) perSuffix = '';
  if (perSuffix !== '') mainSuffix = mainSuffix.replace(/_$/, '');
  return [...tokens, ...(mainSuffix === '' ? [] : [mainSuffix]), ...(perSuffix === '' ? [] : [perSuffix])];
}

/** A double as Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that read back, never an exponent. */
export function formatFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  const text = String(value);
  const e = text.indexOf('e');
  if (e < 0) return text;
  const sign = text.startsWith('-') ? '-' : '';
  const mantissa = text.slice(sign.length, e);
  const exponent = Number(text.slice(e + 1));
  const digits = mantissa.replace('.', '');
  const point = (mantissa.indexOf('.') < 0 ? mantissa.length : mantissa.indexOf('.')) + exponent;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
