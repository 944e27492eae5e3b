/**
 * What the page shows is held in its URL (query string), so a link reproduces a
 * view: the tab, the PromQL query with its range, end, step and view, and the Meetr
 * search's fields. Changing a view replaces the URL; nothing else is stored.
 */
export type Tab = 'query' | 'search' | 'series' | 'status';
const TABS: readonly Tab[] = ['query', 'search', 'series', 'status'];

/** The URL's parameter, or `fallback`. */
export function param(name: string, fallback = ''): string {
  return new URLSearchParams(location.search).get(name) ?? fallback;
}

export function currentTab(): Tab {
  const tab = param('tab', 'query');
  return (TABS as readonly string[]).includes(tab) ? (tab as Tab) : 'query';
}

/** Sets these parameters (an empty value removes one) and keeps the rest. */
export function setParams(values: Record<string, string>): void {
  const params = new URLSearchParams(location.search);
  for (const [name, value] of Object.entries(values)) {
    if (value === '') params.delete(name);
    else params.set(name, value);
  }
  const search = params.toString();
  history.replaceState(null, '', search === '' ? location.pathname : `${location.pathname}?${search}`);
}

/** Durations as the range presets write them: 5m, 1h, 1d, 1w. */
export function durationSeconds(text: string): number | undefined {
  const match = /^(\d+)([smhdw])$/.exec(text.trim());
  if (match === null) return undefined;
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[match[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(match[1]) * unit;
}

/** A datetime-local input's value as epoch seconds (the browser's zone), or undefined when empty. */
export function localInputSeconds(value: string): number | undefined {
  if (value === '') return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

/** Epoch seconds as a datetime-local input's value, in the browser's zone. */
export function toLocalInput(seconds: number): string {
  const date = new Date(seconds * 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A series' labels as PromQL writes them: name{a="1", b="2"}. */
export function seriesLabel(labels: Readonly<Record<string, string>>): string {
  const { __name__: name = '', ...rest } = labels;
  const pairs = Object.entries(rest).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return pairs.length === 0 ? name || '{}' : `${name}{${pairs.join(', ')}}`;
}
