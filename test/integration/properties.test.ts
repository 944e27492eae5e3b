/**
 * Properties over the whole API on real Cassandra: no client input produces a 500;
 * answers (single numbers and series, in any zone, PromQL's raw samples, read from
 * sealed chunks once rolled, and min, max and count over time on hours, from
 * rollups once rolled) equal a scan of the raw points to the last bit,
 * just written, once rolled up and after late writes, with a roller running all
 * the while; a point written with any accepted timestamp form
 * is found by a search in any other form.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingLog } from '../support/recording-log.js';
import { composeApp, type MeetrApp } from '../../src/compose.js';
import { maxHoldMs } from '../../src/write-holds.js';
import { finalize, PointFold, type Aggregation } from '../../src/domain/aggregate.js';
import { clockMarginMs, lastPossibleSlot, SHARDS } from '../../src/rollup/roll-queue.js';
import { Roller } from '../../src/roller/roller.js';
import { CassandraPointStore } from '../../src/storage/cassandra/point-store.js';
import { CLIENT_STATUSES, clientFields } from '../support/client-inputs.js';
import { useFreshKeyspace } from '../support/keyspace.js';
import { TEST_CLOCK_MARGIN_MS } from '../support/services.js';
import { cassandraStorage } from '../../src/storage/cassandra/storage.js';

// Short request and storage timeouts: writes' holds end, and the roller rolls them, within about 25 s.
const ks = useFreshKeyspace({
  MEETR_DEFAULT_TZ: 'America/New_York',
  MEETR_MAX_BATCH: '500',
  MEETR_REQUEST_TIMEOUT_MS: '3000',
  MEETR_STORAGE_TIMEOUT_MS: '1500',
});
let app: MeetrApp;
let unexpected: unknown[] = [];
let store: CassandraPointStore;
let rolling: { stop: boolean; done: Promise<void> };
beforeAll(() => {
  app = composeApp({
    config: ks.config,
    storage: cassandraStorage(ks.client, ks.keyspace),
    workerId: 'prop',
    log: { ...recordingLog(), error: (_, fields) => void unexpected.push(fields?.error) },
  });
  // A roller at work the whole time, as in production: whatever it rolls while searches run, they stay exact.
  store = new CassandraPointStore(ks.client, ks.keyspace);
  const roller = new Roller({ store, owner: 'prop-roller', concurrency: 8, clockMarginMs: TEST_CLOCK_MARGIN_MS });
  rolling = { stop: false, done: Promise.resolve() };
  rolling.done = (async () => {
    while (!rolling.stop) {
      await roller.balance();
      if ((await roller.rollDue(() => rolling.stop)) === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
});
afterAll(async () => {
  rolling.stop = true;
  await rolling.done;
});

/** Waits until the roller has rolled every slot a write made so far can have queued in. */
async function rolledUp(): Promise<void> {
  const target = lastPossibleSlot(Date.now(), maxHoldMs(ks.config), clockMarginMs(ks.config.maxClockSkewMs));
  for (;;) {
    const states = await Promise.all(Array.from({ length: SHARDS }, (_, shard) => store.readShard(shard)));
    if (states.every((state) => state.nextSlot > target)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('no client input gets a 500', () => {
  const fields = clientFields;

  it('for form bodies, JSON bodies and query strings', async () => {
    unexpected = [];
    await fc.assert(
      fc.asyncProperty(
        fields,
        fc.constantFrom('form', 'json', 'raw', 'query'),
        fc.string(),
        async (record, shape, raw) => {
          let response: Response;
          if (shape === 'form') {
            response = await app.request('/1.0/metrics', {
              method: 'POST',
              headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams(record).toString(),
            });
          } else if (shape === 'json') {
            response = await app.request('/1.0/metrics', {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify(record),
            });
          } else if (shape === 'raw') {
            response = await app.request('/1.0/metrics', {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: raw,
            });
          } else {
            response = await app.request(`/1.0/metrics?${new URLSearchParams(record).toString()}`);
          }
          expect(CLIENT_STATUSES).toContain(response.status);
          const body = (await response.json()) as Record<string, unknown>;
          if (response.status !== 200) expect(typeof body.error).toBe('string');
        },
      ),
      { numRuns: 300 },
    );
    expect(unexpected).toEqual([]);
  });
});

describe('a point written in one timestamp form is found in every other', () => {
  /** Every accepted spelling of `ms` (at whole seconds for the naive forms in America/New_York). */
  const newYork = new Intl.DateTimeFormat('sv-SE', {
    timeZone: 'America/New_York',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  /** A wall-clock time repeated at a fall-back names two instants: its naive form is ambiguous. */
  const ambiguousInNewYork = (ms: number): boolean =>
    [ms - 3_600_000, ms + 3_600_000].some((other) => newYork.format(other) === newYork.format(ms));

  function spellings(ms: number): string[] {
    const iso = new Date(ms).toISOString();
    const wall = newYork.format(ms);
    const kolkata = new Date(ms + 330 * 60_000).toISOString().slice(0, 23);
    return [
      iso,
      iso.replace('T', ' ').replace('Z', '+00:00'),
      `${kolkata}+0530`,
      `${kolkata.replace('T', ' ')} 0530`,
      `${wall}.${iso.slice(20, 23)}`,
      String(ms),
      `${Math.floor(ms / 1000)}.${iso.slice(20, 23)}`,
    ];
  }

  it('the ambiguity check finds the repeated hour', () => {
    expect(ambiguousInNewYork(Date.parse('2021-11-07T05:30:00Z'))).toBe(true);
    expect(ambiguousInNewYork(Date.parse('2021-11-07T06:30:00Z'))).toBe(true);
    expect(ambiguousInNewYork(Date.parse('2021-11-07T12:00:00Z'))).toBe(false);
  });

  it('writes with one form and searches [t, t] with another', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: Date.parse('2001-09-09T02:00:00Z'), max: Date.now() }), // later points are refused (MEETR_MAX_FUTURE_MS)
        fc.nat(6),
        fc.nat(6),
        async (ms, writeForm, readForm) => {
          const forms = spellings(ms);
          if (ambiguousInNewYork(ms)) forms[4] = forms[0]!;
          const metricId = `form-${run++}`;
          const written = forms[writeForm]!;
          const read = forms[readForm]!;
          const posted = await app.request('/1.0/metrics', {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ metric_id: metricId, ts: written, value: '1' }).toString(),
          });
          expect(posted.status, written).toBe(200);
          const response = await app.request(
            `/1.0/metrics?${new URLSearchParams({ metric: metricId, from: read, to: read, aggregation: 'count' }).toString()}`,
          );
          expect(await response.json(), `${written} -> ${read}`).toMatchObject({ count: 1 });
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('answers equal a scan of the raw points, with a roller running meanwhile', () => {
  const dayMs = 86_400_000;
  const base = Date.parse('2024-03-08T00:00:00Z'); // spans the US spring-forward of 2024-03-10
  const span = 4 * dayMs;
  const minutes = fc.integer({ min: 1, max: span / 60_000 - 1 });
  const value = fc.oneof(
    fc.integer({ min: -1000, max: 1000 }),
    fc.double({ min: -1e6, max: 1e6, noNaN: true }),
    fc.constantFrom(0.1, 0.2, 1e15, -1e15),
  );
  const point = fc.record({
    // Often on a minute, or just before one: where buckets and rollups start and end.
    offset: fc.oneof(
      fc.integer({ min: 0, max: span - 1 }),
      minutes.map((m) => m * 60_000),
      minutes.map((m) => m * 60_000 - 1),
    ),
    value,
  });
  type Answer = {
    value: number | null;
    count: number;
    series?: Array<{ ts: number; value: number | null; count: number }>;
  };
  interface Case {
    readonly metricId: string;
    readonly params: Record<string, string>;
    readonly from: number;
    readonly to: number;
  }
  const stored = new Map<string, Map<number, number>>();
  const cases: Case[] = [];

  /** What a scan of the stored points of the case's metric answers, bucket by bucket where the answer has buckets. */
  function expected(c: Case, starts: readonly number[] | undefined): Answer {
    const inRange = [...(stored.get(c.metricId) ?? [])]
      .filter(([ts]) => ts >= c.from && ts <= c.to)
      .sort(([x], [y]) => x - y);
    const answer = (points: Array<[number, number]>) => {
      const fold = new PointFold();
      for (const [ts, v] of points) fold.add(ts, v);
      return { value: finalize(fold.partial, c.params.aggregation as Aggregation), count: points.length };
    };
    const total = answer(inRange);
    if (starts === undefined) return total;
    return {
      ...total,
      series: starts.map((ts, i) => ({
        ts,
        ...answer(inRange.filter(([t]) => t >= ts && t < (starts[i + 1] ?? Infinity))),
      })),
    };
  }

  async function post(metricId: string, points: ReadonlyArray<{ offset: number; value: number }>): Promise<void> {
    const body = JSON.stringify(points.map((p) => ({ metric_id: metricId, ts: base + p.offset, value: p.value })));
    const posted = await app.request('/1.0/metrics', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    expect(posted.status).toBe(200);
    const byTs = stored.get(metricId) ?? new Map<number, number>();
    // What the body carries, not what was generated: JSON spells -0 as 0. The last write of a timestamp wins.
    for (const sent of JSON.parse(body) as Array<{ ts: number; value: number }>) byTs.set(sent.ts, sent.value);
    stored.set(metricId, byTs);
  }

  async function check(c: Case, when: string): Promise<void> {
    const response = await app.request(`/1.0/metrics?${new URLSearchParams(c.params).toString()}`);
    expect(response.status, when).toBe(200);
    const answer = (await response.json()) as Answer;
    const starts = answer.series?.map((bucket) => bucket.ts);
    // The answer crossed JSON too, which has no -0: the scan's answer is compared as JSON would carry it.
    const want = JSON.parse(JSON.stringify(expected(c, starts))) as Answer;
    expect(
      {
        value: answer.value,
        count: answer.count,
        series: answer.series?.map(({ ts, value, count }) => ({ ts, value, count })),
      },
      `${when}: ${JSON.stringify(c.params)}`,
    ).toEqual({ ...want, series: want.series });
    if (starts !== undefined) {
      expect(starts[0]).toBeLessThanOrEqual(c.from);
      expect(starts[starts.length - 1]).toBeLessThanOrEqual(c.to);
    }
    await checkSamples(c, when);
    await checkOverTime(c, when);
  }

  /** PromQL's raw samples of the case's range, which sealed hours answer from their chunks once rolled. */
  async function checkSamples(c: Case, when: string): Promise<void> {
    // A range holds both ends, as in Prometheus 2: [to - rangeMs, to].
    const rangeMs = c.to - c.from + 1;
    const params = new URLSearchParams({
      query: `{__name__="${c.metricId}"}[${rangeMs}ms]`,
      time: (c.to / 1000).toFixed(3),
    });
    const response = await app.request(`/api/v1/query?${params.toString()}`);
    expect(response.status, when).toBe(200);
    const { data } = (await response.json()) as { data: { result: Array<{ values: Array<[number, string]> }> } };
    const samples = (data.result[0]?.values ?? []).map(([t, v]) => [Math.round(t * 1000), Number(v)]);
    const want = [...(stored.get(c.metricId) ?? [])]
      .filter(([ts]) => ts >= c.to - rangeMs && ts <= c.to)
      .sort(([x], [y]) => x - y);
    expect(samples, `${when}, PromQL samples: ${JSON.stringify(c.params)}`).toEqual(want);
  }

  /** min, max and count over time on hours over the case's range, which plain sealed hours answer from rollups once rolled. */
  async function checkOverTime(c: Case, when: string): Promise<void> {
    const hour = 3_600_000;
    const step = c.to - c.from > dayMs ? 4 * hour : hour;
    const start = Math.floor(c.from / hour) * hour;
    const end = start + Math.floor((c.to - start) / step) * step;
    const points = [...(stored.get(c.metricId) ?? [])];
    for (const func of ['min_over_time', 'max_over_time', 'count_over_time'] as const) {
      const params = new URLSearchParams({
        query: `${func}({__name__="${c.metricId}"}[${step / 1000}s])`,
        start: String(start / 1000),
        end: String(end / 1000),
        step: String(step / 1000),
      });
      const response = await app.request(`/api/v1/query_range?${params.toString()}`);
      expect(response.status, when).toBe(200);
      const { data } = (await response.json()) as { data: { result: Array<{ values: Array<[number, string]> }> } };
      const got = (data.result[0]?.values ?? []).map(([t, v]) => [Math.round(t * 1000), Number(v)]);
      const want: number[][] = [];
      for (let t = start; t <= end; t += step) {
        const values = points.filter(([ts]) => ts >= t - step && ts <= t).map(([, v]) => v);
        if (values.length === 0) continue;
        const value =
          func === 'count_over_time' ? values.length : (func === 'min_over_time' ? Math.min : Math.max)(...values);
        want.push([t, value]);
      }
      expect(got, `${when}, ${func}: ${JSON.stringify(c.params)}`).toEqual(want);
    }
  }

  it('just written, once rolled, after late writes and upserts, and once those are rolled, for every aggregation, interval and zone', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(point, { minLength: 1, maxLength: 80 }),
        // Sometimes a dense quarter (1,000 points): its minutes get rows of their own (rollup/levels.ts MINUTE).
        fc.option(fc.integer({ min: 0, max: span / 900_000 - 1 }), { nil: undefined }),
        fc.integer({ min: 0, max: span }),
        fc.integer({ min: 0, max: span }),
        fc.constantFrom(undefined, '1m', '7m', '15m', '1h', '6h', '1d', '1w', '1M'),
        fc.constantFrom('UTC', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu'),
        fc.constantFrom('sum', 'avg', 'min', 'max', 'count', 'first', 'last'),
        async (points, denseQuarter, a, b, interval, tz, aggregation) => {
          const metricId = `ref-${run++}`;
          const burst = Array.from({ length: denseQuarter === undefined ? 0 : 1_000 }, (_, i) => ({
            offset: denseQuarter! * 900_000 + i * 900 + (i % 7),
            value: (i % 13) - 6.5,
          }));
          await post(metricId, points);
          for (let i = 0; i < burst.length; i += 400) await post(metricId, burst.slice(i, i + 400)); // MEETR_MAX_BATCH
          const [from, to] = [base + Math.min(a, b), base + Math.max(a, b)];
          const params: Record<string, string> = {
            metric: metricId,
            from: String(from),
            to: String(to),
            aggregation,
            tz,
            ...(interval === undefined ? {} : { interval }),
          };
          const c: Case = { metricId, params, from, to };
          cases.push(c);
          await check(c, 'just written');
        },
      ),
      { numRuns: 40 },
    );
    await rolledUp();
    // Every hour written is over: the roller sealed them, and PromQL's samples come from chunks from here on.
    const sealed = await ks.client.execute(`SELECT COUNT(*) AS n FROM ${ks.keyspace}.chunks`);
    expect(Number(sealed.first().get('n'))).toBeGreaterThan(0);
    // Hours of finite points are sealed plain: min, max and count over time answer from their rollups.
    const marks = await ks.client.execute(`SELECT plain FROM ${ks.keyspace}.chunks`);
    expect(marks.rows.filter((row) => row.get('plain') === true).length).toBe(marks.rowLength);
    for (const c of cases) await check(c, 'rolled');
    // Late writes: new points and upserts of stored timestamps, into ranges already rolled.
    const late = fc.sample(fc.array(point, { minLength: 1, maxLength: 20 }), cases.length);
    for (const [i, c] of cases.entries()) {
      const upserts = [...(stored.get(c.metricId) ?? [])]
        .slice(0, 3)
        .map(([ts]) => ({ offset: ts - base, value: i + 0.5 }));
      await post(c.metricId, [...late[i]!, ...upserts]);
      await check(c, 'late writes, not rolled yet');
    }
    await rolledUp();
    for (const c of cases) await check(c, 'late writes, rolled');
  }, 150_000); // two waits for the roller, each a write's hold (about 21 s here) and the clock margin past the last write
});
