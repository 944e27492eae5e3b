/**
 * OTLP metrics in protobuf: the request read into the model (model.ts), the
 * response written.
 */
import protobuf from 'protobufjs';
import {
  doubleText,
  notARequest,
  type Attribute,
  type NumberPoint,
  type OtlpMetric,
  type OtlpRequest,
  type PartialSuccess,
  type Plain,
  type PointBase,
} from './model.js';

/**
 * The parts of opentelemetry/proto/{collector/metrics/v1/metrics_service,
 * metrics/v1/metrics, common/v1/common, resource/v1/resource}.proto that become
 * samples (exemplars, metadata and exponential histograms' buckets are left out:
 * protobuf skips unknown fields; an exponential histogram is told by its field).
 */
export const OTLP_METRICS_PROTO = `syntax = "proto3";
  message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
  message ExportMetricsServiceResponse { ExportMetricsPartialSuccess partial_success = 1; }
  message ExportMetricsPartialSuccess { int64 rejected_data_points = 1; string error_message = 2; }
  message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
  message Resource { repeated KeyValue attributes = 1; }
  message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; }
  message InstrumentationScope { string name = 1; string version = 2; }
  message Metric {
    string name = 1; string unit = 3;
    oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9;
      ExponentialHistogram exponential_histogram = 10; Summary summary = 11; }
  }
  message Gauge { repeated NumberDataPoint data_points = 1; }
  message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
  message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
  message ExponentialHistogram { repeated Empty data_points = 1; int32 aggregation_temporality = 2; }
  message Summary { repeated SummaryDataPoint data_points = 1; }
  message Empty {}
  message NumberDataPoint {
    repeated KeyValue attributes = 7; fixed64 time_unix_nano = 3;
    oneof value { double as_double = 4; sfixed64 as_int = 6; }
    uint32 flags = 8;
  }
  message HistogramDataPoint {
    repeated KeyValue attributes = 9; fixed64 time_unix_nano = 3; fixed64 count = 4;
    optional double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7;
    uint32 flags = 10;
  }
  message SummaryDataPoint {
    repeated KeyValue attributes = 7; fixed64 time_unix_nano = 3; fixed64 count = 4; double sum = 5;
    repeated ValueAtQuantile quantile_values = 6; uint32 flags = 8;
  }
  message ValueAtQuantile { double quantile = 1; double value = 2; }
  message KeyValue { string key = 1; AnyValue value = 2; }
  message AnyValue {
    oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
      ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; }
  }
  message ArrayValue { repeated AnyValue values = 1; }
  message KeyValueList { repeated KeyValue values = 1; }`;

const ROOT = protobuf.parse(OTLP_METRICS_PROTO).root;
const REQUEST = ROOT.lookupType('ExportMetricsServiceRequest');
const RESPONSE = ROOT.lookupType('ExportMetricsServiceResponse');

/** The ExportMetricsServiceResponse as protobuf. */
export function encodeResponse(partial: PartialSuccess | undefined): Uint8Array {
  const message =
    partial === undefined
      ? {}
      : {
          partialSuccess: {
            rejectedDataPoints: partial.rejectedDataPoints,
            errorMessage: partial.errorMessage,
          },
        };
  return RESPONSE.encode(RESPONSE.create(message)).finish();
}

/** A 64-bit integer as protobufjs gives it (a Long with `long` installed). */
interface LongBits {
  readonly low: number;
  readonly high: number;
  readonly unsigned?: boolean;
}
type Int64 = number | LongBits;

interface PbKeyValue {
  key?: string;
  value?: PbAnyValue;
}
interface PbAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Int64;
  doubleValue?: number;
  arrayValue?: { values?: PbAnyValue[] };
  kvlistValue?: { values?: PbKeyValue[] };
  bytesValue?: Uint8Array;
}
interface PbPoint {
  attributes?: PbKeyValue[];
  timeUnixNano?: Int64;
  flags?: number;
  asDouble?: number;
  asInt?: Int64;
  count?: Int64;
  sum?: number;
  bucketCounts?: Int64[];
  explicitBounds?: number[];
  quantileValues?: Array<{ quantile?: number; value?: number }>;
}
interface PbMetric {
  name?: string;
  unit?: string;
  gauge?: { dataPoints?: PbPoint[] };
  sum?: { dataPoints?: PbPoint[]; aggregationTemporality?: number; isMonotonic?: boolean };
  histogram?: { dataPoints?: PbPoint[]; aggregationTemporality?: number };
  exponentialHistogram?: { dataPoints?: unknown[] };
  summary?: { dataPoints?: PbPoint[] };
}
interface PbRequest {
  resourceMetrics?: Array<{
    resource?: { attributes?: PbKeyValue[] };
    scopeMetrics?: Array<{ metrics?: PbMetric[] }>;
  }>;
}

/** An ExportMetricsServiceRequest in protobuf; invalid_request when the bytes are not one. */
export function readProtobufRequest(body: Uint8Array): OtlpRequest {
  let decoded: PbRequest;
  try {
    decoded = REQUEST.decode(body) as unknown as PbRequest;
  } catch (error) {
    throw notARequest((error as Error).message, 'protobuf');
  }
  return (decoded.resourceMetrics ?? []).map((r) => ({
    attributes: pbAttributes(r.resource?.attributes),
    metrics: (r.scopeMetrics ?? []).flatMap((s) => (s.metrics ?? []).map(pbMetric)),
  }));
}

function pbMetric(m: PbMetric): OtlpMetric {
  const numberPoints = (points: PbPoint[] | undefined): NumberPoint[] =>
    (points ?? []).map((p) => ({
      ...pbPointBase(p),
      value: own(p, 'asInt') !== undefined ? int64Value(own(p, 'asInt')!) : (own(p, 'asDouble') ?? 0),
    }));
  const base = { name: m.name ?? '', unit: m.unit ?? '' };
  if (m.gauge) return { ...base, data: { kind: 'gauge', points: numberPoints(m.gauge.dataPoints) } };
  if (m.sum)
    return {
      ...base,
      data: {
        kind: 'sum',
        temporality: m.sum.aggregationTemporality ?? 0,
        monotonic: m.sum.isMonotonic ?? false,
        points: numberPoints(m.sum.dataPoints),
      },
    };
  if (m.histogram)
    return {
      ...base,
      data: {
        kind: 'histogram',
        temporality: m.histogram.aggregationTemporality ?? 0,
        points: (m.histogram.dataPoints ?? []).map((p) => ({
          ...pbPointBase(p),
          count: int64Value(p.count ?? 0),
          sum: own(p, 'sum') ?? undefined,
          bucketCounts: (p.bucketCounts ?? []).map(int64Value),
          bounds: p.explicitBounds ?? [],
        })),
      },
    };
  if (m.summary)
    return {
      ...base,
      data: {
        kind: 'summary',
        points: (m.summary.dataPoints ?? []).map((p) => ({
          ...pbPointBase(p),
          count: int64Value(p.count ?? 0),
          sum: p.sum ?? 0,
          quantiles: (p.quantileValues ?? []).map((q) => ({ quantile: q.quantile ?? 0, value: q.value ?? 0 })),
        })),
      },
    };
  if (m.exponentialHistogram)
    return {
      ...base,
      data: { kind: 'exponential_histogram', pointCount: m.exponentialHistogram.dataPoints?.length ?? 0 },
    };
  return { ...base, data: { kind: 'none' } };
}

function pbPointBase(p: PbPoint): PointBase {
  return {
    attributes: pbAttributes(p.attributes),
    timeMs: p.timeUnixNano === undefined ? 0 : nanosToMs(p.timeUnixNano),
    flags: p.flags ?? 0,
  };
}

function pbAttributes(attributes: PbKeyValue[] | undefined): Attribute[] {
  return (attributes ?? []).map((a) => ({ key: a.key ?? '', value: pbAnyValueText(a.value) }));
}

/** An AnyValue as Prometheus writes it into a label (pcommon.Value.AsString): JSON for arrays and maps. */
function pbAnyValueText(value: PbAnyValue | undefined): string {
  const plain = pbAnyValuePlain(value);
  return typeof plain === 'string' ? plain : JSON.stringify(plain);
}

function pbAnyValuePlain(value: PbAnyValue | undefined): Plain {
  if (value === undefined) return '';
  const string = own(value, 'stringValue');
  if (string !== undefined) return string;
  const bool = own(value, 'boolValue');
  if (bool !== undefined) return bool ? 'true' : 'false';
  const int = own(value, 'intValue');
  if (int !== undefined) return int64Text(int, true);
  const double = own(value, 'doubleValue');
  if (double !== undefined) return doubleText(double);
  const bytes = own(value, 'bytesValue');
  if (bytes !== undefined) return Buffer.from(bytes).toString('base64');
  const array = own(value, 'arrayValue');
  if (array !== undefined) return (array.values ?? []).map(nested);
  const kvlist = own(value, 'kvlistValue');
  if (kvlist !== undefined)
    return Object.fromEntries((kvlist.values ?? []).map((kv) => [kv.key ?? '', nested(kv.value)]));
  return '';
}

/** A value inside an array or map keeps its JSON type, as Prometheus' JSON of it does. */
function nested(value: PbAnyValue | undefined): Plain {
  if (value === undefined) return '';
  const int = own(value, 'intValue');
  if (int !== undefined) return Number(int64Text(int, true));
  const double = own(value, 'doubleValue');
  if (double !== undefined) return Number.isFinite(double) ? double : String(double);
  const bool = own(value, 'boolValue');
  if (bool !== undefined) return bool;
  return pbAnyValuePlain(value);
}

/**
 * A field the message itself holds: protobufjs puts proto3 defaults on the
 * prototype ('' for every string of a oneof), so presence is an own property.
 */
function own<T extends object, K extends keyof T>(message: T, key: K): T[K] | undefined {
  return Object.prototype.hasOwnProperty.call(message, key) ? message[key] : undefined;
}

/** Nanoseconds since the epoch (an unsigned fixed64) in whole milliseconds, exactly. */
function nanosToMs(value: Int64): number {
  if (typeof value === 'number') return Math.floor(value / 1e6);
  const high = value.high >>> 0;
  const low = value.low >>> 0;
  // high · 2^32 + low = high · 4294 · 10^6 + (high · 967296 + low), each part exact in a double
  return high * 4294 + Math.floor((high * 967_296 + low) / 1e6);
}

/** A 64-bit integer as a double (signed unless the Long says otherwise), as Prometheus' float64(...) does. */
function int64Value(value: Int64): number {
  if (typeof value === 'number') return value;
  return Number(int64Text(value, !value.unsigned));
}

function int64Text(value: Int64, signed: boolean): string {
  if (typeof value === 'number') return String(value);
  const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return (signed ? BigInt.asIntN(64, bits) : bits).toString();
}
