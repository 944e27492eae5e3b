/**
 * The stack's roller as the bench sees it: its lag from /metrics, and stopping and
 * starting it through ./meetr's pm2, to measure what it costs ingest.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../src/config.js';
import { clockMarginMs, GATHER_SLOTS, SLOT_MS } from '../src/rollup/roll-queue.js';
import { maxHoldMs } from '../src/write-holds.js';
import { cpuSecondsOf, findPids } from './process-cpu.js';

const run = promisify(execFile);

export interface RollerControl {
  /** Whether the stack runs a roller at all (MEETR_ROLLERS > 0). */
  readonly available: boolean;
  stop(): Promise<void>;
  /** Starts it and waits until it holds its shards again. */
  start(): Promise<void>;
  /** The largest lag any roller reports, seconds. */
  lagSeconds(): Promise<number>;
  /** Resolves once no roller is behind by more than its group of slots (GATHER_SLOTS): caught up, when idle. */
  caughtUp(): Promise<void>;
  /** Points the rollers report they read since they started (meetr_roller_points_read_total). */
  pointsRead(): Promise<number>;
  /** The CPU seconds of the roller processes since they started, or undefined when none can be read. */
  cpuSeconds(): number | undefined;
  /** How long after a write the rollers roll it at the latest when idle: its hold, the clock margin, its group of slots. */
  readonly dueAfterMs: number;
}

/**
 * `config`: the stack's settings; `env`: the stack's environment, as `./meetr` needs
 * it to find the stack's pm2.
 */
export function rollerControl(
  projectRoot: string,
  config: Pick<
    Config,
    'appName' | 'rollerPort' | 'rollers' | 'requestTimeoutMs' | 'storageTimeoutMs' | 'maxClockSkewMs'
  >,
  env: NodeJS.ProcessEnv = process.env,
): RollerControl {
  const { appName, rollerPort, rollers } = config;
  const ports = Array.from({ length: rollers }, (_, i) => rollerPort + i);
  const pm2 = (verb: string) =>
    run(join(projectRoot, 'meetr'), ['pm2', verb, `${appName}-roller`], {
      cwd: projectRoot,
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
  const health = async (port: number): Promise<{ shards: number[]; lagSeconds: number } | undefined> => {
    try {
      return (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as {
        shards: number[];
        lagSeconds: number;
      };
    } catch {
      return undefined;
    }
  };
  return {
    available: rollers > 0,
    async stop() {
      await pm2('stop');
    },
    async start() {
      await pm2('start');
      for (let i = 0; i < 240; i++) {
        const all = await Promise.all(ports.map(health));
        if (all.every((h) => h !== undefined) && all.reduce((n, h) => n + h.shards.length, 0) === 16) return;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new Error('the roller did not take its shards back within 60 s');
    },
    async lagSeconds() {
      const all = await Promise.all(ports.map(health));
      return Math.max(0, ...all.map((h) => h?.lagSeconds ?? 0));
    },
    async caughtUp() {
      while ((await this.lagSeconds()) >= (GATHER_SLOTS * SLOT_MS) / 1000)
        await new Promise((resolve) => setTimeout(resolve, 250));
    },
    async pointsRead() {
      const read = async (port: number): Promise<number> => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return Number(/^meetr_roller_points_read_total(?:\{[^}]*\})? (\S+)/m.exec(text)?.[1] ?? 0);
      };
      return (await Promise.all(ports.map(read))).reduce((a, b) => a + b, 0);
    },
    cpuSeconds() {
      return cpuSecondsOf(findPids(join(projectRoot, 'dist', 'roller-main.js')));
    },
    dueAfterMs: maxHoldMs(config) + clockMarginMs(config.maxClockSkewMs) + GATHER_SLOTS * SLOT_MS,
  };
}
