/**
 * Counting an OTLP metrics export on the wire, before it is decoded, with the limits
 * of remote write: a protobuf body is walked field by field (no object built), a
 * JSON body has its objects and arrays counted by a scan of its bytes. A body of
 * millions of empty data points, attributes or objects is refused here, cheaply.
 *
 * The protobuf paths walked (field numbers of opentelemetry-proto's metrics.proto):
 * ExportMetricsServiceRequest.resource_metrics 1 → ResourceMetrics {resource 1
 * → Resource.attributes 1; scope_metrics 2 → ScopeMetrics {scope 1 →
 * InstrumentationScope.attributes 3; metrics 2 → Metric {gauge 5, sum 7,
 * histogram 9, exponential_histogram 10, summary 11 → data_points 1}}}. A data
 * point's attributes are its field 7 (number, summary), 9 (histogram) or 1
 * (exponential histogram); a histogram's bucket_counts field 6, a summary's
 * quantile_values field 6.
 */
import { invalidRequest } from '../errors.js';
import { Malformed, Reader, tooMany, WIRE_LIMITS } from '../prometheus/wire-count.js';

/** Attributes, quantiles, metrics and other parts one request may hold, per sample it may hold (MEETR_MAX_BATCH). */
export const PARTS_PER_SAMPLE = 16;

export interface OtlpWireCount {
  /** Samples the request makes at most: a number point one, a histogram point its buckets and two, a summary point its quantiles and two. */
  readonly samples: number;
}

const ADVICE = "lower the exporter's batch size (the collector's send_batch_max_size)";

type Kind = 'number' | 'histogram' | 'exponential' | 'summary';
const DATA_FIELDS: Readonly<Record<number, Kind>> = {
  5: 'number',
  7: 'number',
  9: 'histogram',
  10: 'exponential',
  11: 'summary',
};
const POINT_ATTRIBUTES: Readonly<Record<Kind, number>> = { number: 7, histogram: 9, exponential: 1, summary: 7 };

/**
 * Counts an uncompressed protobuf ExportMetricsServiceRequest. Throws
 * payload_too_large past `maxSamples` samples or PARTS_PER_SAMPLE × `maxSamples`
 * parts, invalid_request for bytes that are not a request or an attribute past
 * WIRE_LIMITS (more labels than a series may have, a name or value too long).
 */
export function countOtlpProtobuf(message: Uint8Array, maxSamples: number): OtlpWireCount {
  const counter = new Counter(message, maxSamples);
  try {
    counter.request(new Reader(message, 0, message.length));
  } catch (error) {
    if (error instanceof Malformed)
      throw invalidRequest(`the body is not an OTLP ExportMetricsServiceRequest: ${error.message}`, [
        { field: 'body', message: 'is not an ExportMetricsServiceRequest in protobuf' },
      ]);
    throw error;
  }
  return { samples: counter.samples };
}

class Counter {
  samples = 0;
  private parts = 0;

  constructor(
    private readonly message: Uint8Array,
    private readonly maxSamples: number,
  ) {}

  request(reader: Reader): void {
    this.each(reader, (field, inner) => {
      if (field === 1) this.resourceMetrics(inner);
    });
  }

  private resourceMetrics(reader: Reader): void {
    this.part();
    this.each(reader, (field, inner) => {
      if (field === 1) this.attributesOf(inner, 1, 'a resource');
      else if (field === 2) this.scopeMetrics(inner);
    });
  }

  private scopeMetrics(reader: Reader): void {
    this.part();
    this.each(reader, (field, inner) => {
      if (field === 1) this.attributesOf(inner, 3, 'a scope');
      else if (field === 2) this.metric(inner);
    });
  }

  private metric(reader: Reader): void {
    this.part();
    this.each(reader, (field, inner) => {
      const kind = DATA_FIELDS[field];
      if (kind === undefined) return;
      this.each(inner, (dataField, point) => {
        if (dataField === 1) this.point(point, kind);
      });
    });
  }

  private point(reader: Reader, kind: Kind): void {
    this.part();
    let samples = kind === 'histogram' || kind === 'summary' ? 2 : 1;
    let attributes = 0;
    this.each(
      reader,
      (field, inner) => {
        if (field === POINT_ATTRIBUTES[kind]) {
          attributes++;
          this.attribute(inner);
        } else if (field === 6 && kind === 'histogram') {
          samples += Math.ceil((inner.end - inner.at) / 8); // packed fixed64
        } else if (field === 6 && kind === 'summary') {
          this.part();
          samples++;
        }
      },
      (field) => {
        if (field === 6 && kind === 'histogram') samples++; // an unpacked fixed64
      },
    );
    this.checkAttributes(attributes, 'a data point');
    this.samples += samples;
    if (this.samples > this.maxSamples) throw tooMany('samples', this.maxSamples, ADVICE);
  }

  /** The attributes (field `attributeField`) of a Resource or an InstrumentationScope. */
  private attributesOf(reader: Reader, attributeField: number, holder: string): void {
    let attributes = 0;
    this.each(reader, (field, inner) => {
      if (field !== attributeField) return;
      attributes++;
      this.attribute(inner);
    });
    this.checkAttributes(attributes, holder);
  }

  /** A KeyValue: its key (field 1) and value (field 2) within the label limits. */
  private attribute(reader: Reader): void {
    this.part();
    this.each(reader, (field, inner) => {
      const bytes = inner.end - inner.at;
      if (field === 1 && bytes > WIRE_LIMITS.labelNameBytes)
        throw labelLimit(`an attribute key of ${bytes} bytes, more than ${WIRE_LIMITS.labelNameBytes}`);
      if (field === 2 && bytes > WIRE_LIMITS.labelValueBytes)
        throw labelLimit(`an attribute value of ${bytes} bytes, more than ${WIRE_LIMITS.labelValueBytes}`);
    });
  }

  private checkAttributes(count: number, holder: string): void {
    if (count > WIRE_LIMITS.labelsPerSeries)
      throw labelLimit(`${holder} with ${count} attributes, more than ${WIRE_LIMITS.labelsPerSeries}`);
  }

  private part(): void {
    this.parts++;
    if (this.parts > PARTS_PER_SAMPLE * this.maxSamples)
      throw tooMany('metrics, data points and attributes', PARTS_PER_SAMPLE * this.maxSamples, ADVICE);
  }

  /**
   * Calls `message` for each length-delimited field with a reader over its bytes,
   * `other` with the number of each other field, which is skipped.
   */
  private each(
    reader: Reader,
    message: (field: number, inner: Reader) => void,
    other: (field: number) => void = () => undefined,
  ): void {
    while (!reader.done) {
      const key = reader.varint();
      const field = key >>> 3;
      if ((key & 7) === 2) {
        const [start, end] = reader.delimited();
        message(field, new Reader(this.message, start, end));
      } else {
        reader.skip(key & 7);
        other(field);
      }
    }
  }
}

function labelLimit(what: string): Error {
  return invalidRequest(`the request has ${what} (the label limits of remote write); nothing was written`, [
    { field: 'attributes', message: what },
  ]);
}

/**
 * Counts the objects and arrays of a JSON body by a scan of its bytes (strings
 * skipped), before it is parsed: payload_too_large past PARTS_PER_SAMPLE × 2 ×
 * `maxSamples` (an attribute is two objects in OTLP/JSON).
 */
export function countOtlpJson(body: Uint8Array, maxSamples: number): void {
  const max = 2 * PARTS_PER_SAMPLE * maxSamples;
  let containers = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i]!;
    if (inString) {
      if (byte === 0x5c)
        i++; // a backslash escapes the next byte
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x7b || byte === 0x5b) {
      if (++containers > max) throw tooMany('JSON objects and arrays', max, ADVICE);
    }
  }
}
