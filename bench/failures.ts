import { postMetrics, type HttpAnswer } from './http-client.js';

/** Failures seen by the bench's own HTTP client: how many, and the first few reasons. */
export class Failures {
  count = 0;
  readonly samples: string[] = [];

  add(reason: string): void {
    this.count++;
    this.keepSample(reason);
  }

  /** Adds another set of failures to this one. */
  absorb(other: Failures): void {
    this.count += other.count;
    for (const reason of other.samples) this.keepSample(reason);
  }

  private keepSample(reason: string): void {
    if (this.samples.length < 5 && !this.samples.includes(reason)) this.samples.push(reason);
  }

  /** Records a non-200 answer or a network error; returns whether the request succeeded. */
  check(answer: HttpAnswer | Error): boolean {
    if (answer instanceof Error)
      this.add(`network: ${(answer as { code?: string }).code ?? ''} ${answer.message}`.trim());
    else if (answer.status !== 200) this.add(`${answer.status} ${answer.body.slice(0, 120)}`);
    else return true;
    return false;
  }
}

export const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/** Whether a request failed because its connection closed before any answer. */
const connectionLost = (error: Error): boolean =>
  ['EPIPE', 'ECONNRESET'].includes((error as { code?: string }).code ?? '');

/**
 * POSTs every body from `clients` concurrent clients; returns the wall time in seconds
 * and the failures. With `retryShed`, for loading data a scenario then measures (not
 * for measuring ingest): a 503 (shed, nothing written) is sent again after a second,
 * as a client following Retry-After would; so is a request whose kept-alive
 * connection was closed under it before any answer (EPIPE, ECONNRESET: HAProxy closes
 * idle connections, on a reload too), which is safe since every insert is an upsert.
 */
export async function postAll(
  url: string,
  bodies: readonly string[],
  clients: number,
  onDone: (done: number) => void,
  retryShed = false,
): Promise<{ seconds: number; failures: Failures }> {
  let next = 0;
  let done = 0;
  const failures = new Failures();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        let answer = await postMetrics(url, body).catch(asError);
        for (
          let attempt = 0;
          retryShed && attempt < 30 && (answer instanceof Error ? connectionLost(answer) : answer.status === 503);
          attempt++
        ) {
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          answer = await postMetrics(url, body).catch(asError);
        }
        failures.check(answer);
        onDone(++done);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, failures };
}
