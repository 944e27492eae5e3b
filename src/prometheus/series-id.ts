/**
 * A Prometheus series as a meetr metric id: `name{a="1",b="2"}`, labels sorted by
 * name, values escaped as Prometheus writes them (\\, \", \n); a series with no
 * label but its name is the plain name, so the Meetr id `cpu.load` and the series
 * `{__name__="cpu.load"}` are the same metric.
 */

export interface Label {
  readonly name: string;
  readonly value: string;
}

export function seriesId(labels: readonly Label[]): string {
  let name = '';
  const others: Label[] = [];
  for (const label of labels) {
    if (label.name === '__name__') name = label.value;
    else if (label.value !== '') others.push(label); // an empty label is no label, in Prometheus
  }
  if (others.length === 0) return name;
  others.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `${name}{${others.map((l) => `${l.name}="${escapeLabelValue(l.value)}"`).join(',')}}`;
}

export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}
