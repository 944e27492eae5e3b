/**
 * OpenTelemetry metrics from the OpenTelemetry JS SDK itself, through HAProxy to the
 * workers: its OTLP/HTTP protobuf exporter (gzip) and its OTLP/HTTP JSON exporter,
 * each from an application of its own, record counters, up-down counters, gauges
 * and histograms with attributes over several exports; the Prometheus API then
 * answers the values that were recorded (instant and range queries, rate, irate and
 * histogram_quantile).
 */
import { metrics as metricsApi } from '@opentelemetry/api';
import { OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtobufExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../support/eventually.js';

const stack = inject('stack');
const url = `${stack.baseUrl}/api/v1/otlp/v1/metrics`;

/** Latencies recorded in each round (seconds), against buckets [1, 2, 5, 10]. */
const LATENCIES = [0.3, 0.7, 1.5, 1.5, 3, 7];
const BOUNDS = [1, 2, 5, 10];
const ROUNDS = 5;
/** Per round: requests by route, and the queue's depth change. */
const PAY = 5;
const CART = 2;
const QUEUE_CHANGE = [4, -1, 3, -2, 1];
const TEMPERATURE = [20.5, 21, 21.25, 22, 21.75];

interface App {
  readonly instance: string;
  readonly provider: MeterProvider;
  readonly reader: PeriodicExportingMetricReader;
  record(round: number): void;
}

/** An instrumented application: its own provider, resource and exporter; it exports when told to (forceFlush). */
function application(instance: string, exporter: PushMetricExporter): App {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': 'shop',
      'service.namespace': 'otlp-test',
      'service.instance.id': instance,
      'host.name': `host-${instance}`,
    }),
    readers: [reader],
  });
  const meter = provider.getMeter('checkout', '1.0.0');
  const requests = meter.createCounter('http.server.requests', { unit: '{request}' });
  const queue = meter.createUpDownCounter('queue.depth');
  const temperature = meter.createGauge('room.temperature', { unit: 'Cel' });
  const latency = meter.createHistogram('http.server.duration', {
    unit: 's',
    advice: { explicitBucketBoundaries: BOUNDS },
  });
  return {
    instance,
    provider,
    reader,
    record(round) {
      requests.add(PAY, { route: '/pay', 'http.method': 'POST' });
      requests.add(CART, { route: '/cart', 'http.method': 'GET' });
      queue.add(QUEUE_CHANGE[round]!);
      temperature.record(TEMPERATURE[round]!, { room: 'lab' });
      for (const seconds of LATENCIES) latency.record(seconds, { route: '/pay' });
    },
  };
}

const apps = [
  application('proto-1', new ProtobufExporter({ url, compression: CompressionAlgorithm.GZIP })),
  application('json-1', new JsonExporter({ url })),
];

afterAll(async () => {
  await Promise.all(apps.map((app) => app.provider.shutdown()));
  metricsApi.disable();
});

async function prometheus(path: string, params: Record<string, string>): Promise<unknown> {
  const response = await fetch(`${stack.baseUrl}${path}?${new URLSearchParams(params)}`);
  const body = (await response.json()) as { status: string; data: { result: unknown } };
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.data.result;
}

type Samples = Array<[number, string]>;

/** The raw samples of one series, as a range vector selector returns them. */
async function samples(selector: string, atSeconds: number): Promise<Samples> {
  const result = (await prometheus('/api/v1/query', { query: `${selector}[10m]`, time: String(atSeconds) })) as Array<{
    values: Samples;
  }>;
  expect(result, selector).toHaveLength(1);
  return result[0]!.values;
}

async function instant(query: string, atSeconds: number): Promise<number> {
  const result = (await prometheus('/api/v1/query', { query, time: String(atSeconds) })) as Array<{
    value: [number, string];
  }>;
  expect(result, query).toHaveLength(1);
  return Number(result[0]!.value[1]);
}

/** Prometheus' extrapolated rate (promql/functions.go extrapolatedRate, 2.42) over a counter's samples in (t - range, t]. */
function expectedRate(values: Samples, atSeconds: number, rangeSeconds: number): number {
  const inRange = values.filter(([t]) => t > atSeconds - rangeSeconds && t <= atSeconds);
  const [firstT, firstV] = [inRange[0]![0], Number(inRange[0]![1])];
  const [lastT, lastV] = [inRange.at(-1)![0], Number(inRange.at(-1)![1])];
  const increase = lastV - firstV;
  const sampled = lastT - firstT;
  const average = sampled / (inRange.length - 1);
  let toStart = firstT - (atSeconds - rangeSeconds);
  const toEnd = atSeconds - lastT;
  if (increase > 0 && firstV >= 0) toStart = Math.min(toStart, sampled * (firstV / increase));
  const threshold = average * 1.1;
  const interval = sampled + (toStart < threshold ? toStart : average / 2) + (toEnd < threshold ? toEnd : average / 2);
  return (increase * (interval / sampled)) / rangeSeconds;
}

describe('OTLP from the OpenTelemetry SDK, through HAProxy', () => {
  it('exports of every instrument arrive complete and answer as recorded', { timeout: 120_000 }, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      for (const app of apps) app.record(round);
      await Promise.all(apps.map((app) => app.reader.forceFlush())); // fails if meetr refused the export
      await new Promise((resolve) => setTimeout(resolve, 1_100));
    }
    for (const { instance } of apps) {
      const id = `instance="${instance}",job="otlp-test/shop"`;
      const pay = `http_server_requests_total{${id},route="/pay",http_method="POST"}`;
      // The last export's time: the newest sample of any of its series.
      let payValues: Samples = [];
      await eventually(
        async () => {
          payValues = await samples(pay, Date.now() / 1000);
          return payValues.length === ROUNDS;
        },
        15_000,
        `${instance}: every export stored`,
      );
      const at = payValues.at(-1)![0];
      expect(payValues.map(([, v]) => Number(v))).toEqual([1, 2, 3, 4, 5].map((n) => n * PAY));
      expect((await samples(`http_server_requests_total{${id},route="/cart"}`, at)).map(([, v]) => Number(v))).toEqual(
        [1, 2, 3, 4, 5].map((n) => n * CART),
      );
      // An up-down counter is a gauge of its running total; a gauge keeps each value recorded.
      let depth = 0;
      expect((await samples(`queue_depth{${id}}`, at)).map(([, v]) => Number(v))).toEqual(
        QUEUE_CHANGE.map((change) => (depth += change)),
      );
      expect((await samples(`room_temperature_celsius{${id},room="lab"}`, at)).map(([, v]) => Number(v))).toEqual(
        TEMPERATURE,
      );
      // Every export's timestamps are the same across its series (one collection).
      expect((await samples(`queue_depth{${id}}`, at)).map(([t]) => t)).toEqual(payValues.map(([t]) => t));

      // Histograms: cumulative buckets, count and sum, by round.
      const perRound = (bound: number): number => LATENCIES.filter((s) => s <= bound).length;
      for (const bound of BOUNDS)
        expect(
          (await samples(`http_server_duration_seconds_bucket{${id},route="/pay",le="${bound}"}`, at)).map(([, v]) =>
            Number(v),
          ),
          `le=${bound}`,
        ).toEqual([1, 2, 3, 4, 5].map((n) => n * perRound(bound)));
      expect(await instant(`http_server_duration_seconds_bucket{${id},le="+Inf"}`, at)).toBe(ROUNDS * LATENCIES.length);
      expect(await instant(`http_server_duration_seconds_count{${id}}`, at)).toBe(ROUNDS * LATENCIES.length);
      expect(await instant(`http_server_duration_seconds_sum{${id}}`, at)).toBeCloseTo(
        ROUNDS * LATENCIES.reduce((a, b) => a + b),
        9,
      );

      // rate and irate over the counter's own samples.
      expect(await instant(`rate(${pay}[1m])`, at)).toBeCloseTo(expectedRate(payValues, at, 60), 9);
      const [previous, last] = payValues.slice(-2);
      // Times as the answer spells them (seconds, three decimals): the interval taken in whole milliseconds.
      const intervalMs = Math.round(last![0] * 1000) - Math.round(previous![0] * 1000);
      expect(await instant(`irate(${pay}[1m])`, at)).toBeCloseTo(PAY / (intervalMs / 1000), 9);
      // Every round records the same latencies: the quantiles of the buckets, or of their rates, are theirs.
      // Ranks 3 of 6 in (1, 2] holding 2 (from 2): 1.5; 5.4 of 6 in (5, 10] holding 1 (from 5): 7.
      expect(await instant(`histogram_quantile(0.5, http_server_duration_seconds_bucket{${id}})`, at)).toBeCloseTo(
        1.5,
        9,
      );
      expect(
        await instant(
          `histogram_quantile(0.9, sum by (le) (rate(http_server_duration_seconds_bucket{${id}}[1m])))`,
          at,
        ),
      ).toBeCloseTo(7, 9);
      const matrix = (await prometheus('/api/v1/query_range', {
        query: `histogram_quantile(0.5, http_server_duration_seconds_bucket{${id}})`,
        start: String(payValues[0]![0]),
        end: String(at),
        step: '1',
      })) as Array<{ values: Samples }>;
      expect(matrix).toHaveLength(1);
      expect(new Set(matrix[0]!.values.map(([, v]) => v))).toEqual(new Set(['1.5']));

      // The resource's other attributes are on target_info, joinable on job and instance.
      expect(await instant(`target_info{${id},host_name="host-${instance}"}`, at)).toBe(1);
    }
  });
});
