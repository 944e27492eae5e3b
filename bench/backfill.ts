/**
 * The same labelled samples in meetr and in Debian's Prometheus, for the bench's
 * Prometheus scenario and the sealed differential tier: remote-write bodies of them
 * (as Prometheus' sender cuts them), and a Prometheus backfilled with them through
 * `promtool tsdb create-blocks-from openmetrics`, started on those blocks alone.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import protobuf from 'protobufjs';
import { compressSync } from 'snappy';
import { REMOTE_WRITE_PROTO } from '../src/prometheus/remote-write.js';

/** One series: its labels (`__name__` among them) and its samples [ms, value], ascending. */
export interface LabelledSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly samples: ReadonlyArray<readonly [number, number]>;
}

const WriteRequest = protobuf.parse(REMOTE_WRITE_PROTO).root.lookupType('WriteRequest');

/**
 * The series cut into requests of at most `samplesPerRequest` samples (Prometheus'
 * default max_samples_per_send is 2,000): 20 series a request, as a sender's shard
 * mixes them, each request a stretch of time; each series with that stretch of its
 * samples.
 */
export function requestsOf(series: readonly LabelledSeries[], samplesPerRequest = 2_000): LabelledSeries[][] {
  const requests: LabelledSeries[][] = [];
  const perSeries = samplesPerRequest / 20;
  const length = Math.max(0, ...series.map((s) => s.samples.length));
  for (let at = 0; at < length; at += perSeries) {
    for (let first = 0; first < series.length; first += 20) {
      const chosen = series
        .slice(first, first + 20)
        .filter((s) => at < s.samples.length)
        .map((s) => ({ labels: s.labels, samples: s.samples.slice(at, at + perSeries) }));
      if (chosen.length > 0) requests.push(chosen);
    }
  }
  return requests;
}

/** Remote-write bodies of at most `samplesPerRequest` samples, cut as requestsOf cuts them. */
export function remoteWriteBodies(series: readonly LabelledSeries[], samplesPerRequest = 2_000): Buffer[] {
  return requestsOf(series, samplesPerRequest).map((request) => {
    const timeseries = request.map((s) => ({
      labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })),
      samples: s.samples.map(([timestamp, value]) => ({ timestamp, value })),
    }));
    return compressSync(Buffer.from(WriteRequest.encode(WriteRequest.create({ timeseries })).finish()));
  });
}

/** Posts the bodies to `url`/api/v1/write from `clients` senders, retrying a 503 as Prometheus does. */
export function postRemoteWrite(
  url: string,
  bodies: readonly Buffer[],
  clients = 8,
): Promise<{ seconds: number; failures: number }> {
  const headers = {
    'Content-Type': 'application/x-protobuf',
    'Content-Encoding': 'snappy',
    'X-Prometheus-Remote-Write-Version': '0.1.0',
  };
  return postBodies(`${url}/api/v1/write`, headers, 204, bodies, clients);
}

/** Posts the bodies to `url` from `clients` senders, each retrying a 503 after a second; counts other answers than `ok`. */
export async function postBodies(
  url: string,
  headers: Readonly<Record<string, string>>,
  ok: number,
  bodies: readonly Uint8Array[],
  clients: number,
): Promise<{ seconds: number; failures: number }> {
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        for (let attempt = 0; ; attempt++) {
          const response = await fetch(url, { method: 'POST', headers, body });
          await response.arrayBuffer();
          if (response.status === ok) break;
          if (response.status !== 503 || attempt > 20) {
            failures++;
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, failures };
}

/** A value as the exposition formats spell it. */
function valueText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const escapeLabel = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The series as an OpenMetrics file, one series after another, untyped. */
export function openMetrics(series: readonly LabelledSeries[]): string {
  const lines: string[] = [];
  for (const { labels, samples } of series) {
    const { __name__: name, ...rest } = labels;
    const pairs = Object.entries(rest).map(([label, value]) => `${label}="${escapeLabel(value)}"`);
    const selector = pairs.length === 0 ? name! : `${name!}{${pairs.join(',')}}`;
    for (const [ts, value] of samples) lines.push(`${selector} ${valueText(value)} ${(ts / 1000).toFixed(3)}`);
  }
  lines.push('# EOF', '');
  return lines.join('\n');
}

/** A Prometheus on blocks backfilled in `workDir` from the series; it scrapes nothing and keeps ten years. */
export function backfilledPrometheus(
  workDir: string,
  series: readonly LabelledSeries[],
  port: number,
): Promise<{ url: string; stop: () => void }> {
  return prometheusOn(workDir, port, [() => openMetrics(series)]);
}

/**
 * A Prometheus on the blocks in `workDir`: backfilled anew from `files` (each an
 * OpenMetrics text, made when its turn comes and converted on its own, since
 * promtool reads its whole input once per two-hour block), or, without them, those
 * an earlier call left there.
 */
export async function prometheusOn(
  workDir: string,
  port: number,
  files: ReadonlyArray<() => string> | undefined,
): Promise<{ url: string; stop: () => void }> {
  if (files !== undefined) {
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(join(workDir, 'data'), { recursive: true });
    for (const text of files) {
      writeFileSync(join(workDir, 'samples.om'), text());
      await promisify(execFile)(
        'promtool',
        ['tsdb', 'create-blocks-from', 'openmetrics', join(workDir, 'samples.om'), join(workDir, 'data')],
        { maxBuffer: 64 * 1024 * 1024 },
      );
    }
  }
  writeFileSync(join(workDir, 'prometheus.yml'), 'global: { scrape_interval: 1m }\n');
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(workDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(workDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=10y',
    ],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if ((await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200)
      return { url, stop: () => child.kill('SIGTERM') };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGTERM');
  throw new Error('the local Prometheus did not become ready');
}
