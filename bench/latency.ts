/** Latency samples in milliseconds and their percentiles. */
export class LatencySamples {
  private readonly samples: number[] = [];

  add(ms: number): void {
    this.samples.push(ms);
  }

  get count(): number {
    return this.samples.length;
  }

  /** The p-th percentile (0-100) by nearest rank; NaN with no samples. */
  percentile(p: number): number {
    if (this.samples.length === 0) return Number.NaN;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[rank]!;
  }
}

/** Runs `work` `times` times, one after the other, and returns the latencies. */
export async function timeEach(times: number, work: () => Promise<void>): Promise<LatencySamples> {
  const latencies = new LatencySamples();
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await work();
    latencies.add(performance.now() - started);
  }
  return latencies;
}

/** The median of `values` (NaN for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
