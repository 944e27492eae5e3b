/**
 * The stack as one host runs it, for the explorer's status tab (GET /1.0/status):
 * the workers as HAProxy sees them (its stats CSV), each roller's lag per shard (its
 * /health), this worker's Cassandra connection and disk, and the points every worker
 * has written (their telemetry counters; the page turns two readings into a rate).
 * Everything is read on loopback, each source within a second, and a reading is shared
 * by the callers of the next second; a source that does not answer is reported as such,
 * never as a failure of the request.
 */

/** What one source said, or why it could not be read. */
export type Reading<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export interface WorkerView {
  readonly name: string;
  /** HAProxy's status: UP, DOWN, MAINT, NOLB... */
  readonly status: string;
  /** Its last health check, as HAProxy names it (L7OK, L4CON...). */
  readonly check: string;
  readonly currentSessions: number;
  readonly totalSessions: number;
  /** Seconds since its status last changed. */
  readonly sinceChangeSeconds: number;
}

export interface RollerView {
  readonly port: number;
  readonly status: string;
  /** Seconds behind, per shard it holds (0 when caught up). */
  readonly shardLags: Readonly<Record<string, number>>;
}

export interface StackStatus {
  /** When this was read, epoch ms. */
  readonly time: number;
  /** The worker that answered. */
  readonly worker: string;
  readonly workers: Reading<readonly WorkerView[]>;
  readonly rollers: readonly Reading<RollerView>[];
  readonly cassandra: { readonly reachable: boolean; readonly disk?: unknown };
  /** meetr_points_written_total of each worker that answered, and their sum. */
  readonly pointsWritten: { readonly total: number; readonly workersAnswering: number; readonly workers: number };
}

export interface StackStatusOptions {
  readonly workerId: string;
  readonly statsPort: number;
  readonly workers: number;
  readonly telemetryPort: number;
  readonly rollerPort: number;
  readonly rollers: number;
  readonly cassandraReady: () => boolean;
  readonly disk?: () => unknown;
  /** Each loopback read gives up after this. */
  readonly timeoutMs?: number;
}

/** The HAProxy backend whose servers are the workers (haproxy/haproxy.cfg). */
const WORKERS_BACKEND = 'meetr_workers';

export function createStackStatus(options: StackStatusOptions): () => Promise<StackStatus> {
  const timeoutMs = options.timeoutMs ?? 1000;
  const get = async (url: string): Promise<string> => {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    if (!response.ok && response.status !== 503) throw new Error(`${url} answered ${response.status}`);
    return text;
  };
  const read = async <T>(work: () => Promise<T>): Promise<Reading<T>> => {
    try {
      return { ok: true, value: await work() };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  };
  // Callers within a second share one reading: a page (or a client) asking often costs the stack no more.
  let last: { readonly at: number; readonly reading: Promise<StackStatus> } | undefined;
  const readAll = async (): Promise<StackStatus> => {
    const loopback = (port: number, path: string): string => `http://127.0.0.1:${port}${path}`;
    const [workers, rollers, counters] = await Promise.all([
      read(async () => workersOf(await get(loopback(options.statsPort, '/stats;csv')))),
      Promise.all(
        range(options.rollers).map((i) =>
          read(async () => rollerOf(options.rollerPort + i, await get(loopback(options.rollerPort + i, '/health')))),
        ),
      ),
      Promise.all(
        range(options.workers).map((i) =>
          read(async () => pointsWrittenOf(await get(loopback(options.telemetryPort + i, '/metrics')))),
        ),
      ),
    ]);
    const answered = counters.flatMap((c) => (c.ok ? [c.value] : []));
    const disk = options.disk?.();
    return {
      time: Date.now(),
      worker: options.workerId,
      workers,
      rollers,
      cassandra: { reachable: options.cassandraReady(), ...(disk === undefined ? {} : { disk }) },
      pointsWritten: {
        total: answered.reduce((sum, n) => sum + n, 0),
        workersAnswering: answered.length,
        workers: options.workers,
      },
    };
  };
  return () => {
    const now = Date.now();
    if (last === undefined || now - last.at >= SHARED_FOR_MS) last = { at: now, reading: readAll() };
    return last.reading;
  };
}

/** How long one reading answers every caller. */
const SHARED_FOR_MS = 1000;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** The worker rows of HAProxy's stats CSV (`# pxname,svname,...` header, one row per proxy and server). */
export function workersOf(csv: string): WorkerView[] {
  const [header, ...rows] = csv.trim().split('\n');
  if (header === undefined || !header.startsWith('# ')) throw new Error('HAProxy stats: no CSV header');
  const columns = header.slice(2).split(',');
  const at = (row: string[], name: string): string => row[columns.indexOf(name)] ?? '';
  return rows
    .map((line) => line.split(','))
    .filter((row) => at(row, 'pxname') === WORKERS_BACKEND && !['FRONTEND', 'BACKEND'].includes(at(row, 'svname')))
    .map((row) => ({
      name: at(row, 'svname'),
      status: at(row, 'status'),
      check: at(row, 'check_status'),
      currentSessions: Number(at(row, 'scur')) || 0,
      totalSessions: Number(at(row, 'stot')) || 0,
      sinceChangeSeconds: Number(at(row, 'lastchg')) || 0,
    }));
}

/** A roller's /health body (roller-main.ts): its status and lag per shard. */
function rollerOf(port: number, body: string): RollerView {
  const health = JSON.parse(body) as { status?: unknown; shardLags?: unknown };
  const lags: Record<string, number> = {};
  if (typeof health.shardLags === 'object' && health.shardLags !== null)
    for (const [shard, lag] of Object.entries(health.shardLags)) if (typeof lag === 'number') lags[shard] = lag;
  return { port, status: typeof health.status === 'string' ? health.status : 'unknown', shardLags: lags };
}

/** meetr_points_written_total in a worker's Prometheus text (telemetry.ts), summed over its lines. */
export function pointsWrittenOf(text: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^meetr_points_written_total(?:\{[^}]*\})? ([0-9.e+]+)$/.exec(line);
    if (match !== null) total += Number(match[1]);
  }
  return total;
}
