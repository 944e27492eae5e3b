/**
 * The Series tab: every label name in the catalogue with how many values it has
 * (from /api/v1/status/tsdb, one pass over the catalogue);
 * opening one lists its values with how many series carry each. Clicking a value
 * writes its selector into the editor and runs it.
 */
import { prometheus } from './api';

type Labels = Record<string, string>;
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
/** Values listed per label; the count says when there are more. */
const MAX_VALUES = 500;
/** Label names listed, at most (the API's own limit). */
const MAX_LABELS = 10_000;

/** What the series tab reads of /api/v1/status/tsdb. */
interface TsdbStatus {
  readonly labelValueCountByLabelName: Array<{ readonly name: string; readonly value: number }>;
}

export function startSeriesTab(choose: (selector: string) => void): () => void {
  let loaded = false;
  return () => {
    if (loaded) return;
    loaded = true;
    void load();
  };

  async function load(): Promise<void> {
    const list = $('label-list');
    const error = $('series-error');
    try {
      // One pass over the catalogue for every label's count of values, not one per label.
      const stats = await prometheus<TsdbStatus>('status/tsdb', { limit: String(MAX_LABELS) });
      const labels = stats.labelValueCountByLabelName.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
      list.replaceChildren(...labels.map(({ name, value }) => labelItem(name, value)));
      list.dataset.labels = String(labels.length);
    } catch (failure) {
      error.textContent = failure instanceof Error ? failure.message : String(failure);
    }
  }

  function labelItem(name: string, count: number): HTMLElement {
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = `${name} (${count} value${count === 1 ? '' : 's'})`;
    details.append(summary);
    details.ontoggle = () => {
      if (details.open && details.childElementCount === 1) void fillValues(details, name);
    };
    return details;
  }

  async function fillValues(details: HTMLElement, name: string): Promise<void> {
    const values = (await labelValues(name)).slice(0, MAX_VALUES);
    const perValue = await seriesCounts(name).catch(() => undefined);
    const ul = document.createElement('ul');
    for (const value of values) {
      const li = document.createElement('li');
      const link = document.createElement('a');
      const selector = name === '__name__' ? selectorOfName(value) : `{${name}=${JSON.stringify(value)}}`;
      link.href = '#';
      link.textContent = value;
      link.onclick = (event) => {
        event.preventDefault();
        choose(selector);
      };
      li.append(link, ` ${perValue === undefined ? '' : `(${perValue.get(value) ?? 0} series)`}`);
      ul.append(li);
    }
    details.append(ul);
  }
}

const labelValues = (name: string): Promise<string[]> =>
  prometheus<string[]>(`label/${encodeURIComponent(name)}/values`, {});

/** Series per value of a label, from /api/v1/series (refused by meetr past its limit of series). */
async function seriesCounts(name: string): Promise<Map<string, number>> {
  const series = await prometheus<Labels[]>('series', { 'match[]': `{${name}!=""}` });
  const counts = new Map<string, number>();
  for (const labels of series) {
    const value = labels[name];
    if (value !== undefined) counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return counts;
}

/** A metric name as a selector: bare when PromQL allows it, else {__name__="..."} (Meetr ids like cpu.load). */
function selectorOfName(name: string): string {
  return /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name) ? name : `{__name__=${JSON.stringify(name)}}`;
}
