/**
 * Clock discipline. The roll queue (roll-queue.ts) compares instants read on
 * different hosts: a worker's hold, the roller's "this slot is over", a search's
 * last slot. Each process therefore measures its clock against Cassandra's (a
 * coordinator's now()) at start and every few seconds, and past
 * MEETR_MAX_CLOCK_SKEW_MS it refuses to write or roll (503 clock_skew) rather than
 * be wrong. Within the bound, the margins (roll-queue.ts `clockMarginMs`) make any
 * skew exact by construction.
 *
 * A reading is the best of the recent samples that agree with the latest (a clock
 * step voids the older ones): the one with the shortest round trip, whose offset
 * is off by at most half of it. A process is within the bound
 * only when that is provable: |offset| plus that uncertainty is at most the bound.
 */
import { MeetrError } from '../errors.js';
import type { EpochMs } from './units.js';

export interface ClockReading {
  /** Cassandra's clock minus this process's, ms (positive: this process is behind); undefined before the first sample. */
  readonly offsetMs: number | undefined;
  /** How far off offsetMs may be: half the round trip of its sample. */
  readonly uncertaintyMs: number | undefined;
  /** This process's clock when the last sample was taken. */
  readonly checkedAtMs: EpochMs | undefined;
  readonly maxSkewMs: number;
  /** Why this process may not write or roll now; undefined when it may. */
  readonly refusal: string | undefined;
}

export interface ClockWatch {
  reading(): ClockReading;
  /** Throws clock_skew (503) with the reading's refusal, if any. */
  ensureWithinBound(): void;
  /** Takes one sample; a failed one is left out (the reading turns stale after a while). */
  check(): Promise<void>;
  /** Samples every intervalMs until the returned function is called. */
  start(): () => void;
}

export interface ClockWatchOptions {
  readonly serverTimeMs: () => Promise<EpochMs>;
  readonly maxSkewMs: number;
  readonly intervalMs?: number;
  /** The process's wall clock. */
  readonly clock?: () => EpochMs;
  /** A monotonic clock, for round trips. */
  readonly monotonic?: () => number;
  /** Called when the process starts or stops refusing, with the new reading. */
  readonly onChange?: (reading: ClockReading) => void;
}

/** Samples kept: at the default interval, the best round trip of the last half minute. */
const SAMPLES = 6;
const DEFAULT_INTERVAL_MS = 5_000;
/** Without a sample for this many intervals the offset is unknown again. */
const STALE_INTERVALS = 12;

interface Sample {
  readonly offsetMs: number;
  readonly roundTripMs: number;
  readonly atMs: EpochMs;
}

export function createClockWatch(options: ClockWatchOptions): ClockWatch {
  const {
    serverTimeMs,
    maxSkewMs,
    intervalMs = DEFAULT_INTERVAL_MS,
    clock = Date.now,
    monotonic = () => performance.now(),
    onChange,
  } = options;
  const samples: Sample[] = [];

  const reading = (): ClockReading => readingOf(samples, maxSkewMs, intervalMs, clock());

  /** Whether the process refused at the last notice; undefined before the first sample. */
  let refusing: boolean | undefined;
  const notice = (): void => {
    const now = reading();
    if (now.offsetMs === undefined || refusing === (now.refusal !== undefined)) return;
    refusing = now.refusal !== undefined;
    onChange?.(now);
  };

  const check = async (): Promise<void> => {
    const started = monotonic();
    const localMs = clock();
    let serverMs: EpochMs;
    try {
      serverMs = await serverTimeMs();
    } catch {
      notice();
      return;
    }
    const roundTripMs = monotonic() - started;
    const sample = { offsetMs: serverMs - (localMs + roundTripMs / 2), roundTripMs, atMs: localMs };
    // Earlier samples that disagree with this one beyond both uncertainties are from before a clock step: dropped.
    const agreeing = samples.filter(
      (earlier) => Math.abs(earlier.offsetMs - sample.offsetMs) <= (earlier.roundTripMs + roundTripMs) / 2 + 1,
    );
    samples.splice(0, samples.length, ...agreeing.slice(-(SAMPLES - 1)), sample);
    notice();
  };

  return {
    reading,
    ensureWithinBound() {
      const { refusal } = reading();
      if (refusal !== undefined) throw new MeetrError('clock_skew', refusal);
    },
    check,
    start() {
      const timer = setInterval(() => void check(), intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}

/** What `samples` say of this clock against Cassandra's at `nowMs`, and whether it is past the bound. */
function readingOf(samples: readonly Sample[], maxSkewMs: number, intervalMs: number, nowMs: EpochMs): ClockReading {
  const last = samples[samples.length - 1];
  if (last === undefined)
    return {
      offsetMs: undefined,
      uncertaintyMs: undefined,
      checkedAtMs: undefined,
      maxSkewMs,
      refusal: "this process's clock was not compared with Cassandra's yet",
    };
  const best = samples.reduce((a, b) => (b.roundTripMs < a.roundTripMs ? b : a));
  const uncertaintyMs = best.roundTripMs / 2;
  const base = { offsetMs: best.offsetMs, uncertaintyMs, checkedAtMs: last.atMs, maxSkewMs };
  const age = nowMs - last.atMs;
  if (age > STALE_INTERVALS * intervalMs || age < -maxSkewMs) {
    return {
      ...base,
      refusal: `this process's clock was last compared with Cassandra's ${Math.round(age / 1000)} s ago; it takes no writes and rolls nothing until it is again`,
    };
  }
  if (Math.abs(best.offsetMs) + uncertaintyMs <= maxSkewMs) return { ...base, refusal: undefined };
  const side = best.offsetMs > 0 ? 'behind' : 'ahead of';
  return {
    ...base,
    refusal:
      `this process's clock is ${formatMs(Math.abs(best.offsetMs))} ${side} Cassandra's (±${formatMs(uncertaintyMs)}), more than MEETR_MAX_CLOCK_SKEW_MS (${maxSkewMs} ms): ` +
      'it takes no writes and rolls nothing until NTP brings it back',
  };
}

function formatMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** A reading as /health and ./meetr status show it. */
export function clockReport(reading: ClockReading): {
  offsetMs: number | null;
  uncertaintyMs: number | null;
  maxSkewMs: number;
  withinBound: boolean;
} {
  const round = (ms: number | undefined): number | null => (ms === undefined ? null : Math.round(ms * 10) / 10);
  return {
    offsetMs: round(reading.offsetMs),
    uncertaintyMs: round(reading.uncertaintyMs),
    maxSkewMs: reading.maxSkewMs,
    withinBound: reading.refusal === undefined,
  };
}

/** A watch compared once before it is returned, sampling from then on, whose turns (refusing, within the bound again) are logged. */
export async function startClockWatch(
  serverTimeMs: () => Promise<EpochMs>,
  maxSkewMs: number,
  log: { info(message: string): void; warn(message: string): void },
): Promise<{ readonly watch: ClockWatch; readonly stop: () => void }> {
  const watch = createClockWatch({
    serverTimeMs,
    maxSkewMs,
    onChange: (reading) => {
      if (reading.refusal !== undefined) log.warn(reading.refusal);
      else
        log.info(
          `clock within MEETR_MAX_CLOCK_SKEW_MS (${maxSkewMs} ms) of Cassandra's: offset ${formatMs(reading.offsetMs ?? 0)} (±${formatMs(reading.uncertaintyMs ?? 0)})`,
        );
    },
  });
  await watch.check();
  return { watch, stop: watch.start() };
}
