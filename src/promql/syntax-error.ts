/** A PromQL parse error at an offset of the query, reported as Prometheus does: `line:column: parse error: ...`. */
import { invalidRequest, type MeetrError } from '../errors.js';

export class PromqlSyntaxError extends Error {
  constructor(
    readonly query: string,
    readonly at: number,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'PromqlSyntaxError';
  }

  /** The error as the API answers it: invalid_request (Prometheus' bad_data). */
  toMeetrError(): MeetrError {
    const before = this.query.slice(0, this.at).split('\n');
    const where = `${before.length}:${before[before.length - 1]!.length + 1}`;
    return invalidRequest(`${where}: parse error: ${this.reason}`, [{ field: 'query', message: this.reason }]);
  }
}
