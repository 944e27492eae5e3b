/**
 * The HTTP edge in-process over the in-memory store: every status the contract
 * names, the error envelope, the worker header, and the property that no input
 * gets a 500. Nothing here is about storage; the same contract runs on Cassandra
 * in test/integration/api.test.ts.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ApiAnswer } from '../support/answers.js';
import { CLIENT_STATUSES, clientFields } from '../support/client-inputs.js';
import { memoryApp } from '../support/memory-app.js';

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

async function answer(response: Response): Promise<{ status: number; body: ApiAnswer; headers: Headers }> {
  return { status: response.status, body: (await response.json()) as ApiAnswer, headers: response.headers };
}

describe('the HTTP edge (happy paths)', () => {
  it('stores a form point and finds it with every aggregation', async () => {
    const { app } = memoryApp({ MEETR_DEFAULT_TZ: 'Asia/Kolkata' });
    expect(
      await answer(
        await app.request('/1.0/metrics', form({ metric: 'm', timestamp: '2003-12-18 12:18:18', value: '2' })),
      ),
    ).toMatchObject({
      status: 200,
      body: { inserted: 1 },
    });
    expect(
      (
        await answer(
          await app.request('/1.0/metrics', json([{ metric_id: 'm', ts: '2003-12-18 06:48:19Z', value: 4 }])),
        )
      ).body,
    ).toEqual({ inserted: 1 });
    const expected = { sum: 6, avg: 3, min: 2, max: 4, count: 2 };
    for (const [aggregation, value] of Object.entries(expected)) {
      const found = await answer(
        await app.request(
          `/1.0/metrics?metric=m&from=2003-12-18 12:18:18 0530&to=2003-12-18 12:18:19%2B05:30&aggregation=${aggregation}`,
        ),
      );
      expect(found).toMatchObject({
        status: 200,
        body: {
          metric_id: 'm',
          from: '2003-12-18 12:18:18 0530',
          to: '2003-12-18 12:18:19+05:30',
          aggregation,
          value,
          count: 2,
        },
      });
    }
  });

  it('takes multipart form batches and the form shape sent as JSON', async () => {
    const { app } = memoryApp();
    const body = new FormData();
    body.set('batch', 'True');
    body.set('metrics', JSON.stringify([{ metric: 'mp', timestamp: 1_700_000_000, value: 1 }]));
    expect((await answer(await app.request('/1.0/metrics', { method: 'POST', body }))).body).toEqual({ inserted: 1 });
    expect(
      (
        await answer(
          await app.request(
            '/1.0/metrics',
            json({ batch: 'True', metrics: JSON.stringify([{ metric: 'mp', ts: 1_700_000_001, value: 2 }]) }),
          ),
        )
      ).body,
    ).toEqual({
      inserted: 1,
    });
    expect(
      (await answer(await app.request('/1.0/metrics?metric=mp&from=1700000000&to=1700000001&aggregation=sum'))).body
        .value,
    ).toBe(3);
  });

  it('answers an empty range with null and 0, and sets X-Meetr-Worker on every answer', async () => {
    const { app } = memoryApp();
    const empty = await answer(
      await app.request('/1.0/metrics?metric=none&from=2020-01-01&to=2020-01-02&aggregation=avg'),
    );
    expect(empty).toMatchObject({ status: 200, body: { value: null, count: 0 } });
    expect(empty.headers.get('x-meetr-worker')).toBe('unit');
    for (const path of ['/health', '/nowhere', '/1.0/metrics'])
      expect((await app.request(path)).headers.get('x-meetr-worker')).toBe('unit');
  });
});

describe('the HTTP edge (series)', () => {
  it('answers the v1 fields, the interval, the zone and every bucket with its local start', async () => {
    const { app } = memoryApp();
    const points = [
      ['2026-03-28T23:30:00Z', 1],
      ['2026-03-29T12:00:00Z', 2],
      ['2026-03-29T23:00:00Z', 4],
    ].map(([ts, value]) => ({ metric: 'dst', ts, value }));
    expect((await answer(await app.request('/1.0/metrics', json(points)))).body).toEqual({ inserted: 3 });
    const found = await answer(
      await app.request(
        '/1.0/metrics?metric=dst&from=2026-03-28&to=2026-03-30 23:59:59&aggregation=sum&interval=1d&tz=Europe/Berlin',
      ),
    );
    expect(found).toMatchObject({ status: 200 });
    expect(found.body).toEqual({
      metric_id: 'dst',
      from: '2026-03-28',
      to: '2026-03-30 23:59:59',
      aggregation: 'sum',
      value: 7,
      count: 3,
      interval: '1d',
      tz: 'Europe/Berlin',
      series: [
        { start: '2026-03-28T00:00:00+01:00', ts: Date.parse('2026-03-27T23:00:00Z'), value: null, count: 0 },
        { start: '2026-03-29T00:00:00+01:00', ts: Date.parse('2026-03-28T23:00:00Z'), value: 3, count: 2 }, // 23 hours long
        { start: '2026-03-30T00:00:00+02:00', ts: Date.parse('2026-03-29T22:00:00Z'), value: 4, count: 1 },
      ],
    });
    const first = await answer(
      await app.request('/1.0/metrics?metric=dst&from=2026-03-29T00:00:00Z&to=2026-03-30T00:00:00Z&aggregation=first'),
    );
    expect(first.body).toEqual({
      metric_id: 'dst',
      from: '2026-03-29T00:00:00Z',
      to: '2026-03-30T00:00:00Z',
      aggregation: 'first',
      value: 2,
      count: 2,
    });
  });

  it('names a bad interval or zone, and a series with too many buckets', async () => {
    const { app } = memoryApp({ MEETR_MAX_SERIES_BUCKETS: '24' });
    const bad = await answer(
      await app.request('/1.0/metrics?metric=m&from=0&to=86400&aggregation=sum&interval=5s&tz=Nowhere/Land'),
    );
    expect(bad).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(bad.body.details?.map((d) => d.field)).toEqual(['tz', 'interval']);
    const many = await answer(await app.request('/1.0/metrics?metric=m&from=0&to=86400&aggregation=sum&interval=1h'));
    expect(many).toMatchObject({ status: 400, body: { error: 'invalid_request', details: [{ field: 'interval' }] } });
    expect(many.body.message).toContain('MEETR_MAX_SERIES_BUCKETS');
    expect((await app.request('/1.0/metrics?metric=m&from=0&to=86399&aggregation=sum&interval=1h')).status).toBe(200);
  });
});

describe('the HTTP edge (errors)', () => {
  it('names each bad point and field, and writes nothing', async () => {
    const { app, store } = memoryApp({ MEETR_MAX_BATCH: '3' });
    const bad = await answer(
      await app.request(
        '/1.0/metrics',
        json([
          { metric_id: 'a', ts: 1, value: 1 },
          { metric_id: '', ts: 'soon', value: 'x' },
        ]),
      ),
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_request');
    expect(bad.body.details?.map((d) => `${d.index}:${d.field}`)).toEqual(['1:metric_id', '1:ts', '1:value']);
    expect(store.calls.writePartition).toBe(0);
  });

  it('answers 413 for a body over the limit and for too many points, before writing', async () => {
    const { app, store } = memoryApp({ MEETR_MAX_BATCH: '3', MEETR_MAX_BODY_BYTES: '2048' });
    const big = await answer(
      await app.request('/1.0/metrics', form({ metric_id: 'm', ts: '1', value: '1', pad: 'x'.repeat(4096) })),
    );
    expect(big).toMatchObject({ status: 413, body: { error: 'payload_too_large', details: [{ field: 'body' }] } });
    const many = await answer(
      await app.request(
        '/1.0/metrics',
        json(Array.from({ length: 4 }, (_, i) => ({ metric_id: 'm', ts: i + 1, value: 1 }))),
      ),
    );
    expect(many).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
    expect(store.calls.writePartition).toBe(0);
  });

  it('answers 413 from a body that grows past the limit while it is read, without Content-Length', async () => {
    const { app } = memoryApp({ MEETR_MAX_BODY_BYTES: '2048' });
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(512)));
        controller.close();
      },
    });
    const response = await app.request('/1.0/metrics', { method: 'POST', body: chunks, duplex: 'half' });
    expect(response.status).toBe(413);
  });

  it('answers 415, 405 and 404 in the envelope', async () => {
    const { app } = memoryApp();
    const xml = await answer(
      await app.request('/1.0/metrics', {
        method: 'POST',
        headers: { 'Content-Type': 'application/xml' },
        body: '<point/>',
      }),
    );
    expect(xml).toMatchObject({ status: 415, body: { error: 'unsupported_media_type' } });
    const put = await answer(await app.request('/1.0/metrics', { method: 'PUT' }));
    expect(put).toMatchObject({ status: 405, body: { error: 'method_not_allowed' } });
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(await answer(await app.request('/nowhere'))).toMatchObject({ status: 404, body: { error: 'not_found' } });
  });

  it('lists every bad search parameter', async () => {
    const { app } = memoryApp();
    const bad = await answer(await app.request('/1.0/metrics?from=2020-02-30&to=2019-01-01&aggregation=median'));
    expect(bad.status).toBe(400);
    expect(bad.body.details?.map((d) => d.field)).toEqual(['metric', 'from', 'aggregation']);
    // A metric id the insert would refuse is refused by the search too, by the same rule and words.
    const range = 'from=2024-01-01&to=2024-01-02&aggregation=sum';
    const insert = await answer(await app.request('/1.0/metrics', form({ metric_id: 'a\tb', ts: '1', value: '1' })));
    const search = await answer(await app.request(`/1.0/metrics?metric=a%09b&${range}`));
    expect(search).toMatchObject({ status: 400, body: { details: [{ field: 'metric' }] } });
    expect(search.body.details?.[0]?.message).toBe(insert.body.details?.[0]?.message);
    const replaced = await answer(await app.request(`/1.0/metrics?metric_id=a%EF%BF%BD&${range}`));
    expect(replaced).toMatchObject({ status: 400, body: { details: [{ field: 'metric_id' }] } });
  });

  it("takes Meetr's field aliases, the documented name winning when a client sends both", async () => {
    const { app } = memoryApp();
    const both = { metric_id: 'alias.doc', metric: 'alias.other', ts: '1700000000', timestamp: '1700000060' };
    expect((await app.request('/1.0/metrics', json([{ ...both, value: 2 }]))).status).toBe(200);
    expect(
      (await app.request('/1.0/metrics', form({ metric: 'alias.form', timestamp: '1700000000', value: '3' }))).status,
    ).toBe(200);
    const range = 'from=1700000000&to=1700000000&aggregation=sum';
    const search = async (query: string) => (await answer(await app.request(`/1.0/metrics?${query}&${range}`))).body;
    expect(await search('metric=alias.doc&metric_id=alias.other')).toMatchObject({ metric_id: 'alias.doc', value: 2 });
    expect(await search('metric_id=alias.form')).toMatchObject({ value: 3, count: 1 });
    expect(await search('metric=alias.other')).toMatchObject({ count: 0 });
    const none = await answer(await app.request('/1.0/metrics', json([{ value: 1 }])));
    expect(none.body.details).toEqual([
      { index: 0, field: 'metric_id', message: 'is missing (metric_id or metric)' },
      { index: 0, field: 'ts', message: 'is missing (ts or timestamp)' },
    ]);
  });

  it('answers in the envelope of the route, not of a path prefix', async () => {
    const { app } = memoryApp();
    // Prometheus' API in Prometheus' envelope, with or without a trailing slash.
    for (const path of ['/api/v1/query', '/api/v1/query/'])
      expect(await answer(await app.request(path)), path).toMatchObject({
        status: 400,
        body: { status: 'error', errorType: 'bad_data' },
      });
    // Remote write is under the same prefix but keeps meetr's (Prometheus only logs it), slash or not.
    for (const path of ['/api/v1/write', '/api/v1/write/'])
      expect(await answer(await app.request(path, form({ a: '1' }))), path).toMatchObject({
        status: 415,
        body: { error: 'unsupported_media_type' },
      });
  });

  it('answers 503 with Retry-After while storage is unavailable, and /health says so', async () => {
    const { app, store } = memoryApp();
    store.unavailable = true;
    const insert = await answer(
      await app.request('/1.0/metrics', form({ metric_id: 'm', ts: '1700000000', value: '1' })),
    );
    expect(insert).toMatchObject({ status: 503, body: { error: 'storage_unavailable' } });
    expect(insert.headers.get('retry-after')).toBe('1');
    expect((await app.request('/1.0/metrics?metric=m&from=0&to=1700000000&aggregation=sum')).status).toBe(503);
    expect((await app.request('/health')).status).toBe(503);
    store.unavailable = false;
    expect((await app.request('/health')).status).toBe(200);
  });

  it('logs why storage failed, once for a burst of failures, never to the client', async () => {
    const { app, store, storageFailures, unexpected } = memoryApp();
    store.unavailable = true;
    for (let i = 0; i < 5; i++)
      expect((await app.request('/1.0/metrics', form({ metric_id: 'm', ts: '1700000000', value: '1' }))).status).toBe(
        503,
      );
    expect(storageFailures).toEqual([
      { message: '503 on POST /1.0/metrics', cause: 'storage is unavailable (queue rollups)' },
    ]);
    expect(unexpected).toEqual([]);
  });

  it('never shows the client an unexpected error, and logs it', async () => {
    const { app, store, unexpected } = memoryApp();
    store.writePartition = () => Promise.reject(new Error('secret internal detail'));
    const broken = await answer(
      await app.request('/1.0/metrics', form({ metric_id: 'm', ts: '1700000000', value: '1' })),
    );
    expect(broken).toMatchObject({ status: 500, body: { error: 'internal_error' } });
    expect(JSON.stringify(broken.body)).not.toContain('secret');
    expect(unexpected).toHaveLength(1);
  });
});

describe('no client input gets a 500 (in-memory store)', () => {
  const contentType = fc.constantFrom(
    'application/x-www-form-urlencoded',
    'application/json',
    'text/plain',
    'multipart/form-data; boundary=x',
    'application/xml',
    '',
    'application/vnd.x+json',
  );
  const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD');

  it('whatever the method, content type, body and query', async () => {
    const { app, unexpected } = memoryApp({ MEETR_MAX_BATCH: '50', MEETR_MAX_BODY_BYTES: '4096' });
    await fc.assert(
      fc.asyncProperty(
        method,
        contentType,
        clientFields,
        fc.oneof(fc.string(), fc.json()),
        fc.boolean(),
        async (verb, type, fields, raw, encodeFields) => {
          const query = new URLSearchParams(fields).toString();
          const body =
            verb === 'GET' || verb === 'HEAD' ? undefined : encodeFields ? new URLSearchParams(fields).toString() : raw;
          const headers: Record<string, string> = type === '' ? {} : { 'Content-Type': type };
          const response = await app.request(`/1.0/metrics?${query}`, {
            method: verb,
            headers,
            ...(body === undefined ? {} : { body }),
          });
          expect(CLIENT_STATUSES).toContain(response.status);
          if (verb !== 'HEAD' && response.status !== 200)
            expect(typeof ((await response.json()) as ApiAnswer).error).toBe('string');
        },
      ),
      { numRuns: 500 },
    );
    expect(unexpected).toEqual([]);
  });
});

describe('the HTTP edge against careless and hostile input', () => {
  const gzipped = (text: string): Promise<Buffer> => promisify(zlib.gzip)(text);

  it('takes gzip and deflate bodies, the limits applying to the inflated size', async () => {
    const { app } = memoryApp({ MEETR_MAX_BODY_BYTES: '16384' });
    const body = JSON.stringify([{ metric_id: 'gz', ts: 1_700_000_000, value: 2 }]);
    const headers = { 'Content-Type': 'application/json' };
    expect(
      (
        await app.request('/1.0/metrics', {
          method: 'POST',
          headers: { ...headers, 'Content-Encoding': 'gzip' },
          body: await gzipped(body),
        })
      ).status,
    ).toBe(200);
    for (const deflated of [zlib.deflateSync(body), zlib.deflateRawSync(body)]) {
      expect(
        (
          await app.request('/1.0/metrics', {
            method: 'POST',
            headers: { ...headers, 'Content-Encoding': 'deflate' },
            body: deflated,
          })
        ).status,
      ).toBe(200);
    }
    // A bomb: under the limit on the wire, 10 MB inflated; refused at the limit without inflating it all.
    const bomb = await gzipped(`[${' '.repeat(10_000_000)}]`);
    expect(bomb.length).toBeLessThan(16384);
    const refused = await answer(
      await app.request('/1.0/metrics', {
        method: 'POST',
        headers: { ...headers, 'Content-Encoding': 'gzip' },
        body: bomb,
      }),
    );
    expect(refused).toMatchObject({
      status: 413,
      body: { error: 'payload_too_large', message: expect.stringMatching(/inflated body/) as unknown },
    });
    expect(
      (await app.request('/1.0/metrics', { method: 'POST', headers: { ...headers, 'Content-Encoding': 'br' }, body }))
        .status,
    ).toBe(415);
    expect(
      (await app.request('/1.0/metrics', { method: 'POST', headers: { ...headers, 'Content-Encoding': 'gzip' }, body }))
        .status,
    ).toBe(400);
  });

  it('refuses a JSON batch with more objects than points allowed, or nested too deep, before parsing it', async () => {
    const { app, store } = memoryApp({ MEETR_MAX_BATCH: '10', MEETR_MAX_BODY_BYTES: '10000000' });
    const many = await answer(await app.request('/1.0/metrics', json(Array.from({ length: 100_000 }, () => ({})))));
    expect(many).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
    const deep = await answer(
      await app.request('/1.0/metrics', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '['.repeat(1_000_000),
      }),
    );
    expect(deep).toMatchObject({
      status: 400,
      body: { details: [{ field: 'body', message: 'is nested too deeply' }] },
    });
    expect(store.calls.writePartition).toBe(0);
  });

  it('parses JSON only when the client says it is JSON, or says nothing about the type', async () => {
    const { app } = memoryApp();
    const point = JSON.stringify({ metric_id: 'typed', ts: 1_700_000_000, value: 1 });
    expect(
      (
        await app.request('/1.0/metrics', {
          method: 'POST',
          headers: { 'Content-Type': 'application/xml' },
          body: point,
        })
      ).status,
    ).toBe(415);
    expect(
      (
        await app.request('/1.0/metrics', {
          method: 'POST',
          headers: { 'Content-Type': 'application/octet-stream' },
          body: point,
        })
      ).status,
    ).toBe(415);
    expect(
      (await app.request('/1.0/metrics', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: point }))
        .status,
    ).toBe(200); // a bare string body
    expect((await app.request('/1.0/metrics', { method: 'POST', body: new TextEncoder().encode(point) })).status).toBe(
      200,
    );
  });

  it('refuses metric ids that are not well-formed Unicode, and bodies that are not UTF-8', async () => {
    const { app } = memoryApp();
    const lone = await answer(
      await app.request('/1.0/metrics', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{"metric_id":"a\\ud800","ts":1700000000,"value":1}',
      }),
    );
    expect(lone).toMatchObject({ status: 400, body: { details: [{ index: 0, field: 'metric_id' }] } });
    const undecodable = await answer(
      await app.request('/1.0/metrics', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'metric_id=a%ED%A0%80&ts=1700000000&value=1',
      }),
    );
    expect(undecodable).toMatchObject({ status: 400, body: { details: [{ field: 'metric_id' }] } });
    const latin1 = await answer(
      await app.request('/1.0/metrics', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: Buffer.from([0x6d, 0x3d, 0xe9]),
      }),
    );
    expect(latin1).toMatchObject({
      status: 400,
      body: { details: [{ field: 'body', message: 'is not valid UTF-8' }] },
    });
  });

  it('refuses points too far in the future, and says how far is allowed', async () => {
    const { app } = memoryApp({ MEETR_MAX_FUTURE_MS: '3600000' });
    const soon = Date.now() + 30 * 60_000;
    expect((await app.request('/1.0/metrics', form({ metric_id: 'f', ts: String(soon), value: '1' }))).status).toBe(
      200,
    );
    const later = await answer(
      await app.request('/1.0/metrics', form({ metric_id: 'f', ts: String(Date.now() + 2 * 3_600_000), value: '1' })),
    );
    expect(later).toMatchObject({
      status: 400,
      body: {
        details: [
          { field: 'ts', message: expect.stringMatching(/too far in the future \(MEETR_MAX_FUTURE_MS\)/) as unknown },
        ],
      },
    });
  });

  it('answers a sum beyond the range of a double with 422, never as an empty range', async () => {
    const { app } = memoryApp();
    expect(
      (
        await app.request(
          '/1.0/metrics',
          json([1, 2].map((i) => ({ metric_id: 'huge', ts: 1_700_000_000 + i, value: 1e308 }))),
        )
      ).status,
    ).toBe(200);
    const sum = await answer(
      await app.request('/1.0/metrics?metric=huge&from=1700000000&to=1700000010&aggregation=sum'),
    );
    expect(sum).toMatchObject({ status: 422, body: { error: 'not_representable' } });
    expect(
      (await answer(await app.request('/1.0/metrics?metric=huge&from=1700000000&to=1700000010&aggregation=max'))).body,
    ).toMatchObject({ value: 1e308, count: 2 });
  });
});
