/**
 * OTLP metrics into samples, by the rules of Prometheus' OTLP receiver with its
 * defaults (storage/remote/otlptranslator; names in names.ts):
 *
 * - a data point's labels are its attributes (keys made label names; keys that
 *   become the same name have their values joined with `;`, in key order), `job`
 *   from the resource's `service.namespace`/`service.name` (`ns/name`, or `name`)
 *   and `instance` from `service.instance.id`; other resource attributes go to
 *   `target_info` only, scope metadata to no label;
 * - a gauge, or a non-monotonic cumulative sum, is one sample a point; a monotonic
 *   cumulative sum is a counter (`_total`); an explicit-bucket histogram is
 *   `_bucket{le}` (cumulative counts, `+Inf` the count), `_sum` (when sent) and
 *   `_count`; a summary is `{quantile}`, `_sum` and `_count`;
 * - a point flagged "no recorded value" is a staleness marker; times are truncated
 *   to milliseconds; an integer value becomes a double;
 * - `target_info{job,instance,<other resource attributes>} 1`, for a resource with
 *   attributes besides the three above and with `job` or `instance`.
 *
 * Refused, point by point, with the reason given back in `partial_success`: delta
 * temporality (a delta is a difference, not a value of the series; summing deltas
 * into a total needs every earlier delta, which a stateless worker behind a load
 * balancer does not have, so no conversion here would be exact), exponential
 * histograms (Prometheus makes native histograms of them, which meetr does not
 * store; no bucket boundaries to read them into classic buckets exactly either),
 * metrics with no data, names or attribute keys that normalise to nothing, series
 * ids meetr cannot store, and points outside the writable window.
 *
 * Where this differs from Prometheus: Prometheus writes target_info every 2.5
 * minutes (half its lookback) from the resource's earliest to its latest point;
 * here it is written at each distinct time of the resource's stored points, so a
 * body cannot make more target_info samples than it has points.
 */
import { type Point, type SpecialSample, type TsWindow } from '../domain/point.js';
import { NAME_LABEL, type Label } from '../domain/series.js';
import { formatFloat, labelName, metricName, type NamingType } from './names.js';
import { Output, type Series } from './output.js';
import {
  CUMULATIVE,
  NO_RECORDED_VALUE,
  type Attribute,
  type OtlpMetric,
  type OtlpRequest,
  type OtlpResource,
  type PartialSuccess,
  type PointBase,
} from './model.js';

export interface OtlpWrite {
  readonly points: Point[];
  readonly specialSamples: SpecialSample[];
  /** Data points refused, and why (undefined when every point was taken). */
  readonly partialSuccess: PartialSuccess | undefined;
}

const SERVICE_NAME = 'service.name';
const SERVICE_NAMESPACE = 'service.namespace';
const SERVICE_INSTANCE_ID = 'service.instance.id';
const IDENTIFYING = new Set([SERVICE_NAME, SERVICE_NAMESPACE, SERVICE_INSTANCE_ID]);

/** The samples of an export request; points it cannot take are counted and explained, not stored. */
export function translateOtlp(request: OtlpRequest, window: TsWindow): OtlpWrite {
  const out = new Output(window);
  for (const resource of request) translateResource(resource, out);
  return { points: out.points, specialSamples: out.specialSamples, partialSuccess: out.partialSuccess() };
}

function translateResource(resource: OtlpResource, out: Output): void {
  const identity = identityLabels(resource.attributes);
  const times = new Set<number>();
  for (const metric of resource.metrics) translateMetric(metric, identity, out, times);
  const infoAttributes = resource.attributes.filter((a) => !IDENTIFYING.has(a.key));
  if (infoAttributes.length === 0 || identity.length === 0 || times.size === 0) return;
  const labels = attributeLabels(infoAttributes, out);
  if (labels === undefined) return;
  const info = withExtras([...labels, ...identity], [[NAME_LABEL, 'target_info']]);
  const series = out.series(info);
  for (const ts of [...times].sort((a, b) => a - b)) out.sample(series, ts, 1);
}

/** `job` and `instance` of a resource, as Prometheus maps them. */
function identityLabels(attributes: readonly Attribute[]): Label[] {
  const get = (key: string): string | undefined => attributes.find((a) => a.key === key)?.value;
  const name = get(SERVICE_NAME);
  const namespace = get(SERVICE_NAMESPACE);
  const instance = get(SERVICE_INSTANCE_ID);
  const labels: Label[] = [];
  if (name !== undefined) labels.push({ name: 'job', value: namespace === undefined ? name : `${namespace}/${name}` });
  if (instance !== undefined) labels.push({ name: 'instance', value: instance });
  return labels;
}

function translateMetric(metric: OtlpMetric, identity: readonly Label[], out: Output, times: Set<number>): void {
  const { data } = metric;
  const quoted = JSON.stringify(metric.name);
  if (data.kind === 'none') return out.refuse(0, `metric ${quoted} has no gauge, sum, histogram or summary`);
  if (data.kind === 'exponential_histogram')
    return out.refuse(
      data.pointCount,
      `metric ${quoted} is an exponential histogram, which Prometheus stores as a native histogram and meetr does not store; export it with explicit buckets`,
    );
  if ((data.kind === 'sum' || data.kind === 'histogram') && data.temporality !== CUMULATIVE)
    return out.refuse(
      data.points.length,
      `metric ${quoted} has ${data.temporality === 1 ? 'delta' : 'unspecified'} temporality; meetr stores cumulative series (set the exporter's temporality preference to cumulative)`,
    );
  if (data.points.length === 0) return out.refuse(0, `metric ${quoted} has no data points`);
  const name = metricName(metric.name, metric.unit, namingType(metric));
  if (name === undefined) return out.refuse(data.points.length, `metric name ${quoted} has no name characters`);

  switch (data.kind) {
    case 'gauge':
    case 'sum':
      return eachPoint(data.points, metric.name, identity, out, times, (p, add) => add([[NAME_LABEL, name]], p.value));
    case 'histogram':
      return eachPoint(data.points, metric.name, identity, out, times, (h, add) => {
        if (h.sum !== undefined) add([[NAME_LABEL, `${name}_sum`]], h.sum);
        add([[NAME_LABEL, `${name}_count`]], h.count);
        let cumulative = 0;
        for (let i = 0; i < h.bounds.length && i < h.bucketCounts.length; i++) {
          cumulative += h.bucketCounts[i]!;
          add(
            [
              ['le', formatFloat(h.bounds[i]!)],
              [NAME_LABEL, `${name}_bucket`],
            ],
            cumulative,
          );
        }
        add(
          [
            ['le', '+Inf'],
            [NAME_LABEL, `${name}_bucket`],
          ],
          h.count,
        );
      });
    case 'summary':
      return eachPoint(data.points, metric.name, identity, out, times, (s, add) => {
        add([[NAME_LABEL, `${name}_sum`]], s.sum);
        add([[NAME_LABEL, `${name}_count`]], s.count);
        for (const q of s.quantiles)
          add(
            [
              ['quantile', formatFloat(q.quantile)],
              [NAME_LABEL, name],
            ],
            q.value,
          );
      });
  }
}

type Extras = ReadonlyArray<readonly [string, string]>;
/** Makes a point's samples: `add(extras, value)` writes one, with the point's labels and `extras` over them. */
type Emit<P> = (point: P, add: (extras: Extras, value: number) => void) => void;

/**
 * The samples of each point of a metric; a point flagged "no recorded value" gives
 * staleness markers. Points of one series share their attributes: their labels and
 * series ids are made once a metric.
 */
function eachPoint<P extends PointBase>(
  points: readonly P[],
  metricName: string,
  identity: readonly Label[],
  out: Output,
  times: Set<number>,
  emit: Emit<P>,
): void {
  const bases = new Map<string, Label[] | undefined>();
  const series = new Map<string, Series>();
  for (const point of points) {
    const key = attributesKey(point.attributes);
    if (!bases.has(key)) {
      const attributes = attributeLabels(point.attributes, out);
      bases.set(key, attributes === undefined ? undefined : overridden(attributes, identity));
    }
    const base = bases.get(key);
    if (base === undefined) {
      out.refuse(1, `a point of ${JSON.stringify(metricName)} has an attribute key that makes no label name`);
      continue;
    }
    const stale = (point.flags & NO_RECORDED_VALUE) !== 0;
    let stored = false;
    let refused = false;
    emit(point, (extras, value) => {
      const seriesKey = `${key}|${textKey(extras)}`;
      let one = series.get(seriesKey);
      if (one === undefined) series.set(seriesKey, (one = out.series(withExtras(base, extras))));
      if (out.sample(one, point.timeMs, stale ? Number.NaN : value, stale)) stored = true;
      else refused = true;
    });
    if (stored) times.add(point.timeMs);
    if (refused) out.refuse(1); // a data point counts once, whichever of its samples were refused
  }
}

/** A pair of texts as part of a key, each prefixed by its length: no two lists of pairs make the same key. */
function keyPart(a: string, b: string): string {
  return `${a.length}:${a}${b.length}:${b}`;
}

function textKey(pairs: Extras): string {
  let key = '';
  for (const [a, b] of pairs) key += keyPart(a, b);
  return key;
}

function attributesKey(attributes: readonly Attribute[]): string {
  let key = '';
  for (const { key: name, value } of attributes) key += keyPart(name, value);
  return key;
}

function namingType(metric: OtlpMetric): NamingType {
  switch (metric.data.kind) {
    case 'sum':
      return metric.data.monotonic ? 'monotonic_counter' : 'non_monotonic_counter';
    case 'histogram':
      return 'histogram';
    case 'summary':
      return 'summary';
    default:
      return 'gauge';
  }
}

/**
 * Attributes as labels: keys made label names, sorted by key; keys that become one
 * name have their values joined with `;`. Undefined when a key normalises to nothing.
 */
function attributeLabels(attributes: readonly Attribute[], out: Output): Label[] | undefined {
  const sorted = [...attributes].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const byName = new Map<string, string>();
  for (const { key, value } of sorted) {
    const name = labelName(key);
    if (name === undefined) {
      out.refuse(0, `the attribute key ${JSON.stringify(key)} makes no label name`);
      return undefined;
    }
    const existing = byName.get(name);
    byName.set(name, existing === undefined ? value : `${existing};${value}`);
  }
  return [...byName].map(([name, value]) => ({ name, value }));
}

/** `labels` with `over`'s labels in place of those of the same name. */
function overridden(labels: readonly Label[], over: readonly Label[]): Label[] {
  const names = new Set(over.map((l) => l.name));
  return [...labels.filter((l) => !names.has(l.name)), ...over];
}

function withExtras(labels: readonly Label[], extras: Extras): Label[] {
  return overridden(
    labels,
    extras.map(([name, value]) => ({ name, value })),
  );
}

/** The samples a request makes at most (as the wire count has them), before any is refused. */
export function samplesOf(request: OtlpRequest): number {
  let samples = 0;
  for (const resource of request)
    for (const { data } of resource.metrics) {
      if (data.kind === 'gauge' || data.kind === 'sum') samples += data.points.length;
      else if (data.kind === 'histogram') for (const point of data.points) samples += point.bucketCounts.length + 2;
      else if (data.kind === 'summary') for (const point of data.points) samples += point.quantiles.length + 2;
      else if (data.kind === 'exponential_histogram') samples += data.pointCount;
    }
  return samples;
}
