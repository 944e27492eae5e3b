/**
 * The Query tab: the editor, a range (presets or a custom end), a step chosen as
 * Prometheus' own page chooses it (about 250 points across the range, at least 1 s)
 * and editable; Graph draws query_range, Table lists query at the end time.
 */
import { prometheus } from './api';
import { clearChart, drawChart, type Line } from './chart';
import { createEditor, type Editor } from './editor';
import { durationSeconds, localInputSeconds, param, seriesLabel, setParams, toLocalInput } from './state';

type Labels = Record<string, string>;
type Sample = [number, string];
interface Matrix {
  resultType: 'matrix';
  result: { metric: Labels; values: Sample[] }[];
}
interface Vector {
  resultType: 'vector';
  result: { metric: Labels; value: Sample }[];
}
interface Scalar {
  resultType: 'scalar' | 'string';
  result: Sample;
}
type QueryData = Matrix | Vector | Scalar;

export const RANGES = ['5m', '15m', '30m', '1h', '3h', '6h', '12h', '1d', '2d', '1w', '2w'];

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Prometheus' own choice: about 250 points across the range, never under a second. */
export const autoStep = (rangeSeconds: number): number => Math.max(Math.floor(rangeSeconds / 250), 1);

export function startQueryTab(): Editor {
  const range = $<HTMLInputElement>('range');
  $('ranges').replaceChildren(...RANGES.map((r) => new Option(r)));
  range.value = durationSeconds(param('range')) === undefined ? '1h' : param('range');
  const end = $<HTMLInputElement>('end');
  const endParam = Number(param('end'));
  if (param('end') !== '' && Number.isFinite(endParam)) end.value = toLocalInput(endParam);
  const step = $<HTMLInputElement>('step');
  step.value = param('step');
  let view = param('view') === 'table' ? 'table' : 'graph';
  const editor = createEditor($('editor'), param('q'), () => void run());
  const showStep = (): void => {
    step.placeholder = `${autoStep(durationSeconds(range.value) ?? 3600)} s (auto)`;
  };
  range.onchange = () => {
    if (durationSeconds(range.value) === undefined) range.value = '1h';
    showStep();
    void run();
  };
  showStep();
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-view]'))
    button.onclick = () => {
      view = button.dataset.view === 'table' ? 'table' : 'graph';
      void run();
    };
  $<HTMLButtonElement>('run').onclick = () => void run();
  $<HTMLButtonElement>('end-now').onclick = () => {
    end.value = '';
    void run();
  };

  async function run(): Promise<void> {
    const query = editor.text().trim();
    const rangeSeconds = durationSeconds(range.value) ?? 3600;
    const endSeconds = localInputSeconds(end.value) ?? Date.now() / 1000;
    const stepSeconds = Number(step.value) > 0 ? Number(step.value) : autoStep(rangeSeconds);
    setParams({
      tab: 'query',
      q: query,
      range: range.value,
      end: end.value === '' ? '' : String(Math.round(endSeconds)),
      step: step.value,
      view,
    });
    for (const button of document.querySelectorAll<HTMLButtonElement>('[data-view]'))
      button.classList.toggle('active', button.dataset.view === view);
    $('graph').hidden = view !== 'graph';
    $('table').hidden = view !== 'table';
    const error = $('query-error');
    error.textContent = '';
    if (query === '') return;
    const status = $('query-status');
    status.textContent = 'running…';
    const started = performance.now();
    try {
      if (view === 'graph') {
        const start = endSeconds - rangeSeconds;
        const data = await prometheus<QueryData>('query_range', {
          query,
          start: String(start),
          end: String(endSeconds),
          step: String(stepSeconds),
        });
        const arrived = performance.now();
        const series = showGraph(data, start, endSeconds, stepSeconds, arrived);
        status.textContent = `${(arrived - started).toFixed(0)} ms, ${series === 0 ? 'no data' : `${series} series`}`;
      } else {
        const data = await prometheus<QueryData>('query', { query, time: String(endSeconds) });
        status.textContent = `${(performance.now() - started).toFixed(0)} ms`;
        showTable(data);
      }
    } catch (failure) {
      status.textContent = '';
      error.textContent = failure instanceof Error ? failure.message : String(failure);
      clearChart($('graph'));
      $('table').replaceChildren();
    }
  }
  if (param('tab', 'query') === 'query' && editor.text() !== '') void run();
  return editor;
}

/** A range answer on the chart: x is the step grid from start to end, each series null where it has no sample. */
function showGraph(data: QueryData, start: number, end: number, step: number, arrived: number): number {
  const element = $('graph');
  if (data.resultType !== 'matrix') {
    clearChart(element);
    $('query-error').textContent = `a ${data.resultType} is shown in the Table tab`;
    return 0;
  }
  const xs: number[] = [];
  for (let k = 0; start + k * step <= end + 1e-9; k++) xs.push(start + k * step);
  const lines: Line[] = data.result.map(({ metric, values }) => {
    const ys: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    for (const [t, v] of values) {
      const i = Math.round((t - start) / step);
      const y = Number(v);
      if (i >= 0 && i < ys.length && Number.isFinite(y)) ys[i] = y;
    }
    return { label: seriesLabel(metric), values: ys };
  });
  drawChart(element, xs, lines, arrived);
  return lines.length;
}

/** An instant answer as rows: labels and value (a range selector's samples, one per line). */
function showTable(data: QueryData): void {
  const table = document.createElement('table');
  const row = (cells: string[]): void => {
    const tr = table.insertRow();
    for (const text of cells) tr.insertCell().textContent = text;
  };
  if (data.resultType === 'vector') for (const { metric, value } of data.result) row([seriesLabel(metric), value[1]]);
  else if (data.resultType === 'matrix')
    for (const { metric, values } of data.result)
      row([seriesLabel(metric), values.map(([t, v]) => `${v} @${t}`).join('\n')]);
  else row([data.resultType, data.result[1]]);
  if (table.rows.length === 0) row(['no data', '']);
  $('table').replaceChildren(table);
}
