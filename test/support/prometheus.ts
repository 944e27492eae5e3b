/** Debian's Prometheus for the functional tiers: started on loopback with the given scrape jobs, remote-writing into meetr. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from './eventually.js';

export interface RunningPrometheus {
  readonly url: string;
  /** What it printed so far, for failure messages. */
  output(): string;
  stop(): void;
}

/** Starts Prometheus in a fresh `dir` on 127.0.0.1:`port`, scraping every second; resolves once it is ready. */
export async function startPrometheus(
  dir: string,
  port: number,
  scrapeConfigs: string,
  remoteWriteUrl: string,
): Promise<RunningPrometheus> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s }
scrape_configs:
${scrapeConfigs}
remote_write:
  - url: ${remoteWriteUrl}
    queue_config: { batch_send_deadline: 1s, max_samples_per_send: 500 }
`,
  );
  let output = '';
  const prometheus: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  prometheus.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200,
    60_000,
    `Prometheus is ready (${output.slice(-500)})`,
  );
  return { url, output: () => output, stop: () => prometheus.kill('SIGTERM') };
}
