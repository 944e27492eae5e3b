/**
 * A worker's decoded sealed chunks, kept for the reads that come back to them (a
 * dashboard asks the same hours every refresh). A chunk is always read from
 * Cassandra: the kept decode is used only when the bytes just read are the bytes
 * it was decoded from, so an hour resealed since (a late write, an upsert) is
 * decoded again, and an answer never differs from decoding what was read.
 * Bounded by samples (MEETR_CHUNK_CACHE_SAMPLES), the least recently used let go
 * first; 0 keeps none.
 */
import type { DecodedChunk } from '../domain/chunk-codec.js';
import { decodeStored } from '../storage/sealed-reads.js';

interface Kept {
  readonly bytes: Uint8Array;
  readonly chunk: DecodedChunk;
  /** When it was last used, on the cache's own count of uses. */
  usedAt: number;
}

/** Evicting goes down to this share of the bound, so that it runs once per many decodes, not once per decode. */
const EVICT_TO = 0.9;

export class DecodedChunks {
  /** Metric -> hour -> its last whole decode. */
  private readonly kept = new Map<string, Map<number, Kept>>();
  private samples = 0;
  private uses = 0;

  constructor(readonly maxSamples: number) {}

  /** Samples held now. */
  get size(): number {
    return this.samples;
  }

  /** The kept decode of these very bytes of `metricId`'s `hour`, if any. */
  get(metricId: string, hour: number, bytes: Uint8Array): DecodedChunk | undefined {
    const known = this.kept.get(metricId)?.get(hour);
    if (known === undefined || !sameBytes(known.bytes, bytes)) return undefined;
    known.usedAt = ++this.uses;
    return known.chunk;
  }

  /** The chunk `bytes` of `metricId`'s `hour` decoded whole: the kept decode when it was of these very bytes. */
  decode(metricId: string, hour: number, bytes: Uint8Array): DecodedChunk {
    const kept = this.get(metricId, hour, bytes);
    if (kept !== undefined) return kept;
    const decoded = decodeStored(bytes, metricId, hour);
    let finite = true;
    for (let i = 0; i < decoded.values.length && finite; i++) finite = Number.isFinite(decoded.values[i]!);
    // Copies of their own: the driver's bytes are a view of a whole page, a decode's of a shared slab.
    const chunk = { ts: decoded.ts.slice(), values: decoded.values.slice(), finite };
    if (chunk.ts.length > this.maxSamples) return chunk;
    let hours = this.kept.get(metricId);
    if (hours === undefined) this.kept.set(metricId, (hours = new Map()));
    this.samples += chunk.ts.length - (hours.get(hour)?.chunk.ts.length ?? 0);
    hours.set(hour, { bytes: bytes.slice(), chunk, usedAt: ++this.uses });
    if (this.samples > this.maxSamples) this.evict();
    return chunk;
  }

  /** Lets the least recently used decodes go until the kept ones are within EVICT_TO of the bound. */
  private evict(): void {
    const all: Array<{ metricId: string; hour: number; usedAt: number; samples: number }> = [];
    for (const [metricId, hours] of this.kept)
      for (const [hour, { usedAt, chunk }] of hours) all.push({ metricId, hour, usedAt, samples: chunk.ts.length });
    all.sort((a, b) => a.usedAt - b.usedAt);
    for (const { metricId, hour, samples } of all) {
      if (this.samples <= this.maxSamples * EVICT_TO) break;
      const hours = this.kept.get(metricId)!;
      hours.delete(hour);
      if (hours.size === 0) this.kept.delete(metricId);
      this.samples -= samples;
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
