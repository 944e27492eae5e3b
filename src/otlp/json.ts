/** OTLP metrics in OTLP/JSON: the request read into the model (model.ts), the response written. */
import { invalidRequest } from '../errors.js';
import {
  CUMULATIVE,
  doubleText,
  notARequest,
  type Attribute,
  type HistogramPoint,
  type NumberPoint,
  type OtlpMetric,
  type OtlpRequest,
  type PartialSuccess,
  type Plain,
  type PointBase,
  type SummaryPoint,
} from './model.js';

/** The ExportMetricsServiceResponse as OTLP/JSON (int64 as a decimal string, as protobuf's JSON mapping has it). */
export function responseJson(partial: PartialSuccess | undefined): object {
  return partial === undefined
    ? {}
    : {
        partialSuccess: {
          rejectedDataPoints: String(partial.rejectedDataPoints),
          errorMessage: partial.errorMessage,
        },
      };
}

type Json = Record<string, unknown>;

/**
 * An ExportMetricsServiceRequest in OTLP/JSON (protobuf's JSON mapping: lowerCamelCase
 * fields, 64-bit integers as strings or numbers, enums as numbers; the proto's own
 * snake_case names are read too); invalid_request, naming the field, when it is not one.
 */
export function readJsonRequest(body: Buffer): OtlpRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw notARequest((error as Error).message, 'JSON');
  }
  const request = object(parsed, 'body');
  return list(request, 'resourceMetrics', 'resource_metrics', 'body').map((r, i) => {
    const where = `resourceMetrics[${i}]`;
    const resource = objectField(r, 'resource', 'resource', where);
    return {
      attributes: jsonAttributes(resource, `${where}.resource`),
      metrics: list(r, 'scopeMetrics', 'scope_metrics', where).flatMap((s, j) =>
        list(s, 'metrics', 'metrics', `${where}.scopeMetrics[${j}]`).map((m, k) =>
          jsonMetric(m, `${where}.scopeMetrics[${j}].metrics[${k}]`),
        ),
      ),
    };
  });
}

function jsonMetric(m: Json, where: string): OtlpMetric {
  const base = { name: text(m, 'name', 'name', where), unit: text(m, 'unit', 'unit', where) };
  const numberPoints = (data: Json, at: string): NumberPoint[] =>
    list(data, 'dataPoints', 'data_points', at).map((p, i) => numberPoint(p, `${at}.dataPoints[${i}]`));
  const gauge = objectField(m, 'gauge', 'gauge', where);
  if (gauge !== undefined) return { ...base, data: { kind: 'gauge', points: numberPoints(gauge, `${where}.gauge`) } };
  const sum = objectField(m, 'sum', 'sum', where);
  if (sum !== undefined)
    return {
      ...base,
      data: {
        kind: 'sum',
        temporality: temporality(sum, `${where}.sum`),
        monotonic: field(sum, 'isMonotonic', 'is_monotonic') === true,
        points: numberPoints(sum, `${where}.sum`),
      },
    };
  const histogram = objectField(m, 'histogram', 'histogram', where);
  if (histogram !== undefined)
    return {
      ...base,
      data: {
        kind: 'histogram',
        temporality: temporality(histogram, `${where}.histogram`),
        points: list(histogram, 'dataPoints', 'data_points', `${where}.histogram`).map((p, i) =>
          histogramPoint(p, `${where}.histogram.dataPoints[${i}]`),
        ),
      },
    };
  const summary = objectField(m, 'summary', 'summary', where);
  if (summary !== undefined)
    return {
      ...base,
      data: {
        kind: 'summary',
        points: list(summary, 'dataPoints', 'data_points', `${where}.summary`).map((p, i) =>
          summaryPoint(p, `${where}.summary.dataPoints[${i}]`),
        ),
      },
    };
  const exponential = objectField(m, 'exponentialHistogram', 'exponential_histogram', where);
  if (exponential !== undefined)
    return {
      ...base,
      data: {
        kind: 'exponential_histogram',
        pointCount: list(exponential, 'dataPoints', 'data_points', `${where}.exponentialHistogram`).length,
      },
    };
  return { ...base, data: { kind: 'none' } };
}

function numberPoint(p: Json, at: string): NumberPoint {
  const asInt = field(p, 'asInt', 'as_int');
  const asDouble = field(p, 'asDouble', 'as_double');
  return {
    ...jsonPointBase(p, at),
    value:
      asDouble === undefined && asInt !== undefined
        ? jsonInteger(asInt, `${at}.asInt`)
        : jsonDouble(asDouble ?? 0, `${at}.asDouble`),
  };
}

function histogramPoint(p: Json, at: string): HistogramPoint {
  const sum = field(p, 'sum', 'sum');
  return {
    ...jsonPointBase(p, at),
    count: jsonInteger(field(p, 'count', 'count') ?? 0, `${at}.count`),
    sum: sum === undefined || sum === null ? undefined : jsonDouble(sum, `${at}.sum`),
    bucketCounts: values(p, 'bucketCounts', 'bucket_counts', at).map((v, k) =>
      jsonInteger(v, `${at}.bucketCounts[${k}]`),
    ),
    bounds: values(p, 'explicitBounds', 'explicit_bounds', at).map((v, k) =>
      jsonDouble(v, `${at}.explicitBounds[${k}]`),
    ),
  };
}

function summaryPoint(p: Json, at: string): SummaryPoint {
  return {
    ...jsonPointBase(p, at),
    count: jsonInteger(field(p, 'count', 'count') ?? 0, `${at}.count`),
    sum: jsonDouble(field(p, 'sum', 'sum') ?? 0, `${at}.sum`),
    quantiles: list(p, 'quantileValues', 'quantile_values', at).map((q, k) => ({
      quantile: jsonDouble(field(q, 'quantile', 'quantile') ?? 0, `${at}.quantileValues[${k}].quantile`),
      value: jsonDouble(field(q, 'value', 'value') ?? 0, `${at}.quantileValues[${k}].value`),
    })),
  };
}

function jsonPointBase(p: Json, where: string): PointBase {
  const time = field(p, 'timeUnixNano', 'time_unix_nano');
  return {
    attributes: jsonAttributes(p, where),
    timeMs: time === undefined ? 0 : jsonNanosToMs(time, `${where}.timeUnixNano`),
    flags: jsonInteger(field(p, 'flags', 'flags') ?? 0, `${where}.flags`),
  };
}

function jsonAttributes(holder: Json | undefined, where: string): Attribute[] {
  if (holder === undefined) return [];
  return list(holder, 'attributes', 'attributes', where).map((a, i) => ({
    key: text(a, 'key', 'key', `${where}.attributes[${i}]`),
    value: jsonAnyValueText(field(a, 'value', 'value'), `${where}.attributes[${i}].value`),
  }));
}

function jsonAnyValueText(value: unknown, where: string): string {
  const plain = jsonAnyValuePlain(value, where);
  return typeof plain === 'string' ? plain : JSON.stringify(plain);
}

function jsonAnyValuePlain(value: unknown, where: string, inside = false): Plain {
  if (value === undefined || value === null) return '';
  const v = object(value, where);
  const string = field(v, 'stringValue', 'string_value');
  if (string !== undefined)
    return typeof string === 'string' ? string : badField(where, 'stringValue must be a string');
  const bool = field(v, 'boolValue', 'bool_value');
  if (bool !== undefined) {
    if (typeof bool !== 'boolean') return badField(where, 'boolValue must be true or false');
    return inside ? bool : String(bool);
  }
  const int = field(v, 'intValue', 'int_value');
  if (int !== undefined) {
    const digits = integerText(int, `${where}.intValue`);
    return inside ? Number(digits) : digits;
  }
  const double = field(v, 'doubleValue', 'double_value');
  if (double !== undefined) {
    const number = jsonDouble(double, `${where}.doubleValue`);
    return inside ? (Number.isFinite(number) ? number : String(number)) : doubleText(number);
  }
  const bytes = field(v, 'bytesValue', 'bytes_value');
  if (bytes !== undefined) return typeof bytes === 'string' ? bytes : badField(where, 'bytesValue must be base64');
  const array = objectField(v, 'arrayValue', 'array_value', where);
  if (array !== undefined)
    return list(array, 'values', 'values', `${where}.arrayValue`).map((item, i) =>
      jsonAnyValuePlain(item, `${where}.arrayValue.values[${i}]`, true),
    );
  const kvlist = objectField(v, 'kvlistValue', 'kvlist_value', where);
  if (kvlist !== undefined)
    return Object.fromEntries(
      list(kvlist, 'values', 'values', `${where}.kvlistValue`).map((kv, i) => [
        text(kv, 'key', 'key', `${where}.kvlistValue.values[${i}]`),
        jsonAnyValuePlain(field(kv, 'value', 'value'), `${where}.kvlistValue.values[${i}].value`, true),
      ]),
    );
  return '';
}

function temporality(data: Json, where: string): number {
  const value = field(data, 'aggregationTemporality', 'aggregation_temporality');
  if (value === undefined) return 0;
  if (value === 'AGGREGATION_TEMPORALITY_DELTA') return 1;
  if (value === 'AGGREGATION_TEMPORALITY_CUMULATIVE') return CUMULATIVE;
  if (value === 'AGGREGATION_TEMPORALITY_UNSPECIFIED') return 0;
  return jsonInteger(value, `${where}.aggregationTemporality`);
}

function field(holder: Json, camel: string, snake: string): unknown {
  return holder[camel] ?? holder[snake];
}

function object(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) badField(where, 'must be an object');
  return value as Json;
}

function objectField(holder: Json, camel: string, snake: string, where: string): Json | undefined {
  const value = field(holder, camel, snake);
  return value === undefined || value === null ? undefined : object(value, `${where}.${camel}`);
}

function values(holder: Json, camel: string, snake: string, where: string): unknown[] {
  const value = field(holder, camel, snake);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) badField(`${where}.${camel}`, 'must be an array');
  return value as unknown[];
}

function list(holder: Json, camel: string, snake: string, where: string): Json[] {
  return values(holder, camel, snake, where).map((item, i) => object(item, `${where}.${camel}[${i}]`));
}

function text(holder: Json, camel: string, snake: string, where: string): string {
  const value = field(holder, camel, snake);
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') return badField(`${where}.${camel}`, 'must be a string');
  return value;
}

/** A double of the JSON mapping: a number, or "NaN", "Infinity", "-Infinity" (or a decimal string). */
function jsonDouble(value: unknown, where: string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return badField(where, 'must be a number');
}

/** A 64-bit integer of the JSON mapping (a decimal string or a number) as a double. */
function jsonInteger(value: unknown, where: string): number {
  return Number(integerText(value, where));
}

function integerText(value: unknown, where: string): string {
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (typeof value === 'string' && /^-?[0-9]{1,20}$/.test(value)) return value;
  return badField(where, 'must be an integer (a number or a decimal string)');
}

function jsonNanosToMs(value: unknown, where: string): number {
  const digits = integerText(value, where);
  if (digits.startsWith('-')) return badField(where, 'must not be negative');
  return digits.length <= 6 ? 0 : Number(digits.slice(0, -6));
}

function badField(where: string, message: string): never {
  throw invalidRequest(`the body is not an OTLP ExportMetricsServiceRequest: ${where} ${message}`, [
    { field: where, message },
  ]);
}
