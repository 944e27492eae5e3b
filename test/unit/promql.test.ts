/** PromQL: the parser's tree and errors, each construct's edges, and the bounds of a query, over the in-memory store. */
import { describe, expect, it } from 'vitest';
import { parsePromql } from '../../src/promql/parser.js';
import { PromqlSyntaxError } from '../../src/promql/syntax-error.js';
import { expandTemplate, compileAnchored } from '../../src/domain/regex.js';
import { bucketQuantile, quantile } from '../../src/promql/quantile.js';
import { selectorWindows } from '../../src/promql/read-windows.js';
import { memoryApp } from '../support/memory-app.js';

const t0 = Date.parse('2026-03-01T00:00:00Z');
const S = 1000;
type Answer = { status: string; data?: { resultType: string; result: unknown }; errorType?: string; error?: string };

async function fixture(env: Record<string, string> = {}) {
  const { app } = memoryApp(env);
  const points: Array<{ metric: string; timestamp: string; value: string }> = [];
  const add = (metric: string, ts: number, value: number): void =>
    void points.push({ metric, timestamp: String(ts), value: String(value) });
  [0, 10, 20, 5, 15].forEach((v, i) => add('req_total{job="api",path="/a"}', t0 + i * 15 * S, v));
  [0, 1, 2, 3, 4].forEach((v, i) => add('req_total{job="api",path="/b"}', t0 + i * 15 * S, v * 2));
  add('temp{room="a"}', t0 + 60 * S, 21);
  add('temp{room="b"}', t0 + 60 * S, 19);
  add('temp{room="c"}', t0 + 60 * S, 25);
  add('info{floor="1",room="a"}', t0 + 60 * S, 1);
  add('info{floor="2",room="b"}', t0 + 60 * S, 1);
  for (const [le, count] of [
    ['0.1', 1],
    ['0.5', 3],
    ['1', 4],
    ['+Inf', 4],
  ] as const)
    add(`lat_bucket{le="${le}"}`, t0 + 60 * S, count);
  const response = await app.request('/1.0/metrics', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(points),
  });
  expect(response.status).toBe(200);
  const query = async (q: string, t = t0 + 60 * S): Promise<{ status: number; body: Answer }> => {
    const r = await app.request(
      `/api/v1/query?${new URLSearchParams({ query: q, time: String(t / 1000) }).toString()}`,
    );
    return { status: r.status, body: (await r.json()) as Answer };
  };
  const values = async (q: string, t?: number): Promise<Record<string, string> | string> => {
    const { body } = await query(q, t);
    if (body.status !== 'success') return `${body.errorType}: ${body.error}`;
    if (body.data!.resultType === 'scalar') return (body.data!.result as [number, string])[1];
    return Object.fromEntries(
      (body.data!.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((s) => [
        JSON.stringify(s.metric),
        s.value[1],
      ]),
    );
  };
  return { app, query, values };
}

describe('the parser', () => {
  it('binds as Prometheus 2.42 does: ^ right-associative above unary minus, offset and @ after a subquery', () => {
    expect(parsePromql('-1 ^ 2')).toMatchObject({ kind: 'unary', op: '-', expr: { kind: 'binary', op: '^' } });
    expect(parsePromql('2 ^ 3 ^ 2')).toMatchObject({
      kind: 'binary',
      op: '^',
      lhs: { kind: 'number', value: 2 },
      rhs: { kind: 'binary', op: '^' },
    });
    expect(parsePromql('x + 2 * 3 > bool 4 or vector(1)')).toMatchObject({
      kind: 'binary',
      op: 'or',
      lhs: { kind: 'binary', op: '>', returnBool: true },
    });
    expect(parsePromql('max_over_time(x[5m:10s] offset 5m)')).toMatchObject({
      kind: 'call',
      args: [{ kind: 'subquery', rangeMs: 300_000, stepMs: 10_000, offsetMs: 300_000 }],
    });
    expect(parsePromql('x offset -1m @ end()')).toMatchObject({
      kind: 'vector',
      offsetMs: -60_000,
      at: { kind: 'end' },
    });
    expect(parsePromql('a / on (x) group_left (y) b')).toMatchObject({
      kind: 'binary',
      matching: { card: 'many-to-one', on: true, labels: ['x'], include: ['y'] },
    });
    expect(parsePromql('SUM(x) WITHOUT (a)')).toMatchObject({
      kind: 'aggregate',
      op: 'sum',
      grouping: ['a'],
      without: true,
      expr: { kind: 'vector' },
    });
    expect(parsePromql('010')).toEqual({ kind: 'number', value: 8 });
    expect(parsePromql('# a comment\n x')).toMatchObject({ kind: 'vector' });
  });

  it("refuses with the position and Prometheus' reason", () => {
    const reason = (q: string): string => {
      try {
        parsePromql(q);
      } catch (error) {
        return (error as PromqlSyntaxError).toMeetrError().message;
      }
      return 'parsed';
    };
    expect(reason('sum(x')).toMatch(/^1:6: parse error: unclosed left parenthesis/);
    expect(reason('x[5m] offset 1m [1m]')).toContain('ranges only allowed for vector selectors');
    expect(reason('1 + 2 or vector(1)')).toContain('set operator "or" not allowed in binary scalar expression');
    expect(reason('(x) @ 100')).toContain('@ modifier must be preceded by');
    expect(reason('x offset 1m offset 1m')).toContain('offset may not be set multiple times');
    expect(reason('x[5]')).toContain('missing unit character in duration');
    expect(reason('a + on (b) group_left (b) c')).toContain('must not occur in ON and GROUP clause at once');
    expect(reason('label_join(x, "a", "-")')).toBe('parsed');
    expect(reason('"\\q"')).toContain('unknown escape sequence');
  });
});

describe('evaluation', () => {
  it('computes functions of range vectors at their edges', async () => {
    const { values } = await fixture();
    const at = t0 + 60 * S;
    expect(await values('resets(req_total[1m])', at)).toEqual({
      '{"job":"api","path":"/a"}': '1',
      '{"job":"api","path":"/b"}': '0',
    });
    expect(await values('changes(req_total{path="/b"}[1m])', at)).toEqual({ '{"job":"api","path":"/b"}': '4' });
    expect(await values('irate(req_total{path="/a"}[1m])', at)).toEqual({
      '{"job":"api","path":"/a"}': String(10 / 15),
    });
    expect(await values('idelta(req_total{path="/a"}[1m])', at)).toEqual({ '{"job":"api","path":"/a"}': '10' });
    expect(await values('delta(req_total{path="/b"}[1m])', at)).toEqual({ '{"job":"api","path":"/b"}': '8' });
    expect(await values('deriv(req_total{path="/b"}[1m])', at)).toEqual({
      '{"job":"api","path":"/b"}': String(2 / 15),
    });
    expect(await values('predict_linear(req_total{path="/b"}[1m], 15)', at)).toEqual({
      '{"job":"api","path":"/b"}': '10',
    });
    expect(await values('last_over_time(req_total{path="/b"}[1m])', at)).toEqual({
      '{"__name__":"req_total","job":"api","path":"/b"}': '8',
    });
    expect(await values('quantile_over_time(0.5, req_total{path="/a"}[1m])', at)).toEqual({
      '{"job":"api","path":"/a"}': '10',
    });
    expect(await values('stdvar_over_time(req_total{path="/b"}[1m])', at)).toEqual({
      '{"job":"api","path":"/b"}': '8',
    });
    expect(await values('absent_over_time(nothing{a="b"}[1m])', at)).toEqual({ '{"a":"b"}': '1' });
    expect(await values('count_over_time(req_total[1m:15s])', at)).toEqual({
      '{"job":"api","path":"/a"}': '5',
      '{"job":"api","path":"/b"}': '5',
    });
    expect(await values('holt_winters(req_total[1m], 2, 0.5)', at)).toMatch(/^execution: invalid smoothing factor/);
  });

  it('computes aggregations, matching and instant functions as Prometheus does', async () => {
    const { values } = await fixture();
    expect(await values('topk(2, temp)')).toEqual({
      '{"__name__":"temp","room":"c"}': '25',
      '{"__name__":"temp","room":"a"}': '21',
    });
    expect(await values('bottomk(1, temp)')).toEqual({ '{"__name__":"temp","room":"b"}': '19' });
    expect(await values('quantile(0.5, temp)')).toEqual({ '{}': '21' });
    expect(await values('stddev(temp)')).toEqual({
      '{}': String(Math.sqrt(((21 - 65 / 3) ** 2 + (19 - 65 / 3) ** 2 + (25 - 65 / 3) ** 2) / 3)),
    });
    expect(await values('count_values("v", temp)')).toEqual({
      '{"v":"21"}': '1',
      '{"v":"19"}': '1',
      '{"v":"25"}': '1',
    });
    expect(await values('temp * on (room) group_left (floor) info')).toEqual({
      '{"floor":"1","room":"a"}': '21',
      '{"floor":"2","room":"b"}': '19',
    });
    expect(await values('temp > 20')).toEqual({
      '{"__name__":"temp","room":"a"}': '21',
      '{"__name__":"temp","room":"c"}': '25',
    });
    expect(await values('temp > bool 20')).toEqual({ '{"room":"a"}': '1', '{"room":"b"}': '0', '{"room":"c"}': '1' });
    expect(await values('temp unless on (room) info')).toEqual({ '{"__name__":"temp","room":"c"}': '25' });
    expect(await values('temp + on () info')).toMatch(/^execution: found duplicate series for the match group/);
    expect(await values('histogram_quantile(0.5, lat_bucket)')).toEqual({ '{}': String(0.1 + 0.4 * (1 / 2)) });
    expect(await values('label_replace(temp{room="a"}, "r", "x-$1", "room", "(.*)")')).toEqual({
      '{"__name__":"temp","r":"x-a","room":"a"}': '21',
    });
    expect(await values('label_join(info{room="a"}, "j", "/", "room", "floor")')).toEqual({
      '{"__name__":"info","floor":"1","j":"a/1","room":"a"}': '1',
    });
    expect(await values('clamp(temp, 20, 22)')).toEqual({
      '{"room":"a"}': '21',
      '{"room":"b"}': '20',
      '{"room":"c"}': '22',
    });
    expect(await values('round(temp / 2)')).toEqual({
      '{"room":"a"}': '11',
      '{"room":"b"}': '10',
      '{"room":"c"}': '13',
    });
    expect(await values('year(vector(1709251200))')).toEqual({ '{}': '2024' });
    expect(await values('days_in_month(vector(1709251200))')).toEqual({ '{}': '31' });
    expect(await values('day_of_week(vector(1709251200))')).toEqual({ '{}': '5' });
    expect(await values('timestamp(temp{room="a"})')).toEqual({ '{"room":"a"}': String((t0 + 60 * S) / 1000) });
    expect(await values('scalar(temp)')).toBe('NaN');
    expect(await values('-1 ^ 2')).toBe('-1');
    expect(await values('rate({__name__=~"req_total|temp"}[1m])')).toEqual({
      '{"job":"api","path":"/a"}': expect.any(String),
      '{"job":"api","path":"/b"}': expect.any(String),
    });
  });

  it('answers a string, and keeps the order of sort_desc', async () => {
    const { query } = await fixture();
    expect((await query('"hello"')).body.data).toEqual({
      resultType: 'string',
      result: [(t0 + 60 * S) / 1000, 'hello'],
    });
    const sorted = (await query('sort_desc(temp)')).body.data!.result as Array<{ metric: { room: string } }>;
    expect(sorted.map((s) => s.metric.room)).toEqual(['c', 'a', 'b']);
  });
});

describe('the bounds of a query', () => {
  it('refuses a query that would hold more samples than the limit, before it keeps them', async () => {
    const { app } = await fixture({ MEETR_MAX_QUERY_SAMPLES: '200' });
    const r = await app.request(
      `/api/v1/query_range?${new URLSearchParams({ query: 'vector(1)', start: String(t0 / 1000), end: String(t0 / 1000 + 1000), step: '1' }).toString()}`,
    );
    expect(r.status).toBe(422);
    expect(await r.json()).toMatchObject({
      status: 'error',
      errorType: 'execution',
      error: 'query processing would load too many samples into memory in query execution',
    });
    const fits = await app.request(
      `/api/v1/query_range?${new URLSearchParams({ query: 'vector(1)', start: String(t0 / 1000), end: String(t0 / 1000 + 100), step: '1' }).toString()}`,
    );
    expect(fits.status).toBe(200);
  });

  it('loads only the windows of a range query whose step is longer than them, and answers as instant queries at each step', async () => {
    const { app } = memoryApp({ MEETR_MAX_QUERY_SAMPLES: '1000' });
    // A counter every 15 s for 12 hours: 2,880 samples, more than the bound.
    const points = Array.from({ length: 2880 }, (_, i) => ({
      metric: 'c_total{job="x"}',
      timestamp: String(t0 + i * 15 * S),
      value: String(i * 3 + (i % 7)),
    }));
    const posted = await app.request('/1.0/metrics', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(points),
    });
    expect(posted.status).toBe(200);
    const ask = async (path: string, params: Record<string, string>) => {
      const r = await app.request(`${path}?${new URLSearchParams(params).toString()}`);
      return { status: r.status, body: (await r.json()) as Answer };
    };
    // Steps on the hour, whose windows end at its first instant, and steps beside it.
    for (const [query, start] of ['rate(c_total[5m])', 'max_over_time(c_total[90s] offset 1m)', 'c_total'].flatMap(
      (q) => [[q, t0 / 1000 + 3600] as const, [q, t0 / 1000 + 1800] as const],
    )) {
      const range = { start: String(start), end: String(start + 11 * 3600), step: '3600' };
      const whole = await ask('/api/v1/query_range', { query: 'max_over_time(c_total[1h])', ...range });
      expect(whole.body.error).toMatch(/^query processing would load too many samples into memory/);
      const answer = await ask('/api/v1/query_range', { query, ...range });
      expect(answer.status, query).toBe(200);
      const [series] = answer.body.data!.result as Array<{ values: Array<[number, string]> }>;
      expect(series!.values, query).toHaveLength(12);
      for (const [t, value] of series!.values) {
        const instant = await ask('/api/v1/query', { query, time: String(t) });
        const [one] = instant.body.data!.result as Array<{ value: [number, string] }>;
        expect(one!.value, `${query} at ${t}`).toEqual([t, value]);
      }
    }
  });

  it('answers a range function of more series than fit at once a few series at a time, as Prometheus holds one series at a time', async () => {
    // 25 series of 20 samples: 500 samples, more than a bound of 450, ten series at a time well within it.
    const points = Array.from({ length: 25 }, (_, i) =>
      Array.from({ length: 20 }, (__, j) => ({
        metric: `g{i="${String(i).padStart(2, '0')}",job="x"}`,
        timestamp: String(t0 + j * 60 * S),
        value: String(i * 100 + ((j * 7) % 13)),
      })),
    ).flat();
    const ask = async (env: Record<string, string>, query: string, extra: typeof points = []) => {
      const { app } = memoryApp(env);
      const body = JSON.stringify([...points, ...extra]);
      const posted = await app.request('/1.0/metrics', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      });
      expect(posted.status).toBe(200);
      const range = { query, start: String(t0 / 1000), end: String(t0 / 1000 + 1200), step: '600' };
      const r = await app.request(`/api/v1/query_range?${new URLSearchParams(range).toString()}`);
      return { status: r.status, body: (await r.json()) as Answer };
    };
    // Windows longer than the step: the whole range is loaded, and does not fit.
    for (const query of ['max_over_time(g[10m])', 'rate(g[20m])', 'last_over_time(g[15m])']) {
      const roomy = await ask({ MEETR_MAX_QUERY_SAMPLES: '100000' }, query);
      const bounded = await ask({ MEETR_MAX_QUERY_SAMPLES: '450' }, query);
      expect(bounded.status, query).toBe(200);
      expect((bounded.body.data as { result: unknown[] }).result, query).toHaveLength(25);
      expect(bounded.body, query).toEqual(roomy.body);
    }
    // Refused while evaluating, not loading, stands: 25 series x 1,201 steps would pass the bound before the output
    // is built, though only 25 x 541 points (to five minutes after the last samples) would be.
    const { app } = memoryApp({ MEETR_MAX_QUERY_SAMPLES: '20000' });
    const body = JSON.stringify(points);
    await app.request('/1.0/metrics', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    const wide = { query: 'g', start: String(t0 / 1000 + 900), end: String(t0 / 1000 + 2100), step: '1' };
    const projected = await app.request(`/api/v1/query_range?${new URLSearchParams(wide).toString()}`);
    expect(projected.status).toBe(422);
    expect(((await projected.json()) as Answer).error).toBe(
      'query processing would load too many samples into memory in query execution',
    );
    // An aggregation needs every series at each step: refused past the bound, as before.
    const sum = await ask({ MEETR_MAX_QUERY_SAMPLES: '450' }, 'sum(max_over_time(g[10m]))');
    expect(sum.body.error).toMatch(/^query processing would load too many samples into memory/);
    // Two series that give the same labels once their names are dropped are refused whichever batches they fall in.
    const twin = points
      .filter((p) => p.metric === 'g{i="07",job="x"}')
      .map((p) => ({ ...p, metric: 'h{i="07",job="x"}' }));
    const twins = await ask({ MEETR_MAX_QUERY_SAMPLES: '450' }, 'max_over_time({job="x"}[10m])', twin);
    expect(twins.body.error).toBe('vector cannot contain metrics with the same labelset');
  });

  it("stops at its timeout with Prometheus' timeout error, answering /health meanwhile", async () => {
    const { app } = await fixture();
    const heavy = app.request(
      `/api/v1/query?${new URLSearchParams({ query: 'count_over_time(vector(1)[3d:1s])', time: String(t0 / 1000), timeout: '300ms' }).toString()}`,
    );
    const started = performance.now();
    const health = await app.request('/health');
    expect(health.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(250);
    const r = await heavy;
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({
      status: 'error',
      errorType: 'timeout',
      error: 'query timed out in expression evaluation',
    });
  });
});

describe('the pieces', () => {
  it('reads what each selector needs, through offsets, @ and nested subqueries', () => {
    const windows = [
      ...selectorWindows(
        parsePromql('rate(a[5m] offset 1m) + max_over_time(b[10m:1m] offset 2m) + c @ 100'),
        1_000_000,
        2_000_000,
      ).values(),
    ];
    expect(windows).toEqual([
      [[1_000_000 - 300_000 - 60_000, 2_000_000 - 60_000]],
      [[1_000_000 - 120_000 - 600_000 - 300_000, 2_000_000 - 120_000]],
      [[100_000 - 300_000, 100_000]],
    ]);
  });

  it('reads only the windows of a range query whose step is longer than them', () => {
    const [hour, start] = [3_600_000, 10 * 3_600_000];
    const windows = (query: string, stepMs: number) => [
      ...selectorWindows(parsePromql(query), start, start + 3 * hour, stepMs).values(),
    ];
    const steps = [0, 1, 2, 3].map((i) => start + i * hour);
    expect(windows('rate(a[5m] offset 1m) + b', hour)).toEqual([
      steps.map((t) => [t - 60_000 - 300_000, t - 60_000]),
      steps.map((t) => [t - 300_000, t]),
    ]);
    // Windows as long as the step or longer join into one span; a subquery's or `@`'s keep theirs.
    expect(windows('max_over_time(a[1h])', hour)).toEqual([[[start - hour, start + 3 * hour]]]);
    expect(windows('rate(a[5m])', 5 * 60_000)).toEqual([[[start - 300_000, start + 3 * hour]]]);
    expect(windows('max_over_time(rate(a[1m])[5m:1m])', hour)).toEqual([[[start - 360_000, start + 3 * hour]]]);
    expect(windows('rate(a[5m] @ 100)', hour)).toEqual([[[100_000 - 300_000, 100_000]]]);
  });

  it('expands replacements as Go does and matches in linear time', () => {
    const regex = compileAnchored('(?P<a>x)(y)?');
    const groups = regex.groups('x')!;
    expect(expandTemplate('$1-${2}-$a-$1x-$$-$', groups, regex.named)).toBe('x--x--$-$');
    expect(compileAnchored('a|b').test('ab')).toBe(false);
    const started = performance.now();
    expect(compileAnchored('(.|.)*X').test('a'.repeat(20_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('computes quantiles of values and of buckets', () => {
    expect(quantile(0.5, [3, 1, 2])).toBe(2);
    expect(quantile(0.25, [1, 2, 3, 4, 5])).toBe(2);
    expect(quantile(2, [1])).toBe(Infinity);
    expect(
      bucketQuantile(0.5, [
        { upperBound: 1, count: 2 },
        { upperBound: Infinity, count: 4 },
      ]),
    ).toBe(1);
    expect(
      bucketQuantile(0.25, [
        { upperBound: 1, count: 2 },
        { upperBound: Infinity, count: 4 },
      ]),
    ).toBe(0.5);
    expect(bucketQuantile(0.5, [{ upperBound: 1, count: 2 }])).toBeNaN();
  });
});
