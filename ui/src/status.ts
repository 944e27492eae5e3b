/**
 * The Status tab: GET /1.0/status every 5 s while the tab is shown: the workers as
 * HAProxy sees them, each roller's lag per shard, Cassandra, and the ingest rate
 * (points written by all workers, per second, between two readings).
 */
import { meetr } from './api';

interface Reading<T> {
  ok: boolean;
  value?: T;
  error?: string;
}
interface Status {
  time: number;
  worker: string;
  workers: Reading<
    { name: string; status: string; check: string; currentSessions: number; sinceChangeSeconds: number }[]
  >;
  rollers: Reading<{ port: number; status: string; shardLags: Record<string, number> }>[];
  cassandra: { reachable: boolean; disk?: unknown };
  pointsWritten: { total: number; workersAnswering: number; workers: number };
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

export function startStatusTab(): (shown: boolean) => void {
  let timer: number | undefined;
  let previous: Status | undefined;
  const poll = async (): Promise<void> => {
    try {
      const status = await meetr<Status>('/1.0/status', {});
      show(status, previous);
      previous = status;
      $('status-error').textContent = '';
    } catch (failure) {
      $('status-error').textContent = failure instanceof Error ? failure.message : String(failure);
    }
  };
  return (shown) => {
    window.clearInterval(timer);
    timer = undefined;
    if (!shown) return;
    void poll();
    timer = window.setInterval(() => void poll(), 5000);
  };
}

function show(status: Status, previous: Status | undefined): void {
  const table = (header: string[], rows: string[][]): HTMLTableElement => {
    const t = document.createElement('table');
    const head = t.createTHead().insertRow();
    for (const h of header) head.appendChild(document.createElement('th')).textContent = h;
    for (const cells of rows) {
      const tr = t.insertRow();
      for (const c of cells) tr.insertCell().textContent = c;
    }
    return t;
  };
  const workers = status.workers;
  $('status-workers').replaceChildren(
    workers.ok && workers.value !== undefined
      ? table(
          ['worker', 'HAProxy status', 'last check', 'sessions now', 'since change'],
          workers.value.map((w) => [w.name, w.status, w.check, String(w.currentSessions), `${w.sinceChangeSeconds} s`]),
        )
      : `HAProxy's stats do not answer: ${workers.error ?? ''}`,
  );
  $('status-rollers').replaceChildren(
    table(
      ['roller', 'status', 'lag per shard (s)'],
      status.rollers.map((r, i) =>
        r.ok && r.value !== undefined
          ? [
              `:${r.value.port}`,
              r.value.status,
              Object.entries(r.value.shardLags)
                .map(([shard, lag]) => `${shard}: ${lag.toFixed(0)}`)
                .join(', ') || 'no shards held',
            ]
          : [`#${i}`, 'not answering', r.error ?? ''],
      ),
    ),
  );
  $('status-cassandra').textContent = status.cassandra.reachable
    ? `reachable from worker ${status.worker}`
    : `NOT reachable from worker ${status.worker}`;
  const { total, workersAnswering, workers: count } = status.pointsWritten;
  let rate = 'measuring…';
  if (
    previous !== undefined &&
    previous.pointsWritten.workersAnswering === workersAnswering &&
    total >= previous.pointsWritten.total && // a worker that restarted starts its counter again
    status.time > previous.time
  )
    rate = `${(((total - previous.pointsWritten.total) * 1000) / (status.time - previous.time)).toFixed(1)} points/s`;
  $('status-ingest').textContent =
    `${rate} (${total} points written since the workers started; ${workersAnswering} of ${count} workers answering)`;
}
