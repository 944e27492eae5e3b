import type { Point } from '../src/domain/point.js';
import { seededRandom } from './random.js';

/**
 * `count` points over `metrics` metrics, one every `stepMs` per metric, ending at
 * `endMs` — so they spread over several day partitions like a real feed. Values
 * look like gauges (a random walk), from the seed.
 */
export function generatePoints(options: {
  count: number;
  metrics: number;
  prefix: string;
  stepMs: number;
  endMs: number;
  seed: number;
}): Point[] {
  const { count, metrics, prefix, stepMs, endMs, seed } = options;
  const random = seededRandom(seed);
  const perMetric = Math.ceil(count / metrics);
  const level = Array.from({ length: metrics }, () => random() * 100);
  const points: Point[] = new Array<Point>(count);
  for (let i = 0; i < count; i++) {
    const metric = i % metrics;
    const step = Math.floor(i / metrics);
    level[metric] = Math.max(0, level[metric]! + (random() - 0.5) * 4);
    points[i] = {
      metricId: `${prefix}.${metric}`,
      ts: endMs - (perMetric - step) * stepMs,
      value: Math.round(level[metric] * 1000) / 1000,
    };
  }
  return points;
}

/** Meetr's form batch body: `batch=True&metrics=<JSON array>`. */
export function formBatchBody(points: readonly Point[]): string {
  const metrics = JSON.stringify(points.map((p) => ({ metric_id: p.metricId, ts: p.ts, value: p.value })));
  return new URLSearchParams({ batch: 'True', metrics }).toString();
}

/** `points` as Meetr form batch bodies of at most `size` points each, in order. */
export function formBatchBodies(points: readonly Point[], size: number): string[] {
  const bodies: string[] = [];
  for (let start = 0; start < points.length; start += size)
    bodies.push(formBatchBody(points.slice(start, start + size)));
  return bodies;
}
