/** Prometheus remote write 1.0 at the HTTP edge, over the in-memory store. */
import protobuf from 'protobufjs';
import { compressSync, uncompressSync } from 'snappy';
import { describe, expect, it } from 'vitest';
import { REMOTE_WRITE_PROTO } from '../../src/prometheus/remote-write.js';
import { countWriteRequest, WIRE_LIMITS } from '../../src/prometheus/wire-count.js';
import { SnappyBlockReader, SnappyError } from '../../src/prometheus/snappy-block.js';
import { escapeLabelValue, seriesId } from '../../src/domain/series.js';
import type { ApiAnswer } from '../support/answers.js';
import { memoryApp } from '../support/memory-app.js';

// The WriteRequest of prometheus/prompb, as a client encodes it.
const WriteRequest = protobuf.parse(REMOTE_WRITE_PROTO).root.lookupType('WriteRequest');

type Series = { labels: Record<string, string>; samples: Array<[number, number]> };

/** A value that stands for Prometheus' staleness marker in `encode`'s input (V8 does not keep a NaN's bits in arrays). */
const STALE = 1234.5678;
const STALE_BITS = Buffer.from([2, 0, 0, 0, 0, 0, 0xf0, 0x7f]); // 0x7ff0000000000002, little-endian

function encode(series: Series[]): Buffer {
  const message = WriteRequest.create({
    timeseries: series.map((s) => ({
      labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })),
      samples: s.samples.map(([timestamp, value]) => ({ timestamp, value })),
    })),
  });
  const bytes = Buffer.from(WriteRequest.encode(message).finish());
  const stale = Buffer.alloc(8);
  stale.writeDoubleLE(STALE);
  for (let at = bytes.indexOf(stale); at >= 0; at = bytes.indexOf(stale, at + 8)) STALE_BITS.copy(bytes, at);
  return compressSync(bytes);
}

const write = (body: Buffer, headers: Record<string, string> = { 'Content-Encoding': 'snappy' }): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0', ...headers },
  body,
});

const t0 = Date.parse('2026-01-01T00:00:00Z');

describe('series ids', () => {
  it('are the name and the labels sorted, values escaped as Prometheus does; a lone name is the plain id', () => {
    expect(
      seriesId([
        { name: 'job', value: 'node' },
        { name: '__name__', value: 'up' },
        { name: 'instance', value: 'a:9100' },
      ]),
    ).toBe('up{instance="a:9100",job="node"}');
    expect(seriesId([{ name: '__name__', value: 'cpu.load' }])).toBe('cpu.load');
    expect(
      seriesId([
        { name: '__name__', value: 'x' },
        { name: 'empty', value: '' },
      ]),
    ).toBe('x');
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });
});

describe('POST /api/v1/write', () => {
  it('stores every sample under its series id and answers 204 with no body', async () => {
    const { app } = memoryApp();
    const body = encode([
      {
        labels: { __name__: 'up', job: 'node', instance: 'a:9100' },
        samples: [
          [t0, 1],
          [t0 + 15_000, 0],
        ],
      },
      { labels: { __name__: 'cpu.load' }, samples: [[t0, 0.5]] },
      { labels: { __name__: 'quoted', path: 'C:\\dir "x"' }, samples: [[t0, 7]] },
    ]);
    const response = await app.request('/api/v1/write', write(body));
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    const sum = async (metric: string): Promise<ApiAnswer> =>
      (await (
        await app.request(
          `/1.0/metrics?${new URLSearchParams({ metric, from: String(t0), to: String(t0 + 60_000), aggregation: 'sum' })}`,
        )
      ).json()) as ApiAnswer;
    expect(await sum('up{instance="a:9100",job="node"}')).toMatchObject({ value: 1, count: 2 });
    expect(await sum('cpu.load')).toMatchObject({ value: 0.5, count: 1 });
    expect(await sum('quoted{path="C:\\\\dir \\"x\\""}')).toMatchObject({ value: 7, count: 1 });
  });

  it('keeps NaN, infinities and staleness markers out of the points, for PromQL alone, which stops a series at its marker', async () => {
    const { app } = memoryApp();
    const body = encode([
      {
        labels: { __name__: 'gauge' },
        samples: [
          [t0, 1],
          [t0 + 1, STALE],
        ],
      },
      {
        labels: { __name__: 'odd' },
        samples: [
          [t0, Number.NaN],
          [t0 + 1_000, Number.POSITIVE_INFINITY],
          [t0 + 2_000, 4],
        ],
      },
    ]);
    expect((await app.request('/api/v1/write', write(body))).status).toBe(204);
    expect(
      await (await app.request(`/1.0/metrics?metric=gauge&from=${t0}&to=${t0 + 10}&aggregation=count`)).json(),
    ).toMatchObject({ count: 1 });
    expect(
      await (await app.request(`/1.0/metrics?metric=odd&from=${t0}&to=${t0 + 10_000}&aggregation=sum`)).json(),
    ).toMatchObject({ value: 4, count: 1 });
    const query = async (
      q: string,
      ms: number,
    ): Promise<Array<{ value?: [number, string]; values?: Array<[number, string]> }>> =>
      (
        (await (
          await app.request(`/api/v1/query?${new URLSearchParams({ query: q, time: String(ms / 1000) })}`)
        ).json()) as { data: { result: [] } }
      ).data.result;
    expect(await query('gauge', t0)).toHaveLength(1);
    expect(await query('gauge', t0 + 1)).toHaveLength(0); // the series ended: no lookback past its marker
    expect(await query('gauge', t0 + 60_000)).toHaveLength(0);
    expect((await query('odd[5s]', t0 + 2_000))[0]!.values).toEqual([
      [t0 / 1000, 'NaN'],
      [t0 / 1000 + 1, '+Inf'],
      [t0 / 1000 + 2, '4'],
    ]);
    expect((await query('sum_over_time(odd[1s])', t0 + 1_000))[0]!.value![1]).toBe('NaN');
  });

  it('answers an empty request 204', async () => {
    const { app } = memoryApp();
    expect((await app.request('/api/v1/write', write(encode([])))).status).toBe(204);
  });

  it('refuses the whole request for one bad series or sample, naming it (Prometheus drops a 400)', async () => {
    const { app, store } = memoryApp();
    const long = { __name__: 'x', label: 'v'.repeat(300) };
    const future = Date.now() + 3 * 86_400_000;
    const response = await app.request(
      '/api/v1/write',
      write(
        encode([
          { labels: { __name__: 'fine' }, samples: [[t0, 1]] },
          { labels: long, samples: [[t0, 1]] },
          { labels: { job: 'no-name' }, samples: [[t0, 1]] },
          { labels: { __name__: 'later' }, samples: [[future, 1]] },
        ]),
      ),
    );
    expect(response.status).toBe(400);
    const answer = (await response.json()) as ApiAnswer;
    expect(answer).toMatchObject({ error: 'invalid_request' });
    expect(answer.details?.map((d) => [d.index, d.field])).toEqual([
      [1, 'labels'],
      [2, 'labels'],
      [3, 'timestamp'],
    ]);
    expect(store.calls.writePartition).toBe(0);
  });

  it('answers 413 before uncompressing a body that declares more than the limit, and for too many samples', async () => {
    const { app } = memoryApp({ MEETR_MAX_BODY_BYTES: '100000', MEETR_MAX_BATCH: '10' });
    const bomb = compressSync(Buffer.alloc(200_000)); // about 10 KiB sent
    expect(bomb.length).toBeLessThan(100_000);
    const answer = await app.request('/api/v1/write', write(bomb));
    expect(answer.status).toBe(413);
    expect(((await answer.json()) as ApiAnswer).message).toContain('uncompressed body');
    const many = encode([
      { labels: { __name__: 'm' }, samples: Array.from({ length: 11 }, (_, i): [number, number] => [t0 + i, i]) },
    ]);
    expect((await app.request('/api/v1/write', write(many))).status).toBe(413);
  });

  it('counts series, samples and labels on the wire before decoding: millions of empty series are refused after the first MEETR_MAX_BATCH', async () => {
    const { app } = memoryApp({ MEETR_MAX_BATCH: '1000' });
    // 4,000,000 empty TimeSeries (field 1, length 0): 8 MB uncompressed, a few hundred KB with snappy.
    const empty = compressSync(Buffer.alloc(8_000_000, Buffer.from([0x0a, 0x00])));
    const heapBefore = process.memoryUsage().heapUsed;
    const response = await app.request('/api/v1/write', write(empty));
    expect(response.status).toBe(413);
    expect(((await response.json()) as ApiAnswer).message).toContain('more than 1000 series');
    // Nothing per series was built: the heap grew by far less than one object per series.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(40_000_000);
  });

  it('refuses series past the label limits (count, name and value bytes) with 400, and lists at most 100 of them', async () => {
    const { app, store } = memoryApp({ MEETR_MAX_BATCH: '10000' });
    const manyLabels = Object.fromEntries(
      Array.from({ length: WIRE_LIMITS.labelsPerSeries + 1 }, (_, i) => [`l${i}`, 'v']),
    );
    const refused = async (labels: Record<string, string>): Promise<ApiAnswer> => {
      const response = await app.request(
        '/api/v1/write',
        write(
          encode([
            { labels: { __name__: 'ok' }, samples: [[t0, 1]] },
            { labels: { __name__: 'x', ...labels }, samples: [[t0, 1]] },
          ]),
        ),
      );
      expect(response.status).toBe(400);
      return (await response.json()) as ApiAnswer;
    };
    expect((await refused(manyLabels)).details).toEqual([
      {
        index: 1,
        field: 'labels',
        message: `has ${WIRE_LIMITS.labelsPerSeries + 2} labels, more than ${WIRE_LIMITS.labelsPerSeries}`,
      },
    ]);
    expect((await refused({ ['n'.repeat(WIRE_LIMITS.labelNameBytes + 1)]: 'v' })).details?.[0]?.message).toMatch(
      /label name of \d+ bytes/,
    );
    expect((await refused({ big: 'v'.repeat(5_000_000) })).details?.[0]?.message).toMatch(
      /label value of 5000000 bytes/,
    );
    const bad = Array.from({ length: 2_000 }, (_, i) => ({
      labels: { job: `no-name-${i}` },
      samples: [[t0, 1]] as Array<[number, number]>,
    }));
    const many = await app.request('/api/v1/write', write(encode(bad)));
    const answer = (await many.json()) as ApiAnswer;
    expect(answer.message).toBe('2000 of 2000 series are invalid; nothing was written');
    expect(answer.details).toHaveLength(100);
    expect(store.calls.writePartition).toBe(0);
  });

  it('uncompresses snappy blocks a piece at a time exactly as the snappy library does, and refuses broken ones', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      // Runs, repeats at every distance and noise: every kind of literal and copy.
      const parts: Buffer[] = [];
      for (let i = random(40); i >= 0; i--) {
        const kind = random(3);
        if (kind === 0) parts.push(Buffer.from(Array.from({ length: random(300) }, () => random(256))));
        else if (kind === 1) parts.push(Buffer.alloc(random(100_000), random(256)));
        else if (parts.length > 0) parts.push(parts[random(parts.length)]!);
      }
      const original = Buffer.concat(parts);
      const block = compressSync(original);
      const reader = new SnappyBlockReader(block, 10_000_000);
      while (!reader.done || reader.written < reader.out.length) reader.readMore(1 + random(70_000));
      expect(reader.out.equals(original)).toBe(true);
      if (block.length > 4) {
        const broken = Buffer.from(block.subarray(0, block.length - 1 - random(3)));
        expect(() => {
          const r = new SnappyBlockReader(broken, 10_000_000);
          for (let i = 0; i < 1_000_000 && (!r.done || r.written < r.out.length); i++) r.readMore(65_536);
        }).toThrow(SnappyError);
      }
    }
  });

  it('counts exactly what a valid request holds', () => {
    const bytes = uncompressSync(
      encode([
        {
          labels: { __name__: 'a', job: 'j' },
          samples: [
            [t0, 1],
            [t0 + 1, 2],
          ],
        },
        { labels: { __name__: 'b' }, samples: [[t0, 3]] },
      ]),
    ) as Buffer;
    expect(countWriteRequest(bytes, 3)).toEqual({ series: 2, samples: 3 });
    expect(() => countWriteRequest(bytes, 2)).toThrow(/more than 2 samples/);
    expect(() => countWriteRequest(bytes.subarray(0, bytes.length - 1), 10)).toThrow(/not a remote-write WriteRequest/);
    expect(() => countWriteRequest(Buffer.from([0x0b]), 10)).toThrow(/wire type 3/);
  });

  it('answers 400 for what is not snappy or not protobuf, 415 without the snappy encoding, 405 for other methods', async () => {
    const { app } = memoryApp();
    expect((await app.request('/api/v1/write', write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])))).status).toBe(
      400,
    );
    expect((await app.request('/api/v1/write', write(compressSync(Buffer.from([0x0a, 0xff, 0xff]))))).status).toBe(400);
    expect((await app.request('/api/v1/write', write(encode([]), {}))).status).toBe(415);
    const get = await app.request('/api/v1/write');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('refuses a remote write 2.0 request with 415, as that protocol asks, instead of reading it as an empty 1.0 one', async () => {
    const { app, store } = memoryApp();
    const body = encode([{ labels: { __name__: 'm' }, samples: [[t0, 1]] }]);
    const v2 = await app.request(
      '/api/v1/write',
      write(body, {
        'Content-Encoding': 'snappy',
        'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
      }),
    );
    expect(v2.status).toBe(415);
    expect(((await v2.json()) as ApiAnswer).message).toContain('io.prometheus.write.v2.Request is not supported');
    expect(
      (
        await app.request(
          '/api/v1/write',
          write(body, { 'Content-Encoding': 'snappy', 'Content-Type': 'application/json' }),
        )
      ).status,
    ).toBe(415);
    expect(store.calls.writePartition).toBe(0);
    for (const type of [
      'application/x-protobuf;proto=prometheus.WriteRequest',
      'Application/X-Protobuf; proto="prometheus.WriteRequest"',
      '',
    ]) {
      expect(
        (await app.request('/api/v1/write', write(body, { 'Content-Encoding': 'snappy', 'Content-Type': type })))
          .status,
        type,
      ).toBe(204);
    }
    expect(store.calls.writePartition).toBe(3);
  });
});
