/**
 * Properties over the whole API on real Cassandra: no client input produces a 500;
 * aggregates over random points equal a reference computed here; a point written
 * with any accepted timestamp form is found by a search in any other form.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { composeApp, type MeetrApp } from '../../src/compose.js';
import { cassandraStorage } from '../../src/storage/cassandra/point-store.js';
import { CLIENT_STATUSES, clientFields } from '../support/client-inputs.js';
import { useFreshKeyspace } from '../support/keyspace.js';

const ks = useFreshKeyspace({ MEETR_DEFAULT_TZ: 'America/New_York', MEETR_MAX_BATCH: '500' });
let app: MeetrApp;
let unexpected: unknown[] = [];
beforeAll(() => {
  app = composeApp({ config: ks.config, storage: cassandraStorage(ks.client, ks.keyspace), workerId: 'prop', logError: (_, error) => unexpected.push(error) });
});

describe('no client input gets a 500', () => {
  const fields = clientFields;

  it('for form bodies, JSON bodies and query strings', async () => {
    unexpected = [];
    await fc.assert(
      fc.asyncProperty(fields, fc.constantFrom('form', 'json', 'raw', 'query'), fc.string(), async (record, shape, raw) => {
        let response: Response;
        if (shape === 'form') {
          response = await app.request('/1.0/metrics', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(record).toString() });
        } else if (shape === 'json') {
          response = await app.request('/1.0/metrics', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(record) });
        } else if (shape === 'raw') {
          response = await app.request('/1.0/metrics', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: raw });
        } else {
          response = await app.request(`/1.0/metrics?${new URLSearchParams(record).toString()}`);
        }
        expect(CLIENT_STATUSES).toContain(response.status);
        const body = (await response.json()) as Record<string, unknown>;
        if (response.status !== 200) expect(typeof body.error).toBe('string');
      }),
      { numRuns: 300 },
    );
    expect(unexpected).toEqual([]);
  });
});

describe('aggregates over random points equal a reference', () => {
  const dayMs = 86_400_000;
  const base = Date.parse('2024-03-09T00:00:00Z'); // spans the US spring-forward of 2024-03-10
  const point = fc.record({
    offset: fc.integer({ min: 0, max: 3 * dayMs - 1 }),
    value: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })),
  });

  it('for every aggregation over random sub-ranges spanning several day partitions', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(point, { minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: 3 * dayMs }), fc.integer({ min: 0, max: 3 * dayMs }), async (points, a, b) => {
        const metricId = `ref-${run++}`;
        // Last write wins for duplicate timestamps, as in storage.
        const byTs = new Map<number, number>();
        for (const p of points) byTs.set(base + p.offset, p.value);
        const body = points.map((p) => ({ metric_id: metricId, ts: base + p.offset, value: p.value }));
        const posted = await app.request('/1.0/metrics', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
        expect(posted.status).toBe(200);

        const [from, to] = [base + Math.min(a, b), base + Math.max(a, b)];
        const inRange = [...byTs].filter(([ts]) => ts >= from && ts <= to).map(([, v]) => v);
        const sum = inRange.reduce((s, v) => s + v, 0);
        const expected = {
          sum: inRange.length ? sum : null,
          avg: inRange.length ? sum / inRange.length : null,
          min: inRange.length ? Math.min(...inRange) : null,
          max: inRange.length ? Math.max(...inRange) : null,
          count: inRange.length ? inRange.length : null,
        };
        for (const aggregation of ['sum', 'avg', 'min', 'max', 'count'] as const) {
          const response = await app.request(`/1.0/metrics?metric=${metricId}&from=${from}&to=${to}&aggregation=${aggregation}`);
          expect(response.status).toBe(200);
          const answer = (await response.json()) as { value: number | null; count: number };
          expect(answer.count).toBe(inRange.length);
          if (expected[aggregation] === null) expect(answer.value).toBeNull();
          else expect(answer.value).toBeCloseTo(expected[aggregation], 4);
        }
      }),
      { numRuns: 25 },
    );
  });
});

describe('a point written in one timestamp form is found in every other', () => {
  /** Every accepted spelling of `ms` (at whole seconds for the naive forms in America/New_York). */
  const newYork = new Intl.DateTimeFormat('sv-SE', {
    timeZone: 'America/New_York',
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
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
          const posted = await app.request('/1.0/metrics', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ metric_id: metricId, ts: written, value: '1' }).toString() });
          expect(posted.status, written).toBe(200);
          const response = await app.request(`/1.0/metrics?${new URLSearchParams({ metric: metricId, from: read, to: read, aggregation: 'count' }).toString()}`);
          expect(await response.json(), `${written} -> ${read}`).toMatchObject({ count: 1 });
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('series over random points equal a reference', () => {
  const dayMs = 86_400_000;
  const base = Date.parse('2024-03-08T00:00:00Z'); // spans the US spring-forward of 2024-03-10
  const span = 4 * dayMs;
  const minutes = fc.integer({ min: 1, max: span / 60_000 - 1 });
  const point = fc.record({
    // Often on a minute, or just before one: where buckets start and end.
    offset: fc.oneof(fc.integer({ min: 0, max: span - 1 }), minutes.map((m) => m * 60_000), minutes.map((m) => m * 60_000 - 1)),
    value: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })),
  });
  type Answer = { value: number | null; count: number; series: Array<{ ts: number; value: number | null; count: number }> };

  /** The aggregate of `values` (in time order) as the contract defines it. */
  function reference(values: number[], aggregation: string): number | null {
    if (values.length === 0) return null;
    const sum = values.reduce((s, v) => s + v, 0);
    const byName: Record<string, number> = { sum, avg: sum / values.length, min: Math.min(...values), max: Math.max(...values), count: values.length, first: values[0]!, last: values[values.length - 1]! };
    return byName[aggregation]!;
  }

  it('for every aggregation, interval and zone, asked twice (the second time from cached day summaries where they apply)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(point, { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 0, max: span }),
        fc.integer({ min: 0, max: span }),
        fc.constantFrom('7m', '15m', '1h', '6h', '1d', '1w', '1M'),
        fc.constantFrom('UTC', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu'),
        fc.constantFrom('sum', 'avg', 'min', 'max', 'count', 'first', 'last'),
        async (points, a, b, interval, tz, aggregation) => {
          const metricId = `series-${run++}`;
          const byTs = new Map<number, number>();
          for (const p of points) byTs.set(base + p.offset, p.value); // the last write of a timestamp wins
          const posted = await app.request('/1.0/metrics', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(points.map((p) => ({ metric_id: metricId, ts: base + p.offset, value: p.value }))) });
          expect(posted.status).toBe(200);

          const [from, to] = [base + Math.min(a, b), base + Math.max(a, b)];
          const inRange = [...byTs].filter(([ts]) => ts >= from && ts <= to).sort(([x], [y]) => x - y);
          for (const attempt of [1, 2]) {
            const response = await app.request(`/1.0/metrics?${new URLSearchParams({ metric: metricId, from: String(from), to: String(to), aggregation, interval, tz }).toString()}`);
            expect(response.status, `attempt ${attempt}`).toBe(200);
            const answer = (await response.json()) as Answer;
            const starts = answer.series.map((bucket) => bucket.ts);
            expect(starts[0]).toBeLessThanOrEqual(from);
            expect(starts.every((ts, i) => i === 0 || ts > starts[i - 1]!)).toBe(true);
            expect(starts[starts.length - 1]).toBeLessThanOrEqual(to);
            const expectedCount = inRange.length;
            expect(answer.count).toBe(expectedCount);
            const overall = reference(inRange.map(([, v]) => v), aggregation);
            if (overall === null) expect(answer.value).toBeNull();
            else expect(answer.value).toBeCloseTo(overall, 4);
            answer.series.forEach((bucket, i) => {
              const end = starts[i + 1] ?? Infinity;
              const values = inRange.filter(([ts]) => ts >= bucket.ts && ts < end).map(([, v]) => v);
              expect(bucket.count, `bucket ${i}`).toBe(values.length);
              const expected = reference(values, aggregation);
              if (expected === null) expect(bucket.value).toBeNull();
              else expect(bucket.value, `bucket ${i}`).toBeCloseTo(expected, 4);
            });
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
