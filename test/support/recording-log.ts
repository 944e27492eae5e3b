/** A Log (src/log.ts) that keeps its lines for a test to read. */
import type { Fields, Log } from '../../src/log.js';

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly fields: Fields;
}

export function recordingLog(lines: LogLine[] = [], base: Fields = {}): Log & { readonly lines: LogLine[] } {
  const line = (level: LogLine['level']) => (msg: string, fields?: Fields) =>
    void lines.push({ level, msg, fields: { ...base, ...fields } });
  return {
    lines,
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    with: (fields) => recordingLog(lines, { ...base, ...fields }),
  };
}
