/** Typed, validated values out of the environment, for config.ts: each problem is collected, none thrown. */
import { knownTimeZone } from './time/zone.js';
import { LEVEL_NAMES } from './rollup/levels.js';
import { DEFAULT_RAW_KEEP_MS, MIN_RAW_KEEP_MS, parseRetention, type Retention } from './rollup/retention.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Keyspace replication, rendered to CQL only by the storage layer. */
export type Replication =
  | { readonly class: 'SimpleStrategy'; readonly replicationFactor: number }
  | { readonly class: 'NetworkTopologyStrategy'; readonly dataCenters: Readonly<Record<string, number>> };

/** Reads typed values out of the environment, collecting problems instead of throwing. */
export class EnvReader {
  /** Every variable asked for, set or not: what a process's environment must carry so that unsetting one means its default. */
  readonly names = new Set<string>();

  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  string(name: string): string | undefined {
    this.names.add(name);
    const raw = this.env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  }

  list(name: string): string[] {
    const raw = this.string(name);
    return raw === undefined
      ? []
      : raw
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part !== '');
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      this.problems.push(`${name}: "${raw}" is not a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(raw);
  }

  matching(name: string, fallback: string, pattern: RegExp, what: string): string {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!pattern.test(raw)) {
      this.problems.push(`${name}: "${raw}" is not ${what}`);
      return fallback;
    }
    return raw;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.string(name)?.toUpperCase();
    if (raw === undefined) return fallback;
    const found = allowed.find((value) => value === raw);
    if (found === undefined) {
      this.problems.push(`${name}: "${raw}" is not one of ${allowed.join(', ')}`);
      return fallback;
    }
    return found;
  }

  /** MEETR_RETENTION_RAW and one per rollup level, each at least as long as the finer ones. */
  retention(): Retention {
    const read = (name: string): number | undefined => {
      const text = this.string(name);
      if (text === undefined) return undefined;
      const ms = parseRetention(text);
      if (ms === null)
        this.problems.push(
          `${name}: "${text}" is not a retention (a number and m, h, d, w or y, such as 30d; or forever)`,
        );
      return ms ?? undefined;
    };
    const raw = read('MEETR_RETENTION_RAW');
    const levels = Object.fromEntries(
      LEVEL_NAMES.map((name) => [name, read(`MEETR_RETENTION_${name.toUpperCase()}`)]),
    ) as Retention['levels'];
    let finer: { name: string; ms: number | undefined } = { name: 'MEETR_RETENTION_RAW', ms: raw };
    for (const name of LEVEL_NAMES) {
      const ms = levels[name];
      const variable = `MEETR_RETENTION_${name.toUpperCase()}`;
      if (finer.ms === undefined && ms !== undefined)
        this.problems.push(
          `${variable} (${ms / 86_400_000} days) is shorter than ${finer.name} (forever): each level is computed from the finer one`,
        );
      else if (finer.ms !== undefined && ms !== undefined && ms < finer.ms)
        this.problems.push(`${variable} is shorter than ${finer.name}: each level is computed from the finer one`);
      finer = { name: variable, ms };
    }
    const rawKeep =
      read('MEETR_RAW_KEEP') ?? (this.string('MEETR_RAW_KEEP') === undefined ? DEFAULT_RAW_KEEP_MS : undefined);
    if (rawKeep !== undefined && rawKeep < MIN_RAW_KEEP_MS)
      this.problems.push(
        `MEETR_RAW_KEEP must be at least ${MIN_RAW_KEEP_MS / 86_400_000}d: raw rows must outlive any hour the roller has not sealed yet`,
      );
    return { raw, levels, rawKeep };
  }

  timeZone(name: string, fallback: string): string {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (knownTimeZone(raw) !== undefined) return raw;
    this.problems.push(`${name}: "${raw}" is not an IANA time zone (e.g. UTC, Europe/Paris, Asia/Kolkata)`);
    return fallback;
  }

  /**
   * `3` (SimpleStrategy with that factor) or `dc1:3,dc2:2` (NetworkTopologyStrategy).
   * Default: SimpleStrategy with `defaultFactor` (1 for a configured cluster — right
   * for one node, wrong for a cluster — and the node count for local nodes).
   */
  replication(name: string, defaultFactor: number): Replication {
    const fallback: Replication = { class: 'SimpleStrategy', replicationFactor: defaultFactor };
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (/^\d{1,2}$/.test(raw) && Number(raw) >= 1) {
      return { class: 'SimpleStrategy', replicationFactor: Number(raw) };
    }
    const dataCenters: Record<string, number> = {};
    for (const part of raw.split(',')) {
      const match = /^\s*([A-Za-z0-9_.-]{1,64})\s*:\s*(\d{1,2})\s*$/.exec(part);
      if (match === null || Number(match[2]) < 1) {
        this.problems.push(
          `${name}: "${raw}" is neither a replication factor (e.g. 3) nor data centers with factors (e.g. dc1:3,dc2:3)`,
        );
        return fallback;
      }
      dataCenters[match[1] as string] = Number(match[2]);
    }
    return { class: 'NetworkTopologyStrategy', dataCenters };
  }
}
