/**
 * Counting a remote-write WriteRequest on the wire, before anything is decoded: its
 * series, samples and labels, straight from the protobuf bytes, with no object built.
 * A body of millions of empty TimeSeries, or of one series with a label of megabytes,
 * is refused here after reading as far as the first limit it passes.
 *
 * Wire format (protobuf encoding): each field is a varint key (field number << 3 |
 * wire type) and a value: 0 varint, 1 eight bytes, 2 a varint length and that many
 * bytes, 5 four bytes. WriteRequest.timeseries is field 1 (length-delimited);
 * TimeSeries.labels field 1, TimeSeries.samples field 2; Label.name field 1,
 * Label.value field 2. Other fields (metadata, exemplars, histograms) are skipped.
 */
import { invalidRequest, MeetrError, type ErrorDetail } from '../errors.js';
import { MAX_METRIC_ID_LENGTH } from '../domain/point.js';

/**
 * Labels a series may have, and bytes in a label's name or value: as Prometheus'
 * `label_limit`, `label_name_length_limit` and `label_value_length_limit`. Far beyond
 * what fits a series id (at most MAX_METRIC_ID_LENGTH characters, up to 4 UTF-8 bytes each):
 * a series past them could never be stored, so its bytes are not worth decoding.
 */
export const WIRE_LIMITS = {
  labelsPerSeries: 64,
  labelNameBytes: 4 * MAX_METRIC_ID_LENGTH,
  labelValueBytes: 4 * MAX_METRIC_ID_LENGTH,
} as const;

/** Error details one refusal lists at most. */
export const MAX_DETAILS = 100;

export interface WireCount {
  readonly series: number;
  readonly samples: number;
}

/** Bytes that are not the protobuf message they should be. */
export class Malformed extends Error {}

/** A cursor over protobuf bytes. */
export class Reader {
  constructor(
    readonly buf: Uint8Array,
    public at: number,
    readonly end: number,
  ) {}

  get done(): boolean {
    return this.at >= this.end;
  }

  varint(): number {
    let value = 0;
    for (let shift = 0, scale = 1; shift < 64; shift += 7, scale *= 128) {
      if (this.at >= this.end) throw new Malformed('a varint runs past its message');
      const byte = this.buf[this.at++]!;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
    }
    throw new Malformed('a varint is longer than 10 bytes');
  }

  /** The [start, end) of a length-delimited value. */
  delimited(): [number, number] {
    const length = this.varint();
    const start = this.at;
    if (length > this.end - start) throw new Malformed('a length-delimited field runs past its message');
    this.at = start + length;
    return [start, this.at];
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.advance(8);
    else if (wireType === 2) this.delimited();
    else if (wireType === 5) this.advance(4);
    else throw new Malformed(`wire type ${wireType} is not a protobuf wire type in use`);
  }

  private advance(bytes: number): void {
    if (bytes > this.end - this.at) throw new Malformed('a fixed-size field runs past its message');
    this.at += bytes;
  }
}

/**
 * Counts a WriteRequest as its bytes become available (`feed`), so that uncompressing
 * can stop at the first limit passed. Throws payload_too_large past `maxSamples`
 * samples or series (MEETR_MAX_BATCH), invalid_request for bytes that are not a
 * WriteRequest or series past WIRE_LIMITS (naming at most MAX_DETAILS of them).
 */
export class WireCounter {
  private readonly details: ErrorDetail[] = [];
  private invalidSeries = 0;
  private series = 0;
  private samples = 0;
  private at = 0;

  constructor(
    private readonly message: Uint8Array,
    private readonly maxSamples: number,
  ) {}

  /** Counts every whole top-level field within the first `available` bytes. */
  feed(available: number): void {
    const whole = available >= this.message.length;
    for (;;) {
      const request = new Reader(this.message, this.at, available);
      if (request.done) return;
      try {
        const key = request.varint();
        if (key >>> 3 !== 1 || (key & 7) !== 2) {
          request.skip(key & 7);
          this.at = request.at;
          continue;
        }
        const [start, end] = request.delimited();
        this.at = request.at;
        this.countSeries(start, end);
      } catch (error) {
        if (error instanceof Malformed) {
          if (whole)
            throw invalidRequest(`the body is not a remote-write WriteRequest: ${error.message}`, [
              { field: 'body', message: 'is not a protobuf WriteRequest' },
            ]);
          return; // the field is not all here yet
        }
        throw error;
      }
    }
  }

  /** What the whole request held, once every byte was fed. */
  finish(): WireCount {
    if (this.invalidSeries > 0)
      throw invalidRequest(
        `${this.invalidSeries} of ${this.series} series are invalid; nothing was written`,
        this.details,
      );
    return { series: this.series, samples: this.samples };
  }

  private countSeries(start: number, end: number): void {
    const index = this.series++;
    if (this.series > this.maxSamples) throw tooMany('series', this.maxSamples);
    let problem: string | undefined;
    try {
      problem = scanSeries(new Reader(this.message, start, end), (n) => {
        this.samples += n;
        if (this.samples > this.maxSamples) throw tooMany('samples', this.maxSamples);
      });
    } catch (error) {
      // A series' own bytes are all here: a field running past them is a broken series, not one still arriving.
      if (error instanceof Malformed)
        throw invalidRequest(`the body is not a remote-write WriteRequest: ${error.message}`, [
          { field: 'body', message: 'is not a protobuf WriteRequest' },
        ]);
      throw error;
    }
    if (problem !== undefined) {
      this.invalidSeries++;
      if (this.details.length < MAX_DETAILS) this.details.push({ index, field: 'labels', message: problem });
    }
  }
}

/** The series and samples of a whole uncompressed WriteRequest, counted on the wire (see WireCounter). */
export function countWriteRequest(message: Uint8Array, maxSamples: number): WireCount {
  const counter = new WireCounter(message, maxSamples);
  counter.feed(message.length);
  return counter.finish();
}

/** Checks one TimeSeries' labels against WIRE_LIMITS and reports its samples; the first problem, if any. */
function scanSeries(reader: Reader, addSamples: (n: number) => void): string | undefined {
  let labels = 0;
  let problem: string | undefined;
  while (!reader.done) {
    const key = reader.varint();
    const field = key >>> 3;
    if (field === 2 && (key & 7) === 2) {
      reader.delimited();
      addSamples(1);
    } else if (field === 1 && (key & 7) === 2) {
      labels++;
      const [start, end] = reader.delimited();
      problem ??= labelProblem(new Reader(reader.buf, start, end));
    } else {
      reader.skip(key & 7);
    }
  }
  if (labels > WIRE_LIMITS.labelsPerSeries) return `has ${labels} labels, more than ${WIRE_LIMITS.labelsPerSeries}`;
  return problem;
}

function labelProblem(reader: Reader): string | undefined {
  while (!reader.done) {
    const key = reader.varint();
    const field = key >>> 3;
    if ((field === 1 || field === 2) && (key & 7) === 2) {
      const [start, end] = reader.delimited();
      const limit = field === 1 ? WIRE_LIMITS.labelNameBytes : WIRE_LIMITS.labelValueBytes;
      if (end - start > limit)
        return `has a label ${field === 1 ? 'name' : 'value'} of ${end - start} bytes, more than ${limit}`;
    } else {
      reader.skip(key & 7);
    }
  }
  return undefined;
}

/** payload_too_large: more than `max` of `what` in one request; `advice` tells the client what to lower. */
export function tooMany(what: string, max: number, advice = 'lower max_samples_per_send'): MeetrError {
  return new MeetrError('payload_too_large', `the request has more than ${max} ${what} (MEETR_MAX_BATCH); ${advice}`, [
    { field: 'body', message: `more than ${max} ${what}` },
  ]);
}
