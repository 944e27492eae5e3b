/**
 * Prometheus remote write 1.0: a snappy-compressed (block format) protobuf
 * WriteRequest. Counted on the wire first (wire-count.ts), then decoded into
 * points under each series' canonical id (domain/series.ts), all or nothing, with
 * the limits of the Meetr API.
 */
import protobuf from 'protobufjs';
import { metricIdProblem, type Point, type SpecialSample, type TsWindow } from '../domain/point.js';
import { invalidRequest, MeetrError, type ErrorDetail } from '../errors.js';
import { parseContentType } from '../media-type.js';
import { formatEpochMs } from '../time/time-text.js';
import { seriesId } from '../domain/series.js';
import { STALE_NAN_BITS } from '../domain/sealed-samples.js';
import { SnappyBlockReader, SnappyError } from './snappy-block.js';
import { MAX_DETAILS, WireCounter } from './wire-count.js';

/**
 * The parts of prometheus/prompb/types.proto and remote.proto that remote write 1.0
 * sends (metadata, exemplars and histograms are left out: protobuf skips unknown fields).
 */
export const REMOTE_WRITE_PROTO = `syntax = "proto3";
  message WriteRequest { repeated TimeSeries timeseries = 1; }
  message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
  message Label { string name = 1; string value = 2; }
  message Sample { double value = 1; int64 timestamp = 2; }`;

const WRITE_REQUEST = protobuf.parse(REMOTE_WRITE_PROTO).root.lookupType('WriteRequest');

interface DecodedRequest {
  readonly timeseries?: ReadonlyArray<{
    readonly labels?: ReadonlyArray<{ readonly name?: string; readonly value?: string }>;
    readonly samples?: ReadonlyArray<{ readonly value?: number; readonly timestamp?: number | protobuf.Long }>;
  }>;
}

/** What a write request holds: the points to store, the special samples (NaN, ±Inf, staleness markers), and how many were too old. */
export interface RemoteWrite {
  readonly points: Point[];
  readonly specialSamples: SpecialSample[];
  readonly tooOld: number;
}

const bits = new DataView(new ArrayBuffer(8));

function isStaleMarker(value: number): boolean {
  bits.setFloat64(0, value);
  return bits.getBigUint64(0) === STALE_NAN_BITS;
}

/** The protobuf message remote write 1.0 sends, as remote write 2.0 senders name it in Content-Type's `proto`. */
const WRITE_REQUEST_V1 = 'prometheus.WriteRequest';

/**
 * Refuses (415) a body that is not a remote write 1.0 WriteRequest, by its
 * Content-Type: `application/x-protobuf`, with no `proto` or
 * `proto=prometheus.WriteRequest` (as remote write 2.0 asks receivers to). A 2.0
 * `io.prometheus.write.v2.Request` would otherwise decode as an empty 1.0 request
 * and its samples be dropped with a 204. No Content-Type at all is taken as 1.0.
 */
export function checkRemoteWriteType(contentType: string | undefined): void {
  if (contentType === undefined || contentType.trim() === '') return;
  const type = parseContentType(contentType);
  const proto = type.parameter('proto');
  if (type.mediaType !== 'application/x-protobuf') {
    throw new MeetrError(
      'unsupported_media_type',
      `Content-Type ${type.asSent} is not accepted here; remote write sends application/x-protobuf`,
      [{ field: 'content-type', message: 'must be application/x-protobuf' }],
    );
  }
  if (proto !== undefined && proto !== WRITE_REQUEST_V1) {
    throw new MeetrError(
      'unsupported_media_type',
      `remote write message ${proto} is not supported; send remote write 1.0 (proto=${WRITE_REQUEST_V1}, Prometheus' default)`,
      [{ field: 'content-type', message: `proto must be ${WRITE_REQUEST_V1}` }],
    );
  }
}

/** Bytes uncompressed, and counted, per piece; the event loop gets a turn between pieces. */
const PIECE_BYTES = 256 * 1024;

/**
 * A snappy block's WriteRequest, uncompressed a piece at a time, each piece counted
 * on the wire (series, samples, labels) before the next is uncompressed: a body of
 * millions of empty series is refused once its first MEETR_MAX_BATCH are counted,
 * whatever it declares. Throws payload_too_large, invalid_request.
 */
export async function uncompressWriteRequest(
  block: Buffer,
  maxBytes: number,
  maxSamples: number,
  pause: () => Promise<unknown>,
): Promise<Buffer> {
  const reader = new SnappyBlockReader(block, maxBytes);
  const counter = new WireCounter(reader.out, maxSamples);
  try {
    while (reader.written < reader.out.length || !reader.done) {
      reader.readMore(PIECE_BYTES);
      counter.feed(reader.written);
      if (!reader.done) await pause();
    }
  } catch (error) {
    if (error instanceof SnappyError)
      throw invalidRequest(`the snappy body could not be uncompressed: ${error.message}`, [
        { field: 'body', message: 'is not valid snappy (block format)' },
      ]);
    throw error;
  }
  counter.finish();
  return reader.out;
}

/**
 * The points of a decoded (uncompressed) WriteRequest. Throws invalid_request when it
 * is not one or any series or sample is invalid (naming them), payload_too_large
 * for more than `maxSamples` samples. Samples later than `latestTsMs` are refused.
 */
export function remoteWritePoints(message: Buffer, window: TsWindow): RemoteWrite {
  let decoded: DecodedRequest;
  try {
    decoded = WRITE_REQUEST.decode(message) as unknown as DecodedRequest;
  } catch (error) {
    throw invalidRequest(`the body is not a remote-write WriteRequest: ${(error as Error).message}`, [
      { field: 'body', message: 'is not a protobuf WriteRequest' },
    ]);
  }
  const series = decoded.timeseries ?? [];
  const points: Point[] = [];
  const specialSamples: SpecialSample[] = [];
  const details: ErrorDetail[] = [];
  const invalid = new Set<number>();
  const refuse = (detail: ErrorDetail & { index: number }): void => {
    invalid.add(detail.index);
    if (details.length < MAX_DETAILS) details.push(detail);
  };
  let tooOld = 0;
  series.forEach((s, index) => {
    const labels = (s.labels ?? []).map((l) => ({ name: l.name ?? '', value: l.value ?? '' }));
    const id = seriesId(labels);
    const problem = labels.some((l) => l.name === '__name__' && l.value !== '')
      ? seriesProblem(id)
      : 'have no __name__';
    if (problem !== undefined) return refuse({ index, field: 'labels', message: problem });
    for (const sample of s.samples ?? []) {
      const value = sample.value ?? 0;
      const ts = Number(sample.timestamp ?? 0);
      if (ts < window.earliestMs)
        tooOld++; // past the raw retention, as Prometheus drops out-of-bounds samples
      else if (ts > window.latestMs)
        refuse({
          index,
          field: 'timestamp',
          message: `${formatEpochMs(ts)} is too far in the future (MEETR_MAX_FUTURE_MS)`,
        });
      else if (Number.isFinite(value)) points.push({ metricId: id, ts, value });
      else specialSamples.push({ metricId: id, ts, value, stale: isStaleMarker(value) });
    }
    return undefined;
  });
  if (invalid.size > 0)
    throw invalidRequest(`${invalid.size} of ${series.length} series are invalid; nothing was written`, details);
  return { points, specialSamples, tooOld };
}

function seriesProblem(id: string): string | undefined {
  const problem = metricIdProblem(id);
  return problem === undefined
    ? undefined
    : `make the id ${JSON.stringify(id.slice(0, 60))}${id.length > 60 ? '...' : ''}, which ${problem}`;
}
