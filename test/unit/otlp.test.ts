/**
 * OTLP metrics at the HTTP edge, over the in-memory store: the bodies of the
 * OpenTelemetry SDK's own serializers, and hand-written OTLP/JSON for each
 * translation rule (Prometheus' OTLP receiver is the reference).
 */
import { gzipSync } from 'node:zlib';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { labelName, metricName, formatFloat, type NamingType } from '../../src/otlp/names.js';
import { OTLP_METRICS_PROTO } from '../../src/otlp/protobuf.js';
import { memoryApp, type MemoryApp } from '../support/memory-app.js';

const PATH = '/api/v1/otlp/v1/metrics';
const Response = protobuf.parse(OTLP_METRICS_PROTO).root.lookupType('ExportMetricsServiceResponse');
const Request = protobuf.parse(OTLP_METRICS_PROTO).root.lookupType('ExportMetricsServiceRequest');

/** Collects on demand, as a periodic reader would before each export. */
class CollectingReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const now = Date.now();
const nowNs = `${now}000000`;

type Vector = Array<{ metric: Record<string, string>; value: [number, string] }>;

async function query(app: MemoryApp['app'], promql: string, atMs = now): Promise<Vector> {
  const response = await app.request(
    `/api/v1/query?${new URLSearchParams({ query: promql, time: String(atMs / 1000) })}`,
  );
  const answer = (await response.json()) as { status: string; data: { result: Vector } };
  expect(answer.status).toBe('success');
  return answer.data.result;
}

/** `result` as `{labels} value` lines, sorted, for comparing whole answers. */
function lines(result: Vector): string[] {
  return result
    .map(({ metric, value }) => {
      const labels = Object.entries(metric)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      return `{${labels}} ${value[1]}`;
    })
    .sort();
}

function postJson(
  app: MemoryApp['app'],
  body: unknown,
  headers: Record<string, string> = {},
): Promise<globalThis.Response> {
  return Promise.resolve(
    app.request(PATH, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  );
}

function postProtobuf(
  app: MemoryApp['app'],
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<globalThis.Response> {
  return Promise.resolve(
    app.request(PATH, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf', ...headers },
      body: Buffer.from(body),
    }),
  );
}

/** One resource of `metrics`, with service.name `svc`, in OTLP/JSON. */
function request(metrics: unknown[], resourceAttributes: unknown[] = [attr('service.name', 'svc')]): unknown {
  return {
    resourceMetrics: [
      { resource: { attributes: resourceAttributes }, scopeMetrics: [{ scope: { name: 's' }, metrics }] },
    ],
  };
}

function attr(key: string, value: string): unknown {
  return { key, value: { stringValue: value } };
}

function point(value: number, attributes: unknown[] = [], extra: Record<string, unknown> = {}): unknown {
  return { attributes, timeUnixNano: nowNs, asDouble: value, ...extra };
}

async function partialSuccess(
  response: globalThis.Response,
): Promise<{ rejectedDataPoints?: string; errorMessage?: string }> {
  expect(response.status).toBe(200);
  return (
    ((await response.json()) as { partialSuccess?: { rejectedDataPoints?: string; errorMessage?: string } })
      .partialSuccess ?? {}
  );
}

/** What an application instrumented with the SDK records: every instrument kind, with attributes. */
async function sdkExport(): Promise<ResourceMetrics> {
  const reader = new CollectingReader();
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': 'checkout',
      'service.namespace': 'shop',
      'service.instance.id': 'pod-1',
      'deployment.environment': 'test',
    }),
    readers: [reader],
  });
  const meter = provider.getMeter('orders', '1.2.0');
  const requests = meter.createCounter('http.server.requests', { unit: '{request}' });
  requests.add(3, { 'http.method': 'GET', 'http.status_code': 200 });
  requests.add(1, { 'http.method': 'POST', 'http.status_code': 500 });
  meter.createUpDownCounter('queue.depth').add(7, { queue: 'a' });
  meter.createGauge('cpu.utilization', { unit: '1' }).record(0.25);
  const latency = meter.createHistogram('http.server.duration', {
    unit: 's',
    advice: { explicitBucketBoundaries: [0.1, 0.5, 1] },
  });
  for (const seconds of [0.05, 0.2, 0.3, 0.7, 2]) latency.record(seconds, { route: '/pay' });
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  await provider.shutdown();
  return resourceMetrics;
}

const IDENTITY = 'instance="pod-1",job="shop/checkout"';

describe('POST /api/v1/otlp/v1/metrics with the SDK serializers', () => {
  for (const [format, send] of [
    [
      'protobuf',
      (app: MemoryApp['app'], m: ResourceMetrics) => postProtobuf(app, ProtobufMetricsSerializer.serializeRequest(m)!),
    ],
    [
      'JSON',
      (app: MemoryApp['app'], m: ResourceMetrics) =>
        postJson(app, Buffer.from(JsonMetricsSerializer.serializeRequest(m)!).toString()),
    ],
  ] as const) {
    it(`stores every instrument as Prometheus names it (${format})`, async () => {
      const { app, unexpected } = memoryApp();
      const exported = await sdkExport();
      const time = exported.scopeMetrics[0]!.metrics[0]!.dataPoints[0]!.endTime;
      const atMs = time[0] * 1000 + Math.floor(time[1] / 1e6);
      const response = await send(app, exported);
      expect(response.status).toBe(200);
      if (format === 'protobuf') {
        expect(response.headers.get('content-type')).toBe('application/x-protobuf');
        expect(Response.toObject(Response.decode(new Uint8Array(await response.arrayBuffer())))).toEqual({});
      } else {
        expect(await response.json()).toEqual({});
      }
      expect(
        lines(await query(app, '{__name__=~"http_server_requests_total|queue_depth|cpu_utilization_ratio"}', atMs)),
      ).toEqual([
        `{__name__="cpu_utilization_ratio",${IDENTITY}} 0.25`,
        `{__name__="http_server_requests_total",http_method="GET",http_status_code="200",${IDENTITY}} 3`,
        `{__name__="http_server_requests_total",http_method="POST",http_status_code="500",${IDENTITY}} 1`,
        `{__name__="queue_depth",${IDENTITY},queue="a"} 7`,
      ]);
      expect(lines(await query(app, '{__name__=~"http_server_duration_seconds.*"}', atMs))).toEqual(
        [
          `{__name__="http_server_duration_seconds_bucket",${IDENTITY},le="+Inf",route="/pay"} 5`,
          `{__name__="http_server_duration_seconds_bucket",${IDENTITY},le="0.1",route="/pay"} 1`,
          `{__name__="http_server_duration_seconds_bucket",${IDENTITY},le="0.5",route="/pay"} 3`,
          `{__name__="http_server_duration_seconds_bucket",${IDENTITY},le="1",route="/pay"} 4`,
          `{__name__="http_server_duration_seconds_count",${IDENTITY},route="/pay"} 5`,
          `{__name__="http_server_duration_seconds_sum",${IDENTITY},route="/pay"} 3.25`,
        ].sort(),
      );
      expect(lines(await query(app, 'target_info', atMs))).toEqual([
        `{__name__="target_info",deployment_environment="test",${IDENTITY}} 1`,
      ]);
      expect(unexpected).toEqual([]);
    });
  }

  it('accepts a gzip body', async () => {
    const { app } = memoryApp();
    const body = gzipSync(ProtobufMetricsSerializer.serializeRequest(await sdkExport())!);
    expect((await postProtobuf(app, body, { 'Content-Encoding': 'gzip' })).status).toBe(200);
    expect(await query(app, 'queue_depth', Date.now())).toHaveLength(1);
  });
});

describe('translation rules, one at a time', () => {
  it('gauges and non-monotonic sums keep their name; a monotonic sum is a counter ending in _total; an integer value is a double', async () => {
    const { app } = memoryApp();
    const sum = (monotonic: boolean, name: string): unknown => ({
      name,
      sum: { aggregationTemporality: 2, isMonotonic: monotonic, dataPoints: [{ timeUnixNano: nowNs, asInt: '42' }] },
    });
    await partialSuccess(
      await postJson(
        app,
        request([
          { name: 'temp', unit: 'Cel', gauge: { dataPoints: [point(21.5)] } },
          sum(true, 'jobs.done'),
          sum(false, 'jobs.open'),
        ]),
      ),
    );
    expect(lines(await query(app, '{job="svc"}'))).toEqual([
      '{__name__="jobs_done_total",job="svc"} 42',
      '{__name__="jobs_open",job="svc"} 42',
      '{__name__="temp_celsius",job="svc"} 21.5',
    ]);
  });

  it('points of one metric with the same attributes are one series; attributes that only read alike are not', async () => {
    const { app } = memoryApp();
    const earlier = { timeUnixNano: String(BigInt(nowNs) - 10_000_000_000n) };
    const points = [
      point(1, [attr('a', 'b'), attr('c', 'x')], earlier),
      point(2, [attr('a', 'b'), attr('c', 'x')]),
      point(3, [attr('ab', 'cx')], earlier),
      point(4, [attr('ab', 'cx')]),
      point(5, [attr('a', 'b1:c1:x')]),
    ];
    await partialSuccess(await postJson(app, request([{ name: 'g', gauge: { dataPoints: points } }])));
    expect(lines(await query(app, 'g'))).toEqual([
      '{__name__="g",a="b",c="x",job="svc"} 2',
      '{__name__="g",a="b1:c1:x",job="svc"} 5',
      '{__name__="g",ab="cx",job="svc"} 4',
    ]);
    expect(lines(await query(app, 'count_over_time(g[1m])'))).toEqual([
      '{a="b",c="x",job="svc"} 2',
      '{a="b1:c1:x",job="svc"} 1',
      '{ab="cx",job="svc"} 2',
    ]);
  });

  it('a summary is its quantiles, _sum and _count', async () => {
    const { app } = memoryApp();
    const summary = {
      dataPoints: [
        {
          timeUnixNano: nowNs,
          count: '10',
          sum: 4.5,
          quantileValues: [
            { quantile: 0.5, value: 0.3 },
            { quantile: 0.99, value: 1.2 },
          ],
        },
      ],
    };
    await partialSuccess(await postJson(app, request([{ name: 'rpc.latency', unit: 'ms', summary }])));
    expect(lines(await query(app, '{job="svc"}'))).toEqual([
      '{__name__="rpc_latency_milliseconds",job="svc",quantile="0.5"} 0.3',
      '{__name__="rpc_latency_milliseconds",job="svc",quantile="0.99"} 1.2',
      '{__name__="rpc_latency_milliseconds_count",job="svc"} 10',
      '{__name__="rpc_latency_milliseconds_sum",job="svc"} 4.5',
    ]);
  });

  it('a histogram without a sum has no _sum series; bucket bounds are written in full', async () => {
    const { app } = memoryApp();
    const histogram = {
      aggregationTemporality: 2,
      dataPoints: [{ timeUnixNano: nowNs, count: 3, bucketCounts: [1, 1, 1], explicitBounds: [1e-7, 1e21] }],
    };
    await partialSuccess(await postJson(app, request([{ name: 'tiny', histogram }])));
    expect(lines(await query(app, '{job="svc"}'))).toEqual([
      '{__name__="tiny_bucket",job="svc",le="+Inf"} 3',
      '{__name__="tiny_bucket",job="svc",le="0.0000001"} 1',
      '{__name__="tiny_bucket",job="svc",le="1000000000000000000000"} 2',
      '{__name__="tiny_count",job="svc"} 3',
    ]);
  });

  it('attribute keys become label names; keys that meet are joined with ";" in key order; values of any type are text', async () => {
    const { app } = memoryApp();
    const attributes = [
      attr('a.b', 'dot'),
      attr('a-b', 'dash'),
      attr('9lives', 'x'),
      attr('_private', 'y'),
      { key: 'n', value: { intValue: '-12' } },
      { key: 'f', value: { doubleValue: 0.5 } },
      { key: 'ok', value: { boolValue: true } },
      { key: 'list', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: 2 }] } } },
      { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: false } }] } } },
    ];
    await partialSuccess(await postJson(app, request([{ name: 'g', gauge: { dataPoints: [point(1, attributes)] } }])));
    expect(await query(app, 'g')).toEqual([
      {
        metric: {
          __name__: 'g',
          a_b: 'dash;dot',
          key_9lives: 'x',
          key_private: 'y',
          n: '-12',
          f: '0.5',
          ok: 'true',
          list: '["x",2]',
          map: '{"k":false}',
          job: 'svc',
        },
        value: [now / 1000, '1'],
      },
    ]);
  });

  it('job and instance come from the resource, over attributes of those names; target_info carries the rest of it', async () => {
    const { app } = memoryApp();
    const resource = [attr('service.name', 'api'), attr('service.instance.id', 'i-1'), attr('host.name', 'h1')];
    await partialSuccess(
      await postJson(
        app,
        request(
          [{ name: 'g', gauge: { dataPoints: [point(1, [attr('job', 'mine'), attr('instance', 'x')])] } }],
          resource,
        ),
      ),
    );
    expect(lines(await query(app, 'g'))).toEqual(['{__name__="g",instance="i-1",job="api"} 1']);
    expect(lines(await query(app, 'target_info'))).toEqual([
      '{__name__="target_info",host_name="h1",instance="i-1",job="api"} 1',
    ]);
  });

  it('no target_info for a resource with nothing but its identity, or with no identity', async () => {
    const { app } = memoryApp();
    await partialSuccess(await postJson(app, request([{ name: 'a', gauge: { dataPoints: [point(1)] } }])));
    await partialSuccess(
      await postJson(app, request([{ name: 'b', gauge: { dataPoints: [point(1)] } }], [attr('host.name', 'h')])),
    );
    expect(await query(app, 'target_info')).toEqual([]);
    expect(lines(await query(app, 'b'))).toEqual(['{__name__="b"} 1']);
  });

  it('a point flagged "no recorded value" is a staleness marker: the series ends there', async () => {
    const { app } = memoryApp();
    const earlier = `${now - 30_000}000000`;
    await partialSuccess(
      await postJson(
        app,
        request([
          { name: 'g', gauge: { dataPoints: [{ timeUnixNano: earlier, asDouble: 5 }, point(0, [], { flags: 1 })] } },
        ]),
      ),
    );
    expect(lines(await query(app, 'g', now - 1))).toEqual(['{__name__="g",job="svc"} 5']);
    expect(await query(app, 'g', now + 1000)).toEqual([]);
  });

  it('delta sums and histograms, exponential histograms and metrics without data are refused in partial_success, the rest stored', async () => {
    const { app } = memoryApp();
    const delta = {
      name: 'd',
      sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [point(1), point(2)] },
    };
    const deltaHistogram = {
      name: 'dh',
      histogram: {
        aggregationTemporality: 'AGGREGATION_TEMPORALITY_DELTA',
        dataPoints: [{ timeUnixNano: nowNs, count: 1 }],
      },
    };
    const exponential = {
      name: 'e',
      exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: nowNs, count: 1, scale: 2 }] },
    };
    const empty = { name: 'nothing' };
    const kept = { name: 'kept', gauge: { dataPoints: [point(1)] } };
    const partial = await partialSuccess(
      await postJson(app, request([delta, deltaHistogram, exponential, empty, kept])),
    );
    expect(partial.rejectedDataPoints).toBe('4');
    expect(partial.errorMessage).toContain('metric "d" has delta temporality');
    expect(partial.errorMessage).toContain('metric "dh" has delta temporality');
    expect(partial.errorMessage).toContain('metric "e" is an exponential histogram');
    expect(partial.errorMessage).toContain('metric "nothing" has no gauge, sum, histogram or summary');
    expect(lines(await query(app, '{job="svc"}'))).toEqual(['{__name__="kept",job="svc"} 1']);
  });

  it('points too far in the future, series ids too long and names with no name characters are refused one by one', async () => {
    const { app } = memoryApp();
    const future = `${now + 2 * 86_400_000}000000`;
    const metrics = [
      {
        name: 'g',
        gauge: {
          dataPoints: [point(1), { timeUnixNano: future, asDouble: 2 }, point(3, [attr('long', 'x'.repeat(300))])],
        },
      },
      { name: '@#$', gauge: { dataPoints: [point(1)] } },
    ];
    const partial = await partialSuccess(await postJson(app, request(metrics)));
    expect(partial.rejectedDataPoints).toBe('3');
    expect(partial.errorMessage).toMatch(/too far in the future/);
    expect(partial.errorMessage).toMatch(/must be at most 255 characters/);
    expect(partial.errorMessage).toMatch(/metric name "@#\$" has no name characters/);
    expect(lines(await query(app, 'g'))).toEqual(['{__name__="g",job="svc"} 1']);
    // A histogram point is one data point however many of its samples are refused.
    const histogram = {
      aggregationTemporality: 2,
      dataPoints: [{ timeUnixNano: future, count: 2, sum: 1, bucketCounts: [1, 1], explicitBounds: [1] }],
    };
    const refused = await partialSuccess(await postJson(app, request([{ name: 'h', histogram }])));
    expect(refused.rejectedDataPoints).toBe('1');
  });

  it('answers partial_success in protobuf to a protobuf request', async () => {
    const { app } = memoryApp();
    const body = Request.encode(
      Request.fromObject({
        resourceMetrics: [
          {
            scopeMetrics: [
              {
                metrics: [
                  { name: 'x', sum: { aggregationTemporality: 1, dataPoints: [{ timeUnixNano: 1, asDouble: 1 }] } },
                ],
              },
            ],
          },
        ],
      }),
    ).finish();
    const response = await postProtobuf(app, body);
    expect(response.status).toBe(200);
    const answer = Response.toObject(Response.decode(new Uint8Array(await response.arrayBuffer())), { longs: String });
    expect(answer).toMatchObject({
      partialSuccess: { rejectedDataPoints: '1', errorMessage: expect.stringContaining('delta') },
    });
  });
});

describe('names, as Prometheus makes them', () => {
  const cases: Array<[string, string, NamingType, string | undefined]> = [
    ['requests', '', 'monotonic_counter', 'requests_total'],
    ['requests_total', '', 'monotonic_counter', 'requests_total'],
    ['cpu_usage', '1', 'gauge', 'cpu_usage_ratio'],
    ['cpu_usage_ratio', '1', 'gauge', 'cpu_usage_ratio'],
    ['items', '1', 'monotonic_counter', 'items_total'],
    ['response_time', 'ms', 'gauge', 'response_time_milliseconds'],
    ['response_time_seconds', 's', 'gauge', 'response_time_seconds'],
    ['memory_usage', 'By', 'gauge', 'memory_usage_bytes'],
    ['requests', '1/s', 'gauge', 'requests_per_second'],
    ['throughput', 'By/s', 'gauge', 'throughput_bytes_per_second'],
    ['custom_metric', 'custom_unit', 'gauge', 'custom_metric_custom_unit'],
    ['custom_metric', '{custom}', 'gauge', 'custom_metric'],
    ['custom_metric', 'By/{custom}', 'gauge', 'custom_metric_bytes'],
    [
      'metric__with__multiple__underscores',
      'unit__multiple__underscores',
      'gauge',
      'metric_with_multiple_underscores_unit_multiple_underscores',
    ],
    ['custom_metric', 'unit@with#special/chars', 'gauge', 'custom_metric_unit_with_special_per_chars'],
    ['request_duration', 's', 'histogram', 'request_duration_seconds'],
    ['response_time', 'ms', 'summary', 'response_time_milliseconds'],
    ['active_connections', '', 'non_monotonic_counter', 'active_connections'],
    ['uptime', 'd', 'gauge', 'uptime_days'],
    ['http.server.duration', 's', 'histogram', 'http_server_duration_seconds'],
    ['123_requests', '', 'monotonic_counter', '_123_requests_total'],
    ['métric', '', 'gauge', 'm_tric'],
    ['ns:sub.metric', '', 'gauge', 'ns:sub_metric'],
    ['@#$%', '', 'gauge', undefined],
  ];
  for (const [name, unit, type, expected] of cases)
    it(`${name} [${unit}] as ${type} is ${expected ?? 'refused'}`, () =>
      expect(metricName(name, unit, type)).toBe(expected));

  it('attribute keys as label names', () => {
    expect(labelName('http.method')).toBe('http_method');
    expect(labelName('123invalid')).toBe('key_123invalid');
    expect(labelName('_private')).toBe('key_private');
    expect(labelName('__reserved__')).toBe('__reserved__');
    expect(labelName('ünïcode')).toBe('key_n_code');
    expect(labelName('...')).toBeUndefined();
    expect(labelName('')).toBeUndefined();
  });

  it('bounds and quantiles as Go writes them with FormatFloat(v, f, -1, 64)', () => {
    expect([0.005, 1e-7, 1e21, 2.5, 100, -3e-10, 1.5e300, Number.POSITIVE_INFINITY].map(formatFloat)).toEqual([
      '0.005',
      '0.0000001',
      '1000000000000000000000',
      '2.5',
      '100',
      '-0.0000000003',
      `15${'0'.repeat(299)}`,
      '+Inf',
    ]);
  });
});

describe('refusals', () => {
  it('415 for other content types, 405 for other methods', async () => {
    const { app } = memoryApp();
    const text = await app.request(PATH, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ error: 'unsupported_media_type' });
    const get = await app.request(PATH);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('400 for bodies that are not a request, naming where', async () => {
    const { app } = memoryApp();
    const garbage = await postProtobuf(app, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]));
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toMatchObject({
      error: 'invalid_request',
      message: expect.stringContaining('ExportMetricsServiceRequest'),
    });
    const broken = await postJson(app, '{"resourceMetrics": [');
    expect(broken.status).toBe(400);
    const wrong = await postJson(
      app,
      request([{ name: 'g', gauge: { dataPoints: [{ timeUnixNano: 'soon', asDouble: 1 }] } }]),
    );
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({
      details: [{ field: 'resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].timeUnixNano' }],
    });
  });

  it('413 past MEETR_MAX_BATCH samples, counted on the wire (a histogram point is its buckets and two)', async () => {
    const { app } = memoryApp({ MEETR_MAX_BATCH: '10' });
    const histogram = {
      aggregationTemporality: 2,
      dataPoints: [
        { timeUnixNano: nowNs, count: 9, bucketCounts: Array(9).fill(1), explicitBounds: [1, 2, 3, 4, 5, 6, 7, 8] },
      ],
    };
    const json = await postJson(app, request([{ name: 'h', histogram }]));
    expect(json.status).toBe(413);
    const proto = await postProtobuf(
      app,
      Request.encode(Request.fromObject(request([{ name: 'h', histogram }]) as object)).finish(),
    );
    expect(proto.status).toBe(413);
    expect(await proto.json()).toMatchObject({ error: 'payload_too_large' });
    expect(await query(app, '{__name__=~"h.*"}')).toEqual([]);
  });

  it('a body of a million empty data points, or of nested empty objects, is refused before it is decoded', async () => {
    const { app } = memoryApp();
    // Metric{gauge{data_points × 10^6}}: each empty point is two bytes on the wire.
    const points = Buffer.alloc(2_000_000);
    for (let i = 0; i < points.length; i += 2) points[i] = 0x0a;
    const gauge = Buffer.concat([Buffer.from([0x2a]), varint(points.length), points]);
    const metric = Buffer.concat([Buffer.from([0x12]), varint(gauge.length), gauge]);
    const scope = Buffer.concat([Buffer.from([0x12]), varint(metric.length), metric]);
    const body = Buffer.concat([Buffer.from([0x0a]), varint(scope.length), scope]);
    const refused = await postProtobuf(app, body);
    expect(refused.status).toBe(413);
    expect(await refused.json()).toMatchObject({ message: expect.stringContaining('more than 100000 samples') });
    const nested = await postJson(app, `{"resourceMetrics":[${'{},'.repeat(4_000_000)}{}]}`);
    expect(nested.status).toBe(413);
    expect(await nested.json()).toMatchObject({ message: expect.stringContaining('JSON objects and arrays') });
  });

  it('400 for a point with more attributes than a series may have labels, or a value longer than a label may be', async () => {
    const { app } = memoryApp();
    const many = Array.from({ length: 65 }, (_, i) => attr(`k${i}`, 'v'));
    const body = Request.encode(
      Request.fromObject(request([{ name: 'g', gauge: { dataPoints: [point(1, many)] } }]) as object),
    ).finish();
    const refused = await postProtobuf(app, body);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ message: expect.stringContaining('65 attributes, more than 64') });
    const long = Request.encode(
      Request.fromObject(
        request([{ name: 'g', gauge: { dataPoints: [point(1, [attr('k', 'v'.repeat(5000))])] } }]) as object,
      ),
    ).finish();
    expect((await postProtobuf(app, long)).status).toBe(400);
  });
});

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}
