/**
 * The differential tier's queries, written from the PromQL documentation of
 * Prometheus 2.42: every function, aggregation, operator, matching modifier,
 * modifier (offset, @, subqueries) and the errors Prometheus answers, over the
 * metrics the tier's exporter serves (`exposition`).
 */

/** The exporter's page at its n-th scrape. */
export function exposition(n: number): string {
  const lines: string[] = [];
  const add = (name: string, labels: string, value: number): void => {
    lines.push(
      `${name}${labels === '' ? '' : `{${labels}}`} ${Number.isNaN(value) ? 'NaN' : value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : value}`,
    );
  };
  add('diff_requests_total', 'method="GET",path="/a"', 3 * n);
  add('diff_requests_total', 'method="GET",path="/b"', Math.floor(1.5 * n) + (n % 4));
  add('diff_requests_total', 'method="POST",path="/a"', n >= 45 ? 5 * (n - 45) : 5 * n); // resets at the 45th scrape
  add('diff_requests_total', 'method="POST",path="/c"', 0.5 * n);
  ['a', 'b', 'c'].forEach((room, k) =>
    add('diff_temperature_celsius', `room="${room}"`, room === 'c' ? -3 + n / 10 : 20 + 5 * Math.sin(n / 7 + k)),
  );
  for (let shard = 0; shard < 5; shard++) add('diff_items', `shard="${shard}"`, (n + shard * 3) % 5);
  if (n >= 20 && n < 50) add('diff_flaky', 'id="1"', n);
  if (n >= 60) add('diff_flaky', 'id="2"', -n);
  add('diff_special', 'kind="nan"', n % 10 === 3 ? NaN : n);
  add('diff_special', 'kind="inf"', n % 15 === 0 ? Infinity : -n);
  for (const path of ['/a', '/b']) {
    let cumulative = 0;
    for (const [i, le] of ['0.1', '0.25', '0.5', '1', '+Inf'].entries()) {
      cumulative += Math.floor(n * (path === '/a' ? i + 1 : 5 - i));
      add('diff_latency_seconds_bucket', `path="${path}",le="${le}"`, cumulative);
    }
    add('diff_latency_seconds_sum', `path="${path}"`, n * 0.37);
    add('diff_latency_seconds_count', `path="${path}"`, cumulative);
  }
  for (const cpu of ['0', '1']) {
    add('diff_cpu_seconds_total', `cpu="${cpu}",mode="user"`, n * (cpu === '0' ? 0.3 : 0.7));
    add('diff_cpu_seconds_total', `cpu="${cpu}",mode="idle"`, n * (cpu === '0' ? 0.7 : 0.3));
    add('diff_cpu_info', `cpu="${cpu}",model="m${cpu}"`, 1);
  }
  add('diff_version', 'version="2.42.7"', 2);
  add('diff_timestamp_seconds', '', 1_700_000_000 + n * 7 * 3_600 + n * 61);
  return `${lines.join('\n')}\n`;
}

const counters = [
  'diff_requests_total',
  'diff_requests_total{method="GET"}',
  'diff_cpu_seconds_total{mode="user"}',
  'diff_latency_seconds_count',
];
const gauges = ['diff_temperature_celsius', 'diff_items', 'diff_special', 'diff_flaky'];
const ranges = ['[20s]', '[1m]'];

const overTime = [
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'count_over_time',
  'quantile_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'last_over_time',
  'present_over_time',
  'absent_over_time',
];
const counterFunctions = ['rate', 'increase', 'irate', 'resets', 'changes'];
const gaugeFunctions = ['delta', 'idelta', 'deriv', 'changes', 'resets'];
const math = ['abs', 'ceil', 'floor', 'exp', 'sqrt', 'ln', 'log2', 'log10', 'sgn', 'rad', 'deg'];
const trig = ['sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh'];
const dates = ['year', 'month', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'hour', 'minute'];
const aggregations = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar'];
const arithmetic = ['+', '-', '*', '/', '%', '^', 'atan2'];
const comparisons = ['==', '!=', '>', '<', '>=', '<='];

function overTimeCall(fn: string, arg: string): string {
  return fn === 'quantile_over_time' ? `${fn}(0.75, ${arg})` : `${fn}(${arg})`;
}

/** Queries Prometheus and meetr must answer alike, as instant and as range queries. */
export const CORPUS: readonly string[] = [
  // Literals, precedence and associativity.
  '1',
  '-1',
  '+2.5',
  '0x1F',
  '010',
  '1e3',
  '.5',
  'Inf',
  '-Inf',
  'NaN',
  '"a string"',
  `'single'`,
  '`raw\\n`',
  '1 + 2 * 3',
  '(1 + 2) * 3',
  '2 ^ 3 ^ 2',
  '(2 ^ 3) ^ 2',
  '-1 ^ 2',
  '-(1) ^ 2',
  '2 ^ -1',
  '-2 * 3',
  '10 - 2 - 3',
  '100 / 10 / 2',
  '7 % 3',
  '-7 % 3',
  '5 % -2',
  '1 - -1',
  '1 + +1',
  '2 * -3 ^ 2',
  '1 atan2 2',
  '1 == bool 1',
  '1 != bool 2',
  '2 > bool 1',
  '1 < bool 2',
  '2 >= bool 2',
  '2 <= bool 1',
  'NaN == bool NaN',
  'Inf > bool 1',
  '0 / 0',
  '1 / 0',
  '-1 / 0',
  '2 ^ 0.5',
  '(-8) ^ (1/3)',
  '1 ^ NaN',
  '(-1) ^ Inf',
  // Selectors, matchers, offsets, @.
  'diff_requests_total',
  'diff_requests_total{method="GET"}',
  'diff_requests_total{method!="GET"}',
  'diff_requests_total{path=~"/a|/b"}',
  'diff_requests_total{path!~"/a"}',
  '{__name__="diff_temperature_celsius"}',
  '{__name__=~"diff_temp.*"}',
  '{__name__=~"diff_(items|flaky)", job="diff"}',
  'diff_temperature_celsius{room=~"[ab]"}',
  'diff_temperature_celsius{room=~".*"}',
  'diff_temperature_celsius{room=~"A", job="diff"}',
  'diff_temperature_celsius{room=~"(?i)A"}',
  'diff_items{shard=~"1|3",}',
  'diff_requests_total offset 10s',
  'diff_requests_total offset -10s',
  'diff_requests_total offset 1m',
  'diff_temperature_celsius @ end()',
  'diff_temperature_celsius @ start()',
  'diff_flaky',
  'diff_special',
  'up{job="diff"}',
  'diff_version',
  'diff_requests_total{method="NONE"}',
  'diff_does_not_exist',
  'diff_temperature_celsius[30s]',
  'diff_requests_total{path="/a"}[20s]',
  'diff_flaky[1m]',
  'diff_special[15s]',
  'diff_temperature_celsius[30s] offset 10s',
  'diff_items[10s] @ end()',
  // Range functions over counters and gauges.
  ...counterFunctions.flatMap((fn) => counters.flatMap((c) => ranges.map((r) => `${fn}(${c}${r})`))),
  ...gaugeFunctions.flatMap((fn) => gauges.map((g) => `${fn}(${g}[30s])`)),
  ...overTime.flatMap((fn) =>
    [...gauges, 'diff_requests_total'].flatMap((g) => [
      overTimeCall(fn, `${g}[20s]`),
      overTimeCall(fn, `${g}[1m] offset 15s`),
    ]),
  ),
  'rate(diff_requests_total[5s])',
  'rate(diff_requests_total[1m] offset 30s)',
  'rate(diff_requests_total[30s] @ end())',
  'increase(diff_requests_total{method="POST"}[45s])',
  'quantile_over_time(0, diff_temperature_celsius[30s])',
  'quantile_over_time(1, diff_temperature_celsius[30s])',
  'quantile_over_time(-1, diff_items[30s])',
  'quantile_over_time(2, diff_items[30s])',
  'quantile_over_time(NaN, diff_items[30s])',
  'predict_linear(diff_temperature_celsius[30s], 60)',
  'predict_linear(diff_requests_total[1m], 3600)',
  'deriv(diff_requests_total[30s])',
  'holt_winters(diff_temperature_celsius[30s], 0.5, 0.5)',
  'holt_winters(diff_requests_total[1m], 0.1, 0.9)',
  'absent_over_time(diff_does_not_exist{a="b"}[1m])',
  'absent_over_time(diff_flaky{id="1"}[10s])',
  'rate({__name__=~"diff_requests_total|diff_cpu_seconds_total"}[30s])',
  'last_over_time({__name__=~"diff_(items|flaky)"}[30s])',
  // Functions of instant vectors.
  ...math.flatMap((fn) => [`${fn}(diff_temperature_celsius)`, `${fn}(diff_special)`]),
  ...trig.map((fn) => `${fn}(diff_items / 10)`),
  ...dates.flatMap((fn) => [`${fn}()`, `${fn}(diff_timestamp_seconds)`]),
  'round(diff_temperature_celsius)',
  'round(diff_temperature_celsius, 0.5)',
  'round(diff_temperature_celsius, 5)',
  'round(diff_special)',
  'clamp(diff_temperature_celsius, 18, 22)',
  'clamp(diff_temperature_celsius, 22, 18)',
  'clamp_max(diff_temperature_celsius, 20)',
  'clamp_min(diff_temperature_celsius, 20)',
  'clamp_min(diff_special, 0)',
  'timestamp(diff_temperature_celsius)',
  'timestamp(diff_temperature_celsius offset 10s)',
  'timestamp(sum(diff_temperature_celsius))',
  'timestamp(diff_flaky)',
  'time()',
  'time() - 10',
  'pi()',
  'vector(1)',
  'vector(time())',
  'scalar(diff_version)',
  'scalar(diff_temperature_celsius)',
  'scalar(sum(diff_items))',
  'diff_items * scalar(diff_version)',
  'sort(diff_temperature_celsius)',
  'sort_desc(diff_temperature_celsius)',
  'sort(rate(diff_requests_total[30s]))',
  'sort_desc(sum by (path) (diff_requests_total))',
  'absent(diff_temperature_celsius)',
  'absent(diff_does_not_exist)',
  'absent(diff_does_not_exist{job="x", room=~"a"})',
  'absent(diff_does_not_exist{a="b", a="c"})',
  'absent(sum(diff_does_not_exist))',
  'label_replace(diff_temperature_celsius, "place", "room-$1", "room", "(.*)")',
  'label_replace(diff_temperature_celsius, "room", "", "room", "a")',
  'label_replace(diff_version, "major", "$1", "version", "(\\\\d+)\\\\..*")',
  'label_replace(diff_temperature_celsius, "x", "${1}_y", "room", "(.)")',
  'label_replace(diff_temperature_celsius, "x", "$1y", "room", "(.)")',
  'label_replace(diff_temperature_celsius, "x", "$name", "room", "(?P<name>.)")',
  'label_replace(diff_temperature_celsius, "x", "nomatch", "room", "z")',
  'label_replace(diff_items, "shard", "same", "shard", ".*")',
  'label_join(diff_requests_total, "joined", "-", "method", "path")',
  'label_join(diff_requests_total, "joined", "", "nothing")',
  'label_join(diff_requests_total, "method", ",", "path", "method", "job")',
  'histogram_quantile(0.5, diff_latency_seconds_bucket)',
  'histogram_quantile(0.9, rate(diff_latency_seconds_bucket[30s]))',
  'histogram_quantile(0.99, sum by (le) (rate(diff_latency_seconds_bucket[1m])))',
  'histogram_quantile(0, diff_latency_seconds_bucket)',
  'histogram_quantile(1, diff_latency_seconds_bucket)',
  'histogram_quantile(-0.5, diff_latency_seconds_bucket)',
  'histogram_quantile(1.5, diff_latency_seconds_bucket)',
  'histogram_quantile(0.5, diff_latency_seconds_bucket{le!="+Inf"})',
  'histogram_quantile(0.5, sum without (path) (diff_latency_seconds_bucket))',
  'histogram_quantile(0.5, diff_temperature_celsius)',
  'histogram_count(diff_latency_seconds_bucket)',
  'histogram_sum(diff_latency_seconds_sum)',
  'histogram_fraction(0, 0.5, diff_latency_seconds_bucket)',
  // Aggregations.
  ...aggregations.flatMap((op) => [
    `${op}(diff_temperature_celsius)`,
    `${op} by (method) (diff_requests_total)`,
    `${op} without (path) (diff_requests_total)`,
    `${op}(diff_special) by (kind)`,
  ]),
  'sum by (job, instance) (diff_requests_total)',
  'sum by () (diff_items)',
  'sum without () (diff_items)',
  'count by (__name__) ({__name__=~"diff_(items|flaky)"})',
  'max by (le) (diff_latency_seconds_bucket)',
  'topk(2, diff_temperature_celsius)',
  'topk(1, diff_items)',
  'topk(3, diff_items) by (job)',
  'bottomk(2, diff_temperature_celsius)',
  'bottomk(1, diff_items)',
  'topk(0, diff_items)',
  'topk(100, diff_items)',
  'topk(scalar(diff_version), diff_items)',
  'topk(2, diff_special)',
  'bottomk(2, diff_special)',
  'topk by (method) (1, diff_requests_total)',
  'bottomk without (path) (1, diff_requests_total)',
  'quantile(0.5, diff_temperature_celsius)',
  'quantile(0.9, diff_items)',
  'quantile by (method) (0.5, diff_requests_total)',
  'quantile(-1, diff_items)',
  'quantile(2, diff_items)',
  'quantile(0.5, diff_special)',
  'count_values("value", diff_items)',
  'count_values by (job) ("v", diff_items)',
  'count_values without (shard) ("v", diff_items)',
  'count_values("shard", diff_items)',
  'count_values("v", diff_special)',
  'group(diff_requests_total) by (path)',
  'stddev(diff_items)',
  'stdvar by (job) (diff_temperature_celsius)',
  'avg(diff_special)',
  'sum(diff_special)',
  'max(diff_special)',
  'min(diff_special)',
  'sum(rate(diff_requests_total[30s])) by (path)',
  'avg(max_over_time(diff_temperature_celsius[30s]))',
  'count(count by (path) (diff_requests_total))',
  'SUM(diff_items)',
  'Sum By (job) (diff_items)',
  // Binary operators between scalars and vectors.
  ...arithmetic.flatMap((op) => [
    `diff_temperature_celsius ${op} 2`,
    `2 ${op} diff_items`,
    `diff_requests_total ${op} diff_requests_total`,
  ]),
  ...comparisons.flatMap((op) => [
    `diff_temperature_celsius ${op} 20`,
    `20 ${op} diff_temperature_celsius`,
    `diff_items ${op} bool 2`,
    `diff_requests_total ${op} diff_requests_total offset 10s`,
    `diff_items ${op} bool diff_items offset 5s`,
  ]),
  'diff_requests_total and diff_requests_total{method="GET"}',
  'diff_requests_total or diff_temperature_celsius',
  'diff_requests_total unless diff_requests_total{path="/a"}',
  'diff_requests_total and on (path) diff_requests_total{method="POST"}',
  'diff_requests_total unless ignoring (method) diff_requests_total{method="POST"}',
  'diff_items or vector(1)',
  'diff_flaky or diff_items',
  'diff_items and diff_flaky',
  'diff_items unless diff_flaky',
  '(diff_items > 2) or (diff_items < 1)',
  'diff_items and on () vector(1)',
  // Vector matching.
  'diff_cpu_seconds_total / on (cpu) group_left diff_cpu_info',
  'diff_cpu_seconds_total * on (cpu) group_left (model) diff_cpu_info',
  'diff_cpu_info * on (cpu) group_right (model) diff_cpu_seconds_total',
  'diff_cpu_seconds_total / ignoring (mode) group_left sum without (mode) (diff_cpu_seconds_total)',
  'sum by (cpu) (diff_cpu_seconds_total) / on (cpu) diff_cpu_info',
  'rate(diff_cpu_seconds_total[30s]) / ignoring (mode) group_left sum without (mode) (rate(diff_cpu_seconds_total[30s]))',
  'diff_requests_total + on (method, path) diff_requests_total offset 5s',
  'diff_requests_total > on (method, path) group_left diff_requests_total offset 5s',
  'diff_cpu_seconds_total == bool on (cpu) group_left diff_cpu_info',
  'diff_requests_total - ignoring (job) diff_requests_total',
  'diff_requests_total / on (path) group_left sum by (path) (diff_requests_total)',
  'diff_items * on (shard) diff_items',
  'diff_requests_total + on () group_left vector(1)',
  'diff_requests_total atan2 diff_requests_total offset 10s',
  'diff_cpu_info + on (cpu) group_left (cpu) diff_cpu_info',
  // Subqueries.
  'max_over_time(diff_temperature_celsius[30s:5s])',
  'max_over_time(rate(diff_requests_total[20s])[40s:10s])',
  'avg_over_time(diff_items[1m:])',
  'rate(diff_requests_total[1m:5s])',
  'max_over_time((diff_temperature_celsius)[30s:10s] offset 10s)',
  'sum_over_time(sum(diff_items)[30s:7s])',
  'min_over_time(diff_temperature_celsius[20s:3s] @ end())',
  'diff_temperature_celsius[30s:10s]',
  'max_over_time(deriv(rate(diff_requests_total[20s])[30s:5s])[40s:10s])',
  'count_over_time(diff_flaky[1m:2s])',
  'last_over_time(diff_special[20s:4s])',
  'quantile_over_time(0.5, diff_items[30s:3s])',
  'max_over_time(diff_temperature_celsius[30s:5s] offset -5s)',
  'avg_over_time((diff_items > 2)[30s:5s])',
  'sum_over_time(vector(1)[30s:10s])',
  'count_over_time(timestamp(diff_items)[30s:10s])',
  // Functions combined.
  'sum(rate(diff_latency_seconds_sum[30s])) / sum(rate(diff_latency_seconds_count[30s]))',
  'increase(diff_requests_total[1m]) / 60',
  'abs(delta(diff_temperature_celsius[30s]))',
  'ceil(rate(diff_requests_total[30s]) * 100) / 100',
  'sort_desc(topk(3, diff_temperature_celsius))',
  'clamp(rate(diff_requests_total[20s]), 0, 3)',
  '-diff_temperature_celsius',
  '-sum(diff_items)',
  'time() - timestamp(diff_items)',
  'vector(scalar(sum(diff_items))) + 1',
  'diff_items % 2 == 0',
  'sum(diff_items % 2 == bool 0)',
  '1 - (diff_items / 4)',
  'day_of_week() == bool 3',
  'count(diff_temperature_celsius > 20) or vector(0)',
  'sum(diff_requests_total) / count(diff_requests_total)',
  'avg_over_time(diff_temperature_celsius[30s]) - diff_temperature_celsius',
  // Errors Prometheus answers, at parse time and at evaluation.
  'sum(',
  'diff_requests_total{',
  'rate(diff_requests_total)',
  'rate(diff_requests_total[5m]',
  '1 > 1',
  'diff_items and 1',
  'sum(diff_items) offset 5m',
  'diff_items[5m] offset 1m [1m]',
  'no_such_function()',
  'round(diff_items, 1, 2)',
  'label_replace(diff_items, "x", "y", "shard")',
  'topk(diff_items)',
  'quantile("a", diff_items)',
  'count_values(1, diff_items)',
  'diff_items{shard=~"("}',
  '{}',
  '{shard=""}',
  'diff_items + on (a) group_left (a) diff_items',
  'diff_items and on (a) group_left diff_items',
  'time() [5m:]',
  '"a" + 1',
  'diff_items @ 1 @ 2',
  'diff_items offset 1m offset 2m',
  '(diff_items) @ 100',
  'diff_items[0s]',
  'avg(diff_items',
  'diff_requests_total * diff_cpu_seconds_total',
  'diff_requests_total + ignoring (method) diff_requests_total',
  'diff_cpu_seconds_total / on (cpu) diff_cpu_info',
  'diff_cpu_info * on (cpu) group_left diff_cpu_seconds_total',
  'label_replace(diff_items, "shard", "x", "shard", ".*")',
  'label_replace(diff_items, "1x", "y", "shard", ".*")',
  'label_join(diff_items, "x", "-", "1y")',
  'count_values("1x", diff_items)',
  'holt_winters(diff_items[30s], 1, 0.5)',
  'max_over_time(-{__name__=~"diff_(items|version)"}[30s:10s])',
];
