/**
 * What a translation of OTLP metrics stores, and what it refuses: samples by series
 * and time, refused data points counted, and up to MAX_REASONS distinct reasons for
 * `partial_success`.
 */
import { metricIdProblem, type Point, type SpecialSample, type TsWindow } from '../domain/point.js';
import { seriesId, type Label } from '../domain/series.js';
import { formatEpochMs } from '../time/time-text.js';
import type { PartialSuccess } from './model.js';

/** Distinct reasons one answer names at most. */
const MAX_REASONS = 10;

export interface Series {
  readonly id: string;
  readonly problem: string | undefined;
}

export class Output {
  readonly points: Point[] = [];
  readonly specialSamples: SpecialSample[] = [];
  private rejected = 0;
  private readonly reasons = new Set<string>();
  private moreReasons = 0;

  constructor(readonly window: TsWindow) {}

  /** A series' id, and why it cannot be stored, if it cannot. */
  series(labels: Label[]): Series {
    const id = seriesId(labels);
    return { id, problem: metricIdProblem(id) };
  }

  /** Stores one sample unless its series or time is refused (the reason kept; its point is counted by the caller); true when stored. */
  sample({ id, problem }: Series, ts: number, value: number, stale = false): boolean {
    if (problem !== undefined) {
      this.refuse(0, `the series ${JSON.stringify(id.slice(0, 60))}${id.length > 60 ? '...' : ''} ${problem}`);
      return false;
    }
    if (ts < this.window.earliestMs) {
      this.refuse(0, `a point at ${formatEpochMs(ts)} is older than ${this.window.earliestReason ?? 'what is kept'}`);
      return false;
    }
    if (ts > this.window.latestMs) {
      this.refuse(0, `a point at ${formatEpochMs(ts)} is too far in the future (MEETR_MAX_FUTURE_MS)`);
      return false;
    }
    if (Number.isFinite(value)) this.points.push({ metricId: id, ts, value });
    else this.specialSamples.push({ metricId: id, ts, value, stale });
    return true;
  }

  refuse(points: number, reason?: string): void {
    this.rejected += points;
    if (reason === undefined || this.reasons.has(reason)) return;
    if (this.reasons.size < MAX_REASONS) this.reasons.add(reason);
    else this.moreReasons++;
  }

  partialSuccess(): PartialSuccess | undefined {
    if (this.reasons.size === 0) return undefined;
    const more = this.moreReasons > 0 ? `; and ${this.moreReasons} other reasons` : '';
    return { rejectedDataPoints: this.rejected, errorMessage: [...this.reasons].join('; ') + more };
  }
}
