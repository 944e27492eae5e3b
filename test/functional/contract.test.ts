/**
 * The contract end to end: a client talking HTTP to HAProxy, which spreads the
 * requests over the pm2 workers, which store in Cassandra. The stack runs with
 * MEETR_DEFAULT_TZ=Asia/Kolkata, as the original Meetr deployment did.
 */
import { describe, expect, inject, it } from 'vitest';
import { baseUrl, call, postForm, postJson, rawGet, search } from '../support/http.js';

const stack = inject('stack');

describe('the original Meetr functional test, through HAProxy', () => {
  it('stores a form batch with naive timestamps and sums it with offsets', async () => {
    const metrics = JSON.stringify(
      [18, 19, 20, 21].map((second) => ({
        metric: 'meetr.original',
        timestamp: `2003-12-18 12:18:${second}`,
        value: 1,
      })),
    );
    const inserted = await postForm({ batch: 'True', metrics });
    expect(inserted.status).toBe(200);
    expect(inserted.body).toEqual({ inserted: 4 });

    // Exactly as an unencoding client sends it: spaces as %20 and a raw '+'.
    const raw = await call(
      '/1.0/metrics?metric=meetr.original&from=2003-12-18%2012:18:18+0530&to=2003-12-18%2012:18:21+0530&aggregation=sum',
    );
    expect(raw.status).toBe(200);
    expect(raw.body).toMatchObject({ metric_id: 'meetr.original', aggregation: 'sum', value: 4, count: 4 });

    const encoded = await search({
      metric: 'meetr.original',
      from: '2003-12-18 12:18:18+0530',
      to: '2003-12-18 12:18:21+0530',
      aggregation: 'sum',
    });
    expect(encoded.body).toEqual({
      metric_id: 'meetr.original',
      from: '2003-12-18 12:18:18+0530',
      to: '2003-12-18 12:18:21+0530',
      aggregation: 'sum',
      value: 4,
      count: 4,
    });
  });
});

describe('inserts', () => {
  it('takes single points, JSON bodies and multipart forms', async () => {
    expect((await postForm({ metric_id: 'fn.insert', ts: '2024-06-01 10:00:00', value: '1' })).body).toEqual({
      inserted: 1,
    });
    expect((await postForm({ metric: 'fn.insert', timestamp: '2024-06-01T10:00:01+05:30', value: '2' })).body).toEqual({
      inserted: 1,
    });
    expect((await postJson([{ metric_id: 'fn.insert', ts: 1717216202, value: 3 }])).body).toEqual({ inserted: 1 }); // 10:00:02 IST
    const multipart = new FormData();
    multipart.set('metric_id', 'fn.insert');
    multipart.set('ts', '1717216203000');
    multipart.set('value', '4');
    expect((await call('/1.0/metrics', { method: 'POST', body: multipart })).body).toEqual({ inserted: 1 });
    const answer = await search({
      metric: 'fn.insert',
      from: '2024-06-01 10:00:00',
      to: '2024-06-01 10:00:03',
      aggregation: 'avg',
    });
    expect(answer.body).toMatchObject({ value: 2.5, count: 4 });
  });

  it('rejects an invalid batch whole, naming index and field', async () => {
    const answer = await postJson({
      metrics: [
        { metric_id: 'fn.atomic', ts: '2024-06-01 10:00:00', value: 1 },
        { metric_id: 'fn.atomic', ts: '2024-06-31 10:00:00', value: 1 },
        { metric_id: '', ts: '2024-06-01 10:00:00', value: 'x' },
      ],
    });
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toMatch(/application\/json/);
    expect(answer.body?.details).toEqual([
      expect.objectContaining({ index: 1, field: 'ts' }),
      expect.objectContaining({ index: 2, field: 'metric_id' }),
      expect.objectContaining({ index: 2, field: 'value' }),
    ]);
    expect(
      (await search({ metric: 'fn.atomic', from: '2024-01-01', to: '2025-01-01', aggregation: 'count' })).body,
    ).toMatchObject({ count: 0 });
  });

  it('answers 413 in the JSON envelope for a body over the limit (HAProxy) and a batch over the limit (worker)', async () => {
    const tooBig = await call('/1.0/metrics', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `metric_id=fn.big&ts=1&value=1&pad=${'x'.repeat(4 * 1024 * 1024)}`,
    });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body).toMatchObject({ error: 'payload_too_large' });

    const tooMany = await postJson(
      Array.from({ length: 20_001 }, (_, i) => ({ metric_id: 'fn.many', ts: 1_700_000_000 + i, value: 1 })),
    );
    expect(tooMany.status).toBe(413);
    expect(tooMany.body).toMatchObject({ error: 'payload_too_large', message: expect.stringMatching(/at most 20000/) });
  });

  it('is idempotent: the same point twice is one point, with the last value', async () => {
    await postForm({ metric_id: 'fn.idem', ts: '2024-06-02 00:00:00', value: '1' });
    await postForm({ metric_id: 'fn.idem', ts: '2024-06-02 00:00:00', value: '9' });
    expect(
      (await search({ metric: 'fn.idem', from: '2024-06-01', to: '2024-06-03', aggregation: 'sum' })).body,
    ).toMatchObject({ value: 9, count: 1 });
  });
});

describe('searches', () => {
  it('aggregates across day partitions with every aggregation', async () => {
    const points = [
      { metric_id: 'fn.days', ts: '2024-02-28 23:59:59', value: 2 },
      { metric_id: 'fn.days', ts: '2024-02-29 00:00:00', value: 4 },
      { metric_id: 'fn.days', ts: '2024-02-29 12:00:00', value: 6 },
      { metric_id: 'fn.days', ts: '2024-03-01 05:30:00', value: 8 }, // midnight UTC
    ];
    expect((await postJson(points)).status).toBe(200);
    const expected = { sum: 20, avg: 5, min: 2, max: 8, count: 4 };
    for (const [aggregation, value] of Object.entries(expected)) {
      const answer = await search({
        metric: 'fn.days',
        from: '2024-02-28 00:00:00',
        to: '2024-03-01 05:30:00',
        aggregation,
      });
      expect(answer.body, aggregation).toMatchObject({ aggregation, value, count: 4 });
    }
  });

  it('answers an empty range with null, and bad parameters with 400', async () => {
    expect(
      (await search({ metric: 'fn.none', from: '2024-01-01', to: '2024-01-02', aggregation: 'max' })).body,
    ).toMatchObject({ value: null, count: 0 });
    const bad = await search({ metric: 'fn.days', from: '2024-01-02', to: '2024-01-01', aggregation: 'mode' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'invalid_request' });
    expect(bad.body?.details?.map((d: { field: string }) => d.field)).toEqual(['aggregation', 'from']);
  });

  it('answers series: buckets on the local clock, across a DST change, with first and last', async () => {
    const points = [
      { metric_id: 'fn.series', ts: '2024-03-09T12:00:00-05:00', value: 1 },
      { metric_id: 'fn.series', ts: '2024-03-10T01:30:00-05:00', value: 2 },
      { metric_id: 'fn.series', ts: '2024-03-10T03:30:00-04:00', value: 3 }, // an hour later: the clocks sprang forward
      { metric_id: 'fn.series', ts: '2024-03-11T00:00:00-04:00', value: 4 },
    ];
    expect((await postJson(points)).status).toBe(200);
    const daily = await search({
      metric: 'fn.series',
      from: '2024-03-09',
      to: '2024-03-11 23:59:59',
      aggregation: 'sum',
      interval: '1d',
      tz: 'America/New_York',
    });
    expect(daily.status).toBe(200);
    expect(daily.body).toMatchObject({ value: 10, count: 4, interval: '1d', tz: 'America/New_York' });
    expect(daily.body?.series).toEqual([
      { start: '2024-03-09T00:00:00-05:00', ts: Date.parse('2024-03-09T05:00:00Z'), value: 1, count: 1 },
      { start: '2024-03-10T00:00:00-05:00', ts: Date.parse('2024-03-10T05:00:00Z'), value: 5, count: 2 }, // 23 hours
      { start: '2024-03-11T00:00:00-04:00', ts: Date.parse('2024-03-11T04:00:00Z'), value: 4, count: 1 },
    ]);
    const hourly = await search({
      metric: 'fn.series',
      from: '2024-03-10T01:00:00-05:00',
      to: '2024-03-10T03:59:59-04:00',
      aggregation: 'last',
      interval: '1h',
      tz: 'America/New_York',
    });
    expect(hourly.body?.series?.map(({ start, value }) => [start, value])).toEqual([
      ['2024-03-10T01:00:00-05:00', 2],
      ['2024-03-10T03:00:00-04:00', 3],
    ]);
    const kolkata = await search({
      metric: 'fn.series',
      from: '2024-03-10T06:00:00Z',
      to: '2024-03-10T08:00:00Z',
      aggregation: 'first',
      interval: '1h',
      tz: 'Asia/Kolkata',
    });
    expect(kolkata.body?.series?.map(({ start }) => start)).toEqual([
      '2024-03-10T11:00:00+05:30',
      '2024-03-10T12:00:00+05:30',
      '2024-03-10T13:00:00+05:30',
    ]);
    expect(kolkata.body?.series?.map(({ value, count }) => [value, count])).toEqual([
      [null, 0],
      [2, 1],
      [3, 1],
    ]); // 06:30Z is 12:00 there, 07:30Z 13:00
    const tooMany = await search({
      metric: 'fn.series',
      from: '0001-01-01',
      to: '9999-12-31',
      aggregation: 'sum',
      interval: '1m',
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body?.details?.[0]).toMatchObject({ field: 'interval' });
  });

  it('answers unknown paths 404 and other methods 405', async () => {
    expect((await call('/2.0/metrics')).status).toBe(404);
    const wrong = await call('/1.0/metrics', { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.body).toMatchObject({ error: 'method_not_allowed' });
  });
});

describe('topology', () => {
  it('spreads requests over every worker (X-Meetr-Worker)', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add((await call('/health')).headers.get('x-meetr-worker') ?? 'none');
    expect([...seen].sort()).toEqual(stack.workerPorts.map(String).sort());
  });

  it('serves each worker its own Prometheus metrics on a loopback listener of its own, never through the public port under any spelling, and HAProxy stats on loopback', async () => {
    for (const [i, port] of stack.workerPorts.entries()) {
      const posted = await fetch(`http://127.0.0.1:${port}/1.0/metrics`, {
        method: 'POST',
        body: new URLSearchParams({ metric_id: 'fn.metrics', ts: '1700000000', value: '1' }),
      });
      expect(posted.status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${stack.telemetryPorts[i]}/metrics`)).text();
      expect(metrics).toMatch(/meetr_http_requests_total\{route="\/1.0\/metrics",method="POST"/);
      expect(metrics).toContain(`worker="${port}"`);
      // Not on the worker's API port either, which HAProxy routes to.
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    }
    for (const path of [
      '/metrics',
      '/metrics/',
      '/%6Detrics',
      '/%6detrics',
      '/%2Fmetrics',
      '/./metrics',
      '/x/../metrics',
      '//metrics',
      '/metrics?x=1',
      '/METRICS',
      '/metrics%2F',
      '/.%2E/metrics',
    ]) {
      const hidden = await rawGet(path);
      expect(hidden.status, path).toBe(404);
      expect(hidden.body, path).not.toContain('process_cpu');
      expect(hidden.body, path).not.toContain('meetr_http_requests_total');
    }
    const stats = await fetch(`${stack.statsUrl}/stats;csv`);
    expect(stats.status).toBe(200);
    const csv = await stats.text();
    for (const port of stack.workerPorts)
      expect(csv).toMatch(new RegExp(`meetr_workers,w${port - stack.workerPorts[0]! + 1},.*UP`));
    const exporter = await (await fetch(`${stack.statsUrl}/metrics`)).text();
    expect(exporter).toMatch(/haproxy_backend_active_servers\{proxy="meetr_workers"\} 2/);
  });

  it('answers HEAD and keeps connections alive', async () => {
    const head = await fetch(`${baseUrl()}/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('x-meetr-worker')).toMatch(/^\d+$/);
  });

  it('advertises how long HAProxy keeps idle connections, not the workers hint', async () => {
    // HAProxy closes idle client connections after 60 s; the workers keep theirs 65 s. A client trusting
    // a hint longer than HAProxy's, or none at all, may reuse a connection HAProxy is closing and lose a request.
    for (const answer of [
      await call('/health'),
      await postForm({ metric_id: 'fn.keepalive', ts: '1700000000', value: '1' }),
    ]) {
      expect(answer.status).toBe(200);
      expect(answer.headers.get('keep-alive')).toBe('timeout=50');
    }
  });
});
