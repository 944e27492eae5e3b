/**
 * The HTTP contract of DESIGN.md section 1, in-process through app.request(),
 * on the real Cassandra store in a fresh keyspace.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { composeApp, type MeetrApp } from '../../src/compose.js';
import type { ApiAnswer } from '../support/answers.js';
import { useFreshKeyspace } from '../support/keyspace.js';
import { cassandraStorage } from '../../src/storage/cassandra/storage.js';

const ks = useFreshKeyspace({
  MEETR_DEFAULT_TZ: 'Asia/Kolkata',
  MEETR_MAX_BATCH: '1000',
  MEETR_MAX_BODY_BYTES: '200000',
});
let app: MeetrApp;
beforeAll(() => {
  app = composeApp({ config: ks.config, storage: cassandraStorage(ks.client, ks.keyspace), workerId: 'test-worker' });
});

const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});
const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

async function post(
  init: RequestInit,
  path = '/1.0/metrics',
): Promise<{ status: number; body: ApiAnswer; headers: Headers }> {
  const response = await app.request(path, init);
  return { status: response.status, body: (await response.json()) as ApiAnswer, headers: response.headers };
}

async function search(params: Record<string, string>): Promise<{ status: number; body: ApiAnswer; headers: Headers }> {
  const response = await app.request(`/1.0/metrics?${new URLSearchParams(params).toString()}`);
  return { status: response.status, body: (await response.json()) as ApiAnswer, headers: response.headers };
}

const everything = { from: '1970-01-02 00:00:00Z', to: '2100-01-01 00:00:00Z' };

describe('Meetr compatibility', () => {
  it('passes the original Meetr functional test verbatim', async () => {
    const metrics = JSON.stringify(
      ['2003-12-18 12:18:18', '2003-12-18 12:18:19', '2003-12-18 12:18:20', '2003-12-18 12:18:21'].map((timestamp) => ({
        metric: 'test.metric',
        timestamp,
        value: 1,
      })),
    );
    expect(await post(form({ batch: 'True', metrics }))).toMatchObject({ status: 200, body: { inserted: 4 } });
    // As an unencoding client sends it: the '+' arrives as a space.
    const response = await app.request(
      '/1.0/metrics?metric=test.metric&from=2003-12-18 12:18:18+0530&to=2003-12-18 12:18:21+0530&aggregation=sum',
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      metric_id: 'test.metric',
      from: '2003-12-18 12:18:18 0530',
      to: '2003-12-18 12:18:21 0530',
      aggregation: 'sum',
      value: 4,
      count: 4,
    });
  });

  it('takes a single point as form fields, under both old and new names', async () => {
    expect(await post(form({ metric_id: 'single', ts: '2024-01-01 10:00:00', value: '1.5' }))).toMatchObject({
      status: 200,
      body: { inserted: 1 },
    });
    expect(await post(form({ metric: 'single', timestamp: '2024-01-01 10:00:01', value: '2.5' }))).toMatchObject({
      status: 200,
      body: { inserted: 1 },
    });
    const { body } = await search({ metric_id: 'single', ...everything, aggregation: 'sum' });
    expect(body).toMatchObject({ metric_id: 'single', value: 4, count: 2 });
  });

  it('takes form fields from the query string too, as Meetr did', async () => {
    const query = new URLSearchParams({ metric_id: 'in-query', ts: '1700000000', value: '3' }).toString();
    expect(await post({ method: 'POST' }, `/1.0/metrics?${query}`)).toMatchObject({
      status: 200,
      body: { inserted: 1 },
    });
    expect((await search({ metric: 'in-query', ...everything, aggregation: 'max' })).body).toMatchObject({
      value: 3,
      count: 1,
    });
  });

  it('accepts any value of the batch flag, and multipart forms', async () => {
    const metrics = JSON.stringify([{ metric_id: 'flags', ts: 1700000000, value: 1 }]);
    for (const flag of ['True', 'true', '1', 'yes']) {
      expect((await post(form({ batch: flag, metrics }))).body).toEqual({ inserted: 1 });
    }
    const multipart = new FormData();
    multipart.set('batch', 'true');
    multipart.set('metrics', JSON.stringify([{ metric_id: 'flags', ts: 1700000001, value: 2 }]));
    expect(await post({ method: 'POST', body: multipart })).toMatchObject({ status: 200, body: { inserted: 1 } });
    expect((await search({ metric: 'flags', ...everything, aggregation: 'count' })).body).toMatchObject({
      value: 2,
      count: 2,
    });
  });
});

describe('JSON bodies', () => {
  it('accepts one point, an array, and {"metrics": [...]}', async () => {
    expect((await post(json({ metric_id: 'json', ts: '2024-05-01T00:00:00Z', value: 1 }))).body).toEqual({
      inserted: 1,
    });
    expect((await post(json([{ metric: 'json', timestamp: '2024-05-01T00:00:01Z', value: '2' }]))).body).toEqual({
      inserted: 1,
    });
    expect((await post(json({ metrics: [{ metric_id: 'json', ts: 1714521602000, value: 3 }] }))).body).toEqual({
      inserted: 1,
    });
    // Meetr's form shape as JSON, with the array as a JSON string, and a trailing slash.
    const formShaped = JSON.stringify({
      batch: 'True',
      metrics: JSON.stringify([{ metric: 'json', timestamp: '2024-05-01T00:00:04Z', value: 0 }]),
    });
    const slashed = await app.request('/1.0/metrics/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: formShaped,
    });
    expect(await slashed.json()).toEqual({ inserted: 1 });
    // No Content-Type at all: the body speaks for itself.
    expect(
      (await post({ method: 'POST', body: JSON.stringify({ metric_id: 'json', ts: 1714521603, value: 4 }) })).body,
    ).toEqual({ inserted: 1 });
    const { body } = await search({
      metric: 'json',
      from: '2024-05-01T00:00:00Z',
      to: '2024-05-01T00:00:03Z',
      aggregation: 'avg',
    });
    expect(body).toMatchObject({ value: 2.5, count: 4 });
    const slashedSearch = await app.request(
      '/1.0/metrics/?metric=json&from=2024-05-01T00:00:00Z&to=2024-05-01T00:00:04Z&aggregation=count',
    );
    expect(await slashedSearch.json()).toMatchObject({ value: 5, count: 5 });
  });
});

describe('validation is all-or-nothing', () => {
  it('rejects a batch with one bad point, names its index and field, and writes nothing', async () => {
    const metrics = [
      { metric_id: 'atomic', ts: '2024-02-01 00:00:00Z', value: 1 },
      { metric_id: 'atomic', ts: '2024-02-01 00:00:01Z', value: 2 },
      { metric_id: 'atomic', ts: '2024-02-01 00:00:02Z', value: 3 },
      { metric_id: 'atomic', ts: '2024-02-01 00:00:03Z', value: 'four' },
      { metric_id: 'atomic', ts: '2024-02-30 00:00:04Z', value: 5 },
    ];
    const { status, body } = await post(form({ batch: 'True', metrics: JSON.stringify(metrics) }));
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_request');
    expect(body.message).toMatch(/2 of 5 points are invalid/);
    expect(body.details).toEqual([
      { index: 3, field: 'value', message: expect.stringMatching(/finite number/) },
      { index: 4, field: 'ts', message: expect.stringMatching(/no day 30/) },
    ]);
    expect((await search({ metric: 'atomic', ...everything, aggregation: 'count' })).body).toMatchObject({
      value: null,
      count: 0,
    });
  });

  it.each([
    ['no metric', { ts: '1700000000', value: '1' }, 'metric_id'],
    ['empty metric', { metric_id: '', ts: '1700000000', value: '1' }, 'metric_id'],
    ['overlong metric', { metric_id: 'm'.repeat(256), ts: '1700000000', value: '1' }, 'metric_id'],
    ['control character', { metric_id: 'a\u0001b', ts: '1700000000', value: '1' }, 'metric_id'],
    ['no ts', { metric_id: 'm', value: '1' }, 'ts'],
    ['bad ts', { metric_id: 'm', ts: 'soon', value: '1' }, 'ts'],
    ['impossible date', { metric_id: 'm', timestamp: '2003-02-30 00:00:00', value: '1' }, 'timestamp'],
    ['no value', { metric_id: 'm', ts: '1700000000' }, 'value'],
    ['text value', { metric_id: 'm', ts: '1700000000', value: 'abc' }, 'value'],
    ['infinite value', { metric_id: 'm', ts: '1700000000', value: 'Infinity' }, 'value'],
    ['NaN value', { metric_id: 'm', ts: '1700000000', value: 'NaN' }, 'value'],
    ['overflowing value', { metric_id: 'm', ts: '1700000000', value: '1e400' }, 'value'],
  ])('answers 400 for a single point with %s', async (_, fields, field) => {
    const { status, body, headers } = await post(form(fields));
    expect(status).toBe(400);
    expect(headers.get('content-type')).toMatch(/application\/json/);
    expect(body).toMatchObject({ error: 'invalid_request', details: [expect.objectContaining({ index: 0, field })] });
  });

  it.each([
    ['a batch without metrics', form({ batch: 'True' }), /metrics/],
    ['metrics that are not JSON', form({ batch: 'True', metrics: '[{"metric_id": ' }), /not valid JSON/],
    ['metrics that are not an array', form({ batch: 'True', metrics: '{"metrics": 3}' }), /array/],
    ['an empty batch', form({ batch: 'True', metrics: '[]' }), /no points/],
    [
      'a JSON body that is not JSON',
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{nope' },
      /not valid JSON/,
    ],
    ['a JSON scalar', json(42), /point object/],
    ['a batch of non-objects', json([1, 2]), /invalid/],
  ])('answers 400 for %s', async (_, init, message) => {
    const { status, body } = await post(init);
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_request');
    expect(body.message).toMatch(message);
  });

  it('answers 415 for a body type it does not read', async () => {
    const { status, body } = await post({
      method: 'POST',
      headers: { 'Content-Type': 'application/xml' },
      body: '<point/>',
    });
    expect(status).toBe(415);
    expect(body.error).toBe('unsupported_media_type');
  });
});

describe('limits', () => {
  it('answers 413 to a body over MEETR_MAX_BODY_BYTES, from Content-Length, before reading it', async () => {
    const big = 'x'.repeat(200_001);
    const { status, body } = await post(form({ metric_id: 'big', ts: '1700000000', value: '1', padding: big }));
    expect(status).toBe(413);
    expect(body).toMatchObject({ error: 'payload_too_large', details: [{ field: 'body' }] });
  });

  it('answers 413 to a streamed body over the limit', async () => {
    const chunks = [
      new TextEncoder().encode('metric_id=big&ts=1700000000&value=1&padding='),
      new Uint8Array(210_000).fill(120),
    ];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    const response = await app.request('/1.0/metrics', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Transfer-Encoding': 'chunked' },
      body: stream,
      duplex: 'half',
    });
    expect(response.status).toBe(413);
  });

  it('answers 413 to more points than MEETR_MAX_BATCH, writing none', async () => {
    const metrics = Array.from({ length: 1001 }, (_, i) => ({ metric_id: 'too-many', ts: 1700000000 + i, value: 1 }));
    const { status, body } = await post(json(metrics));
    expect(status).toBe(413);
    expect(body.message).toMatch(/1001 points; at most 1000/);
    expect((await search({ metric: 'too-many', ...everything, aggregation: 'count' })).body.count).toBe(0);
  });

  it('takes exactly MEETR_MAX_BATCH points', async () => {
    const metrics = Array.from({ length: 1000 }, (_, i) => ({
      metric_id: 'full-batch',
      ts: 1700000000 + i * 60,
      value: i,
    }));
    expect((await post(form({ batch: 'True', metrics: JSON.stringify(metrics) }))).body).toEqual({ inserted: 1000 });
    const { body } = await search({ metric: 'full-batch', ...everything, aggregation: 'sum' });
    expect(body).toMatchObject({ value: (999 * 1000) / 2, count: 1000 });
  });
});

describe('idempotent upserts', () => {
  it('overwrites (metric_id, ts): retrying a request changes nothing, a new value replaces the old', async () => {
    const point = { metric_id: 'retry', ts: '2024-03-01 00:00:00.250Z', value: '5' };
    await post(form(point));
    await post(form(point));
    expect((await search({ metric: 'retry', ...everything, aggregation: 'sum' })).body).toMatchObject({
      value: 5,
      count: 1,
    });
    await post(form({ ...point, value: '7' }));
    expect((await search({ metric: 'retry', ...everything, aggregation: 'sum' })).body).toMatchObject({
      value: 7,
      count: 1,
    });
  });

  it('keeps the last of duplicates inside one batch', async () => {
    const metrics = [
      { metric_id: 'dup', ts: 1700000000, value: 1 },
      { metric_id: 'dup', ts: '2023-11-14 22:13:20Z', value: 2 }, // the same instant
      { metric_id: 'dup', ts: 1700000000000, value: 3 },
    ];
    expect((await post(json(metrics))).body).toEqual({ inserted: 3 });
    expect((await search({ metric: 'dup', ...everything, aggregation: 'max' })).body).toMatchObject({
      value: 3,
      count: 1,
    });
  });
});

describe('searches', () => {
  beforeAll(async () => {
    // Three UTC days: 10 points on the first, 1 on the second, 3 on the third.
    const points = [
      ...Array.from({ length: 10 }, (_, i) => ({ metric_id: 'span', ts: `2024-02-28 23:00:0${i}Z`, value: 1 })),
      { metric_id: 'span', ts: '2024-02-29 12:00:00Z', value: 100 },
      ...[1, 2, 3].map((i) => ({ metric_id: 'span', ts: `2024-03-01 00:00:0${i}Z`, value: -i })),
    ];
    expect((await post(json(points))).status).toBe(200);
  });

  it.each([
    ['sum', 10 + 100 - 6],
    ['avg', (10 + 100 - 6) / 14],
    ['min', -3],
    ['max', 100],
    ['count', 14],
  ])('%s across day partitions', async (aggregation, value) => {
    const { status, body } = await search({
      metric: 'span',
      from: '2024-02-28 00:00:00Z',
      to: '2024-03-02 00:00:00Z',
      aggregation,
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      metric_id: 'span',
      from: '2024-02-28 00:00:00Z',
      to: '2024-03-02 00:00:00Z',
      aggregation,
      value,
      count: 14,
    });
  });

  it('treats both bounds as inclusive, to the millisecond', async () => {
    const { body } = await search({
      metric: 'span',
      from: '2024-02-28 23:00:03Z',
      to: '2024-02-29T12:00:00.000Z',
      aggregation: 'count',
    });
    expect(body).toMatchObject({ value: 8, count: 8 });
    const justOutside = await search({
      metric: 'span',
      from: '2024-02-28 23:00:09.001Z',
      to: '2024-02-29T11:59:59.999Z',
      aggregation: 'count',
    });
    expect(justOutside.body).toMatchObject({ value: null, count: 0 });
  });

  it('answers an empty range with value null and count 0', async () => {
    for (const aggregation of ['sum', 'avg', 'min', 'max', 'count']) {
      const { status, body } = await search({ metric: 'nothing-here', ...everything, aggregation });
      expect(status).toBe(200);
      expect(body).toMatchObject({ value: null, count: 0 });
    }
  });

  it('answers a range of one instant', async () => {
    const { body } = await search({
      metric: 'span',
      from: '2024-02-29 12:00:00Z',
      to: '2024-02-29 12:00:00Z',
      aggregation: 'sum',
    });
    expect(body).toMatchObject({ value: 100, count: 1 });
  });

  it('reads aggregation case-insensitively and metric_id as an alias of metric', async () => {
    const { body } = await search({ metric_id: 'span', ...everything, aggregation: 'MAX' });
    expect(body).toMatchObject({ aggregation: 'max', value: 100 });
  });

  it.each([
    [{ from: '2024-01-01', to: '2024-01-02', aggregation: 'sum' }, ['metric']],
    [{ metric: 'span', to: '2024-01-02', aggregation: 'sum' }, ['from']],
    [{ metric: 'span', from: '2024-01-01', aggregation: 'sum' }, ['to']],
    [{ metric: 'span', from: '2024-01-01', to: '2024-01-02' }, ['aggregation']],
    [{ metric: 'span', from: '2024-01-01', to: '2024-01-02', aggregation: 'median' }, ['aggregation']],
    [{ metric: 'span', from: 'then', to: '2024-02-30 00:00:00', aggregation: 'sum' }, ['from', 'to']],
    [{ metric: 'span', from: '2024-01-02', to: '2024-01-01', aggregation: 'sum' }, ['from']],
    [{}, ['metric', 'from', 'to', 'aggregation']],
  ])('answers 400 naming every bad parameter: %o', async (params, fields) => {
    const { status, body } = await search(params);
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_request');
    expect(body.details?.map((d: { field: string }) => d.field)).toEqual(fields);
  });
});

describe('operational endpoints and headers', () => {
  it('sends X-Meetr-Worker on every response, errors included', async () => {
    for (const [path, init] of [
      ['/health', {}],
      ['/1.0/metrics?metric=x', {}],
      ['/nowhere', {}],
      ['/1.0/metrics', { method: 'DELETE' }],
    ] as const) {
      const response = await app.request(path, init);
      expect(response.headers.get('x-meetr-worker'), path).toBe('test-worker');
    }
  });

  it('answers unknown paths 404 and other methods 405, in the JSON envelope', async () => {
    const missing = await app.request('/1.0/metrics/extra');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'not_found' });
    const wrong = await app.request('/1.0/metrics', { method: 'PUT' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(await wrong.json()).toMatchObject({ error: 'method_not_allowed' });
  });

  it('reports health', async () => {
    const response = await app.request('/health');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });

  it('exposes Prometheus counters and histograms', async () => {
    await post(form({ metric_id: 'counted', ts: '1700000000', value: '1' }));
    expect(app.telemetry.registry.contentType).toMatch(/text\/plain/);
    const text = await app.telemetry.registry.metrics();
    // The public app has no /metrics: the registry is served on a loopback listener of its own.
    expect((await app.request('/metrics')).status).toBe(404);
    expect(text).toMatch(
      /meetr_http_requests_total\{route="\/1.0\/metrics",method="POST",status="200",worker="test-worker"\} \d+/,
    );
    expect(text).toMatch(
      /meetr_http_request_duration_seconds_bucket\{[^}]*le="0.005"[^}]*route="\/1.0\/metrics"[^}]*\} [1-9]/,
    );
    expect(text).toMatch(/meetr_points_written_total\{worker="test-worker"\} [1-9]\d*/);
    expect(text).toMatch(/meetr_storage_errors_total/);
    expect(text).toMatch(/process_resident_memory_bytes/);
  });
});
