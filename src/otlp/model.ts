/**
 * An OTLP ExportMetricsServiceRequest as meetr reads it, from protobuf (protobuf.ts)
 * or OTLP/JSON (json.ts) into one model (what translate.ts needs and nothing more):
 * attribute values already as the strings Prometheus makes of them, times in
 * milliseconds, numbers as doubles. Bodies are counted on the wire (wire.ts) before
 * either reader runs.
 */
import { invalidRequest } from '../errors.js';

/** AggregationTemporality: 0 unspecified, 1 delta, 2 cumulative. */
export const CUMULATIVE = 2;
/** DataPointFlags.FLAG_NO_RECORDED_VALUE: the point says its series ended (Prometheus writes a staleness marker). */
export const NO_RECORDED_VALUE = 1;

export interface Attribute {
  readonly key: string;
  readonly value: string;
}

export interface PointBase {
  readonly attributes: readonly Attribute[];
  readonly timeMs: number;
  readonly flags: number;
}

export interface NumberPoint extends PointBase {
  readonly value: number;
}

export interface HistogramPoint extends PointBase {
  readonly count: number;
  readonly sum: number | undefined;
  readonly bucketCounts: readonly number[];
  readonly bounds: readonly number[];
}

export interface SummaryPoint extends PointBase {
  readonly count: number;
  readonly sum: number;
  readonly quantiles: ReadonlyArray<{ readonly quantile: number; readonly value: number }>;
}

export type MetricData =
  | { readonly kind: 'gauge'; readonly points: readonly NumberPoint[] }
  | {
      readonly kind: 'sum';
      readonly temporality: number;
      readonly monotonic: boolean;
      readonly points: readonly NumberPoint[];
    }
  | { readonly kind: 'histogram'; readonly temporality: number; readonly points: readonly HistogramPoint[] }
  | { readonly kind: 'summary'; readonly points: readonly SummaryPoint[] }
  | { readonly kind: 'exponential_histogram'; readonly pointCount: number }
  | { readonly kind: 'none' };

export interface OtlpMetric {
  readonly name: string;
  readonly unit: string;
  readonly data: MetricData;
}

export interface OtlpResource {
  readonly attributes: readonly Attribute[];
  readonly metrics: readonly OtlpMetric[];
}

/** An export request: its resources, each with the metrics of all its scopes. */
export type OtlpRequest = readonly OtlpResource[];

/** What an answer says was refused. */
export interface PartialSuccess {
  readonly rejectedDataPoints: number;
  readonly errorMessage: string;
}

/** An attribute value inside an array or a map, as the JSON Prometheus writes of it. */
export type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };

/** A double as Go's pcommon writes it into a label: as JavaScript's String does (ES6 number to string). */
export function doubleText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

export function notARequest(reason: string, format: 'protobuf' | 'JSON'): never {
  throw invalidRequest(`the body is not an OTLP ExportMetricsServiceRequest: ${reason}`, [
    { field: 'body', message: `is not an ExportMetricsServiceRequest in ${format}` },
  ]);
}
