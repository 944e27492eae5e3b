/**
 * The Meetr search tab: GET /1.0/metrics as Meetr's clients ask it (metric, from,
 * to, aggregation, and for a series an interval and zone), the single number it
 * answers, and its buckets on the chart. Metric names are completed from the catalogue.
 */
import { meetr, prometheus } from './api';
import { clearChart, drawChart } from './chart';
import { localInputSeconds, param, setParams, toLocalInput } from './state';

interface SearchAnswer {
  metric_id: string;
  aggregation: string;
  value: number | null;
  count: number;
  series?: { start: string; ts: number; value: number | null; count: number }[];
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

export function startSearchTab(): void {
  const form = $<HTMLFormElement>('search-form');
  const field = (name: string): HTMLInputElement | HTMLSelectElement =>
    form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
  const now = Date.now() / 1000;
  field('metric').value = param('metric');
  field('from').value = param('from') === '' ? toLocalInput(now - 3600) : toLocalInput(Number(param('from')));
  field('to').value = param('to') === '' ? toLocalInput(now + 60) : toLocalInput(Number(param('to')));
  field('tz').value = param('tz', Intl.DateTimeFormat().resolvedOptions().timeZone);
  field('aggregation').value = param('aggregation', 'avg');
  field('interval').value = param('interval', '1m');
  let listed = false;
  field('metric').addEventListener('focus', () => {
    if (listed) return;
    listed = true;
    void prometheus<string[]>('label/__name__/values', {}).then((names) => {
      const list = $('metric-names');
      list.replaceChildren(...names.slice(0, 5000).map((name) => new Option(name)));
    });
  });
  form.onsubmit = (event) => {
    event.preventDefault();
    void search();
  };

  async function search(): Promise<void> {
    const from = localInputSeconds(field('from').value);
    const to = localInputSeconds(field('to').value);
    const params: Record<string, string> = {
      metric: field('metric').value.trim(),
      from: from === undefined ? '' : String(Math.floor(from)),
      to: to === undefined ? '' : String(Math.floor(to)),
      tz: field('tz').value.trim(),
      aggregation: field('aggregation').value,
      interval: field('interval').value,
    };
    setParams({ tab: 'search', ...params });
    const query = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== ''));
    const error = $('search-error');
    error.textContent = '';
    try {
      const answer = await meetr<SearchAnswer>('/1.0/metrics', query);
      const arrived = performance.now();
      $('search-value').textContent = answer.value === null ? 'no points' : String(answer.value);
      $('search-count').textContent = `${answer.aggregation} of ${answer.count} point${answer.count === 1 ? '' : 's'}`;
      const buckets = answer.series ?? [];
      if (buckets.length === 0) clearChart($('search-chart'));
      else
        drawChart(
          $('search-chart'),
          buckets.map((b) => b.ts / 1000),
          [{ label: `${answer.aggregation}(${answer.metric_id})`, values: buckets.map((b) => b.value) }],
          arrived,
        );
    } catch (failure) {
      error.textContent = failure instanceof Error ? failure.message : String(failure);
      $('search-value').textContent = '';
      $('search-count').textContent = '';
      clearChart($('search-chart'));
    }
  }
  if (param('tab') === 'search' && param('metric') !== '') void search();
}
