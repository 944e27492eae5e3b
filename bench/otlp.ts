/**
 * The bench's labelled counters as OTLP/HTTP protobuf exports, serialized by the
 * OpenTelemetry SDK's own serializer: each series a monotonic cumulative sum named
 * so that meetr's translation gives back the same series id (`bench_requests_total`
 * with the same labels, no resource), so an export is an upsert of what remote
 * write stored.
 */
import { ValueType } from '@opentelemetry/api';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { emptyResource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { postBodies, requestsOf, type LabelledSeries } from './backfill.js';

/** `[seconds, nanoseconds]`, the SDK's time. */
function hrTime(ms: number): [number, number] {
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}

/**
 * Export bodies of at most `pointsPerRequest` data points, cut as requestsOf cuts
 * remote-write bodies. Every series is `<name without _total>` as a counter, its
 * other labels as attributes, started at the first sample of the bodies.
 */
export function otlpBodies(series: readonly LabelledSeries[], pointsPerRequest = 2_000): Uint8Array[] {
  const startMs = Math.min(...series.map((s) => s.samples[0]?.[0] ?? Infinity));
  return requestsOf(series, pointsPerRequest).map((request) => {
    const metrics = request.map((s) => {
      const { __name__: name = '', ...attributes } = s.labels;
      return {
        descriptor: { name: name.replace(/_total$/, ''), description: '', unit: '', valueType: ValueType.DOUBLE },
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.SUM as const,
        isMonotonic: true,
        dataPoints: s.samples.map(([ts, value]) => ({
          attributes,
          startTime: hrTime(startMs),
          endTime: hrTime(ts),
          value,
        })),
      };
    });
    const resourceMetrics: ResourceMetrics = {
      resource: emptyResource(),
      scopeMetrics: [{ scope: { name: 'bench' }, metrics }],
    };
    return ProtobufMetricsSerializer.serializeRequest(resourceMetrics)!;
  });
}

/** Posts the bodies to `url`/api/v1/otlp/v1/metrics from `clients` exporters, retrying a 503 as they do. */
export function postOtlp(
  url: string,
  bodies: readonly Uint8Array[],
  clients = 8,
): Promise<{ seconds: number; failures: number }> {
  return postBodies(
    `${url}/api/v1/otlp/v1/metrics`,
    { 'Content-Type': 'application/x-protobuf' },
    200,
    bodies,
    clients,
  );
}
