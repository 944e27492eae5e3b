/** The Prometheus HTTP API and the series catalogue at the HTTP edge, over the in-memory store. */
import { describe, expect, it } from 'vitest';
import { memoryApp } from '../support/memory-app.js';

const t0 = Date.parse('2026-03-01T00:00:00Z');
const S = 1000;

type Answer = { status: string; data: unknown; errorType?: string; error?: string };

async function insert(
  app: ReturnType<typeof memoryApp>['app'],
  points: Array<[string, number, number]>,
): Promise<void> {
  const body = points.map(([metric, ts, value]) => ({ metric, timestamp: String(ts), value: String(value) }));
  const response = await app.request('/1.0/metrics', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
}

async function get(
  app: ReturnType<typeof memoryApp>['app'],
  path: string,
  params: Record<string, string | string[]>,
): Promise<{ status: number; body: Answer }> {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) for (const v of [value].flat()) search.append(name, v);
  const response = await app.request(`${path}?${search.toString()}`);
  return { status: response.status, body: (await response.json()) as Answer };
}

/** The body of a successful answer; fails the test with Prometheus' error otherwise. */
function expectOk(got: { status: number; body: Answer }): Answer {
  expect(got.body.error).toBeUndefined();
  expect(got.status).toBe(200);
  return got.body;
}

/** A counter scraped every 15 s that resets once, two series of a gauge, and a plain Meetr metric. */
async function loaded() {
  const fixture = memoryApp();
  const counter = [0, 10, 20, 5, 15];
  await insert(fixture.app, [
    ...counter.map((v, i): [string, number, number] => ['requests_total{job="api"}', t0 + i * 15 * S, v]),
    ['temp{room="a",site="x"}', t0, 20],
    ['temp{room="b",site="x"}', t0 + 30 * S, 22],
    ['temp{room="c",site="y"}', t0, 30],
    ['cpu.load', t0, 0.5],
  ]);
  return fixture;
}

describe('GET and POST /api/v1/query', () => {
  it('answers the scalar 1+1 that Grafana sends to test a data source, GET and form POST alike', async () => {
    const { app } = memoryApp();
    const got = await get(app, '/api/v1/query', { query: '1+1', time: '1700000000.5' });
    expect(got).toEqual({
      status: 200,
      body: { status: 'success', data: { resultType: 'scalar', result: [1700000000.5, '2'] } },
    });
    const posted = await app.request('/api/v1/query', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'query=1%2B1&time=1700000000',
    });
    expect(await posted.json()).toEqual({
      status: 'success',
      data: { resultType: 'scalar', result: [1700000000, '2'] },
    });
  });

  it('selects the latest sample within the 5-minute lookback, with labels, and none past it', async () => {
    const { app } = await loaded();
    const at = (t: number) => get(app, '/api/v1/query', { query: 'temp{site="x"}', time: String(t / 1000) });
    expect((await at(t0 + 60 * S)).body.data).toEqual({
      resultType: 'vector',
      result: [
        { metric: { __name__: 'temp', room: 'a', site: 'x' }, value: [(t0 + 60 * S) / 1000, '20'] },
        { metric: { __name__: 'temp', room: 'b', site: 'x' }, value: [(t0 + 60 * S) / 1000, '22'] },
      ],
    });
    // room a's sample is exactly 5 minutes old: still seen; a millisecond later it is not.
    expect(((await at(t0 + 300 * S)).body.data as { result: unknown[] }).result).toHaveLength(2);
    expect(((await at(t0 + 300 * S + 1)).body.data as { result: unknown[] }).result).toHaveLength(1);
  });

  it('computes rate and increase over a counter reset, extrapolated as Prometheus does', async () => {
    const { app } = await loaded();
    const value = async (query: string, t: number) =>
      (
        (await get(app, '/api/v1/query', { query, time: String(t / 1000) })).body.data as {
          result: Array<{ metric: object; value: [number, string] }>;
        }
      ).result;
    // Samples 0, 10, 20, 5, 15 every 15 s: 15 - 0 plus the 20 lost at the reset.
    expect(await value('increase(requests_total[1m])', t0 + 60 * S)).toEqual([
      { metric: { job: 'api' }, value: [(t0 + 60 * S) / 1000, '35'] },
    ]);
    expect(Number((await value('rate(requests_total[1m])', t0 + 60 * S))[0]!.value[1])).toBeCloseTo(35 / 60, 12);
    // At +67.5 s the window holds 4 samples (15 s..60 s), 7.5 s from either edge: extrapolated by 7.5 s on each side.
    expect(Number((await value('increase(requests_total[1m])', t0 + 67_500))[0]!.value[1])).toBeCloseTo(
      (15 - 10 + 20) * (60 / 45),
      12,
    );
  });

  it('aggregates by and without labels, and does arithmetic with scalars', async () => {
    const { app } = await loaded();
    const result = async (query: string) =>
      (
        expectOk(await get(app, '/api/v1/query', { query, time: String((t0 + 60 * S) / 1000) })).data as {
          result: Array<{ metric: object; value: [number, string] }>;
        }
      ).result.map((r) => [r.metric, r.value[1]]);
    expect(await result('sum by (site) (temp)')).toEqual([
      [{ site: 'x' }, '42'],
      [{ site: 'y' }, '30'],
    ]);
    expect(await result('avg without (room) (temp)')).toEqual([
      [{ site: 'x' }, '21'],
      [{ site: 'y' }, '30'],
    ]);
    expect(await result('count(temp)')).toEqual([[{}, '3']]);
    expect(await result('max(temp) * 2 - 1')).toEqual([[{}, '59']]);
    expect(await result('-temp{room="a"} / 4')).toEqual([[{ room: 'a', site: 'x' }, '-5']]);
    expect(await result('sum_over_time(temp{room="b"}[1m]) + 1')).toEqual([[{ room: 'b', site: 'x' }, '23']]);
    expect(await result('{__name__="cpu.load"}')).toEqual([[{ __name__: 'cpu.load' }, '0.5']]);
  });

  it('answers a range selector with its raw samples (a matrix)', async () => {
    const { app } = await loaded();
    const got = await get(app, '/api/v1/query', { query: 'requests_total[30s]', time: String((t0 + 60 * S) / 1000) });
    expect(got.body.data).toEqual({
      resultType: 'matrix',
      result: [
        {
          metric: { __name__: 'requests_total', job: 'api' },
          values: [
            [(t0 + 30 * S) / 1000, '20'],
            [(t0 + 45 * S) / 1000, '5'],
            [(t0 + 60 * S) / 1000, '15'],
          ],
        },
      ],
    });
  });

  it('refuses what Prometheus refuses with bad_data and the position, RE2 syntax included, and answers hostile regexes in linear time', async () => {
    const { app } = await loaded();
    for (const [query, fragment] of [
      ['sum(temp', '1:9: parse error'],
      ['{}', 'at least one non-empty matcher'],
      ['temp{a=~"("}', 'error parsing regexp'],
      ['temp{a=~"(?=x)"}', 'invalid or unsupported Perl syntax'],
      ['1 > 2', 'comparisons between scalars must use BOOL modifier'],
      ['rate(temp)', 'expected type range vector in call to function "rate", got instant vector'],
      ['temp and 1', 'set operator "and" not allowed in binary scalar expression'],
      ['sum(temp) offset 5m', 'offset modifier must be preceded by'],
      ['holt_winters(temp[5m], 0.5)', 'expected 3 argument(s)'],
      ['no_such_function(temp)', 'unknown function with name "no_such_function"'],
      [`${'('.repeat(200)}1${')'.repeat(200)}`, 'nests deeper than 128 levels'],
    ]) {
      const got = await get(app, '/api/v1/query', { query: query!, time: '1700000000' });
      expect(got.status, query).toBe(400);
      expect(got.body, query).toMatchObject({ status: 'error', errorType: 'bad_data' });
      expect(got.body.error, query).toContain(fragment);
    }
    for (const pattern of ['(a+)+b', '(.|.)*X', '(a|a)*b', '.*.*.*.*.*X', `(?:x|(\\w*y)*)z`]) {
      const started = performance.now();
      const got = await get(app, '/api/v1/query', { query: `temp{room=~\`${pattern}\`}`, time: '1700000000' });
      expect(got.status, pattern).toBe(200);
      expect(performance.now() - started, pattern).toBeLessThan(1_000);
    }
  });
});

describe('/api/v1/query_range', () => {
  it('evaluates at start, start + step, ... up to end, one series per label set', async () => {
    const { app } = await loaded();
    const got = await get(app, '/api/v1/query_range', {
      query: 'sum by (site) (temp)',
      start: String(t0 / 1000),
      end: String((t0 + 60 * S) / 1000),
      step: '30s',
    });
    const s = (ms: number) => (t0 + ms) / 1000;
    expect(got.body.data).toEqual({
      resultType: 'matrix',
      result: [
        {
          metric: { site: 'x' },
          values: [
            [s(0), '20'],
            [s(30 * S), '42'],
            [s(60 * S), '42'],
          ],
        },
        {
          metric: { site: 'y' },
          values: [
            [s(0), '30'],
            [s(30 * S), '30'],
            [s(60 * S), '30'],
          ],
        },
      ],
    });
  });

  it('writes times, special values and escaped labels as JSON.stringify would', async () => {
    const { app } = memoryApp();
    const text = async (query: string) => {
      const params = { query, start: String(t0 / 1000), end: String(t0 / 1000 + 1), step: '0.5' };
      const response = await app.request(`/api/v1/query_range?${new URLSearchParams(params).toString()}`);
      expect(response.headers.get('Content-Type')).toBe('application/json');
      return response.text();
    };
    const times = [t0 / 1000, t0 / 1000 + 0.5, t0 / 1000 + 1];
    const cases: Array<[string, string]> = [
      ['vector(1) / 0', '+Inf'],
      ['-vector(1) / 0', '-Inf'],
      ['vector(0) / 0', 'NaN'],
      ['vector(1e-7)', '0.0000001'],
      ['vector(123456789012345678901234)', '123456789012345690000000'],
    ];
    for (const [query, value] of cases) {
      const result = [{ metric: {}, values: times.map((t) => [t, value]) }];
      expect(await text(query)).toBe(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } }));
    }
    const labelled = await text('label_replace(vector(2), "b", "q\\"\\\\ ü\\n", "", "")');
    const metric = { b: 'q"\\ ü\n' };
    const result = [{ metric, values: times.map((t) => [t, '2']) }];
    expect(labelled).toBe(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } }));
  });

  it('checks its parameters as Prometheus does', async () => {
    const { app } = memoryApp();
    const cases: Array<[Record<string, string>, string]> = [
      [{ query: '1', start: '10', end: '5', step: '1' }, 'end timestamp must not be before start time'],
      [{ query: '1', start: '0', end: '10', step: '0' }, 'zero or negative query resolution step'],
      [{ query: '1', start: '0', end: '100000', step: '1' }, 'exceeded maximum resolution of 11,000 points'],
      [{ query: '1', start: 'yesterday', end: '10', step: '1' }, 'invalid parameter "start"'],
      [{ query: 'up[5m]', start: '0', end: '10', step: '1' }, 'invalid expression type "range vector" for range query'],
    ];
    for (const [params, fragment] of cases) {
      const got = await get(app, '/api/v1/query_range', params);
      expect(got.status).toBe(400);
      expect(got.body.error).toContain(fragment);
    }
    const rfc = await get(app, '/api/v1/query_range', {
      query: '3',
      start: '2026-03-01T00:00:00Z',
      end: '2026-03-01T00:01:00.000Z',
      step: '1m',
    });
    expect(rfc.body.data).toEqual({
      resultType: 'matrix',
      result: [
        {
          metric: {},
          values: [
            [t0 / 1000, '3'],
            [t0 / 1000 + 60, '3'],
          ],
        },
      ],
    });
  });
});

describe('the catalogue: /api/v1/series, labels, label values and GET /1.0/series', () => {
  it('lists series matching selectors, their label names and values', async () => {
    const { app } = await loaded();
    expect(
      (await get(app, '/api/v1/series', { 'match[]': ['temp{site="x"}', '{__name__="cpu.load"}'] })).body.data,
    ).toEqual([
      { __name__: 'cpu.load' },
      { __name__: 'temp', room: 'a', site: 'x' },
      { __name__: 'temp', room: 'b', site: 'x' },
    ]);
    expect((await get(app, '/api/v1/series', { 'match[]': '{room=~"a|c"}' })).body.data).toHaveLength(2);
    expect((await get(app, '/api/v1/labels', {})).body.data).toEqual(['__name__', 'job', 'room', 'site']);
    expect((await get(app, '/api/v1/labels', { 'match[]': 'requests_total' })).body.data).toEqual(['__name__', 'job']);
    expect((await get(app, '/api/v1/label/__name__/values', {})).body.data).toEqual([
      'cpu.load',
      'requests_total',
      'temp',
    ]);
    expect((await get(app, '/api/v1/label/room/values', { 'match[]': '{site="x"}' })).body.data).toEqual(['a', 'b']);
    // Only series with points on the days asked about.
    expect(
      (await get(app, '/api/v1/series', { 'match[]': 'temp', start: String((t0 + 2 * 86_400_000) / 1000) })).body.data,
    ).toEqual([]);
    expect((await get(app, '/api/v1/series', {})).body).toMatchObject({
      status: 'error',
      errorType: 'bad_data',
      error: 'no match[] parameter provided',
    });
  });

  it('lists label names and values of a catalogue of more series than one selection may match', async () => {
    // Grafana's and the explorer's metric browsers ask for every name and value, whatever the catalogue holds.
    const { app } = memoryApp({ MEETR_MAX_SERIES: '3' });
    await insert(app, [
      ...['a', 'b', 'c', 'd', 'e'].map((host): [string, number, number] => [`load{host="${host}"}`, t0, 1]),
      ['cpu.load', t0, 0.5],
    ]);
    expect(expectOk(await get(app, '/api/v1/label/__name__/values', {})).data).toEqual(['cpu.load', 'load']);
    expect(expectOk(await get(app, '/api/v1/label/host/values', {})).data).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(expectOk(await get(app, '/api/v1/labels', { 'match[]': 'load' })).data).toEqual(['__name__', 'host']);
    // A listing of the series themselves is still bounded.
    const series = await get(app, '/api/v1/series', { 'match[]': 'load' });
    expect(series.status).toBe(422);
    expect(series.body.error).toContain('MEETR_MAX_SERIES');
  });

  it('reports the cardinality of the whole catalogue in one pass, as /api/v1/status/tsdb, past MEETR_MAX_SERIES', async () => {
    const { app } = memoryApp({ MEETR_MAX_SERIES: '3' });
    await insert(app, [
      ...['a', 'b', 'c', 'd', 'e'].map((host): [string, number, number] => [`load{dc="x",host="${host}"}`, t0, 1]),
      ['load{dc="y",host="a"}', t0 + 86_400 * S, 1],
      ['cpu.load', t0, 0.5],
    ]);
    const data = expectOk(await get(app, '/api/v1/status/tsdb', { limit: '2' })).data;
    expect(data).toEqual({
      headStats: {
        numSeries: 7,
        numLabelPairs: 2 + 5 + 2, // __name__: load, cpu.load; host: a-e; dc: x, y
        minTime: t0,
        maxTime: t0 + 2 * 86_400 * S - 1, // the last day with points, to its end
      },
      seriesCountByMetricName: [
        { name: 'load', value: 6 },
        { name: 'cpu.load', value: 1 },
      ],
      labelValueCountByLabelName: [
        { name: 'host', value: 5 },
        { name: '__name__', value: 2 },
      ],
      memoryInBytesByLabelName: [
        { name: '__name__', value: 'load'.length + 'cpu.load'.length },
        { name: 'host', value: 5 },
      ],
      seriesCountByLabelValuePair: [
        { name: '__name__=load', value: 6 },
        { name: 'dc=x', value: 5 },
      ],
    });
    const all = expectOk(await get(app, '/api/v1/status/tsdb', { limit: '10000' })).data as {
      labelValueCountByLabelName: unknown[];
      seriesCountByLabelValuePair: unknown[];
    };
    expect(all.labelValueCountByLabelName).toHaveLength(3);
    expect(all.seriesCountByLabelValuePair).toHaveLength(9);
    for (const limit of ['0', '10001', 'x', '-1', '1.5']) {
      const refused = await get(app, '/api/v1/status/tsdb', { limit });
      expect(refused.status, limit).toBe(400);
      expect(refused.body).toMatchObject({ errorType: 'bad_data', error: expect.stringContaining('limit') });
    }
    const empty = expectOk(await get(memoryApp().app, '/api/v1/status/tsdb', {})).data;
    expect(empty).toMatchObject({ headStats: { numSeries: 0, numLabelPairs: 0 }, seriesCountByMetricName: [] });
  });

  it('pages through every metric id with points, with a cursor', async () => {
    const { app } = await loaded();
    const ids: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const response = await app.request(`/1.0/series?limit=2${after === undefined ? '' : `&after=${after}`}`);
      const body = (await response.json()) as {
        series: Array<{ metric: string; labels: object }>;
        next: string | null;
      };
      ids.push(...body.series.map((s) => s.metric));
      if (body.next === null) break;
      after = body.next;
    }
    expect(ids.sort()).toEqual([
      'cpu.load',
      'requests_total{job="api"}',
      'temp{room="a",site="x"}',
      'temp{room="b",site="x"}',
      'temp{room="c",site="y"}',
    ]);
    expect((await app.request('/1.0/series?after=nonsense')).status).toBe(400);
    expect((await app.request('/1.0/series?limit=0')).status).toBe(400);
  });

  it('answers metadata, exemplars and buildinfo in Prometheus shapes', async () => {
    const { app } = memoryApp();
    expect((await get(app, '/api/v1/metadata', {})).body).toEqual({ status: 'success', data: {} });
    expect((await get(app, '/api/v1/status/buildinfo', {})).body).toMatchObject({
      status: 'success',
      data: { version: '2.42.0' },
    });
    expect((await get(app, '/api/v1/nothing', {})).body).toMatchObject({ status: 'error', errorType: 'not_found' });
  });
});
