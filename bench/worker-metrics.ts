import { request } from './http-client.js';

/** One sample of a worker's own /metrics, unlabelled but for the worker label prom-client adds; undefined when it does not answer. */
export async function workerMetric(url: string, name: string): Promise<number | undefined> {
  try {
    const text = (await request(`${url}/metrics`, { timeoutMs: 5_000 })).body;
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+(?:\\.\\d+)?(?:e[+-]\\d+)?)$`, 'm').exec(text);
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}
