/** The wire format in pure code: point decoding, validation, search parameters and the error map. */
import { describe, expect, it } from 'vitest';
import { MeetrError, statusOf, type ErrorCode } from '../../src/errors.js';
import { decodePointInputs, pointInputsFromForm, pointInputsFromJsonText } from '../../src/http/point-input.js';
import { parseSearchParams, withSeriesBuckets } from '../../src/http/search-params.js';
import { validatePoints } from '../../src/http/validate-points.js';

const noQuery = (): undefined => undefined;
const fields = (record: Record<string, string>) => (name: string) => record[name];
const thrown = (work: () => unknown): MeetrError => {
  try {
    work();
  } catch (error) {
    if (error instanceof MeetrError) return error;
    throw error;
  }
  throw new Error('nothing was thrown');
};

describe('point decoding', () => {
  it('reads a single form point under either name', () => {
    expect(pointInputsFromForm(fields({ metric: 'a', timestamp: '1', value: '2' }), 10)).toEqual([
      { metric: 'a', timestamp: '1', value: '2' },
    ]);
  });

  it('reads a Meetr batch whatever the batch flag says, and metrics alone as a batch', () => {
    const metrics = JSON.stringify([{ metric_id: 'a', ts: 1, value: 2 }]);
    for (const flag of ['True', 'true', '1', 'no', ''])
      expect(pointInputsFromForm(fields({ batch: flag, metrics }), 10)).toHaveLength(1);
    expect(pointInputsFromForm(fields({ metrics }), 10)).toHaveLength(1);
    expect(thrown(() => pointInputsFromForm(fields({ batch: 'True' }), 10)).details).toEqual([
      { field: 'metrics', message: 'is missing' },
    ]);
  });

  it('reads JSON as one point, an array or {"metrics": [...]}, and refuses other shapes', () => {
    expect(pointInputsFromJsonText('{"metric_id":"a","ts":1,"value":2}', 10)).toHaveLength(1);
    expect(pointInputsFromJsonText('[{"metric_id":"a"},{"metric_id":"b"}]', 10)).toHaveLength(2);
    expect(pointInputsFromJsonText('{"metrics":[{"metric_id":"a"}]}', 10)).toHaveLength(1);
    expect(thrown(() => pointInputsFromJsonText('[', 10)).code).toBe('invalid_request');
    expect(thrown(() => pointInputsFromJsonText('42', 10)).code).toBe('invalid_request');
    expect(thrown(() => pointInputsFromJsonText('[]', 10)).message).toMatch(/no points/);
    expect(thrown(() => pointInputsFromJsonText('{"metrics":{}}', 10)).details).toEqual([
      { field: 'metrics', message: 'is not an array' },
    ]);
  });

  it('refuses more points than the batch limit with payload_too_large', () => {
    expect(thrown(() => pointInputsFromJsonText('[{},{},{}]', 2)).code).toBe('payload_too_large');
  });

  it('decodes by media type, with query-string fields as a fallback', async () => {
    const form = Buffer.from('metric_id=a&value=1');
    expect(await decodePointInputs(form, 'application/x-www-form-urlencoded', fields({ ts: '5' }), 10)).toEqual([
      { metric_id: 'a', ts: '5', value: '1' },
    ]);
    expect(await decodePointInputs(Buffer.from('[{"metric_id":"a"}]'), '', noQuery, 10)).toHaveLength(1); // type-less JSON, as Meetr clients send it
    await expect(decodePointInputs(Buffer.from('x'), 'application/xml', noQuery, 10)).rejects.toMatchObject({
      code: 'unsupported_media_type',
    });
    await expect(
      decodePointInputs(Buffer.from('garbage'), 'multipart/form-data; boundary=z', noQuery, 10),
    ).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });

  it('takes forms of up to 64 fields or parts, and refuses more before parsing them', async () => {
    const form = (n: number): Buffer =>
      Buffer.from(['metric_id=a', 'ts=5', 'value=1', ...Array.from({ length: n - 3 }, (_, i) => `x${i}=1`)].join('&'));
    expect(await decodePointInputs(form(64), 'application/x-www-form-urlencoded', noQuery, 10)).toHaveLength(1);
    await expect(decodePointInputs(form(65), 'application/x-www-form-urlencoded', noQuery, 10)).rejects.toMatchObject({
      code: 'invalid_request',
      details: [{ field: 'body', message: 'has more than 64 fields' }],
    });
    const multipart = (n: number): Buffer =>
      Buffer.from(
        Array.from(
          { length: n },
          (_, i) =>
            `--b\r\nContent-Disposition: form-data; name="${['metric_id', 'ts', 'value'][i] ?? `x${i}`}"\r\n\r\n${i === 0 ? 'a' : '1'}\r\n`,
        ).join('') + '--b--\r\n',
      );
    expect(await decodePointInputs(multipart(64), 'multipart/form-data; boundary=b', noQuery, 10)).toHaveLength(1);
    await expect(
      decodePointInputs(multipart(65), 'multipart/form-data; boundary="b"', noQuery, 10),
    ).rejects.toMatchObject({
      details: [{ field: 'body', message: 'has more than 64 parts' }],
    });
  });
});

describe('point validation', () => {
  it('turns valid inputs into points, in the default zone', () => {
    expect(validatePoints([{ metric: 'a', timestamp: '2024-01-01 05:30:00', value: '1.5e1' }], 'Asia/Kolkata')).toEqual(
      [{ metricId: 'a', ts: Date.parse('2024-01-01T00:00:00Z'), value: 15 }],
    );
  });

  it('names every problem of every point, all or nothing', () => {
    const error = thrown(() =>
      validatePoints(
        [
          { metric_id: 'ok', ts: 1, value: 1 },
          { metric_id: 7, ts: '2024-02-30', value: 'NaN' },
          'not an object',
          { metric_id: 'x\u0000y', value: Infinity },
          { metric_id: 'x'.repeat(256), ts: 1, value: 1 },
        ],
        'UTC',
      ),
    );
    expect(error.message).toMatch(/^4 of 5 points are invalid/);
    expect(error.details?.map((d) => `${d.index}:${d.field}`)).toEqual([
      '1:metric_id',
      '1:ts',
      '1:value',
      '2:point',
      '3:metric_id',
      '3:ts',
      '3:value',
      '4:metric_id',
    ]);
  });

  it('keeps at most 100 details however many points are bad', () => {
    const error = thrown(() =>
      validatePoints(
        Array.from({ length: 500 }, () => ({})),
        'UTC',
      ),
    );
    expect(error.details).toHaveLength(100);
    expect(error.message).toMatch(/^500 of 500/);
  });
});

describe('search parameters', () => {
  const UTC = 'UTC';
  const noPause = async (): Promise<void> => undefined;

  it('reads the Meetr parameters, echoing from and to as given', () => {
    const params = parseSearchParams(
      fields({ metric_id: 'm', from: '2024-01-01', to: '1704153600', aggregation: 'AVG' }),
      UTC,
    );
    expect(params).toEqual({
      query: { metricId: 'm', fromMs: Date.parse('2024-01-01T00:00:00Z'), toMs: 1_704_153_600_000, aggregation: 'avg' },
      fromText: '2024-01-01',
      toText: '1704153600',
    });
  });

  it('lists every problem at once', () => {
    expect(thrown(() => parseSearchParams(fields({}), UTC)).details?.map((d) => d.field)).toEqual([
      'metric',
      'from',
      'to',
      'aggregation',
    ]);
    const backwards = thrown(() =>
      parseSearchParams(fields({ metric: 'm', from: '2024-01-02', to: '2024-01-01', aggregation: 'sum' }), UTC),
    );
    expect(backwards.details).toEqual([{ field: 'from', message: 'is after "to" (2024-01-02 > 2024-01-01)' }]);
  });

  it('reads a series: interval and tz, which also reads from and to without an offset', async () => {
    const params = parseSearchParams(
      fields({
        metric: 'm',
        from: '2024-01-01',
        to: '2024-01-02 23:59',
        aggregation: 'first',
        interval: '1d',
        tz: 'Asia/Kolkata',
      }),
      UTC,
    );
    const midnight = Date.parse('2023-12-31T18:30:00Z');
    expect(params.query).toEqual({
      metricId: 'm',
      fromMs: midnight,
      toMs: midnight + 2 * 86_400_000 - 60_000,
      aggregation: 'first',
    });
    expect((await withSeriesBuckets(params, 10_000, noPause)).buckets).toEqual([
      midnight,
      midnight + 86_400_000,
      midnight + 2 * 86_400_000,
    ]);
    expect(params.series).toEqual({ interval: { text: '1d', kind: 'day' }, zone: 'Asia/Kolkata' });
  });

  it('names a bad interval, an unknown zone and too many buckets', async () => {
    const bad = thrown(() =>
      parseSearchParams(
        fields({ metric: 'm', from: '0', to: '60', aggregation: 'sum', interval: '2d', tz: 'Mars/Olympus' }),
        UTC,
      ),
    );
    expect(bad.details?.map((d) => d.field)).toEqual(['tz', 'interval']);
    const day = (to: string) =>
      withSeriesBuckets(
        parseSearchParams(fields({ metric: 'm', from: '0', to, aggregation: 'sum', interval: '1m' }), UTC),
        1440,
        noPause,
      );
    await expect(day('86400')).rejects.toMatchObject({
      details: [
        expect.objectContaining({ field: 'interval', message: expect.stringContaining('more than 1440 buckets') }),
      ],
    });
    expect((await day('86399')).buckets).toHaveLength(1441); // 00:00 to 23:59 is exactly 1440 one-minute buckets
  });
});

describe('errors', () => {
  it('map each code to its status', () => {
    const expected: Record<ErrorCode, number> = {
      invalid_request: 400,
      unauthorized: 401,
      forbidden: 403,
      not_found: 404,
      method_not_allowed: 405,
      request_timeout: 408,
      payload_too_large: 413,
      unsupported_media_type: 415,
      not_representable: 422,
      query_too_large: 422,
      query_failed: 422,
      storage_unavailable: 503,
      clock_skew: 503,
      overloaded: 503,
      deadline_exceeded: 503,
      internal_error: 500,
    };
    for (const [code, status] of Object.entries(expected)) expect(statusOf(code as ErrorCode)).toBe(status);
    expect(new MeetrError('payload_too_large', 'x').status).toBe(413);
  });
});
