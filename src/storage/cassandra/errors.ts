import cassandra from 'cassandra-driver';
import { StorageUnavailableError } from '../../errors.js';

const { responseErrorCodes } = cassandra.types;

/** Response codes that mean "Cassandra could not do it now", as opposed to "the statement is wrong". */
const TRANSIENT_CODES = new Set<number>([
  responseErrorCodes.unavailableException,
  responseErrorCodes.overloaded,
  responseErrorCodes.isBootstrapping,
  responseErrorCodes.truncateError,
  responseErrorCodes.writeTimeout,
  responseErrorCodes.readTimeout,
  responseErrorCodes.readFailure,
  responseErrorCodes.writeFailure,
]);

/** Turns a driver failure into StorageUnavailableError when retrying later can help; else returns it as is. */
export function classifyDriverError(error: unknown, operation: string): unknown {
  const { errors } = cassandra;
  if (
    error instanceof errors.NoHostAvailableError ||
    error instanceof errors.OperationTimedOutError ||
    error instanceof errors.BusyConnectionError ||
    (error instanceof errors.DriverError && /not connected|connection|socket|closed|shutdown/i.test(error.message)) ||
    (error instanceof errors.ResponseError && TRANSIENT_CODES.has(error.code))
  ) {
    return new StorageUnavailableError(`Cassandra is unavailable (${operation})`, error, describeDriverError(error));
  }
  return error;
}

/** One line on why a driver call failed: for each host tried, the first line of its error. */
function describeDriverError(error: unknown): string {
  if (error instanceof cassandra.errors.NoHostAvailableError) {
    const tried = Object.entries(error.innerErrors as Record<string, unknown>).map(
      ([host, inner]) => `${host}: ${firstLine(inner)}`,
    );
    if (tried.length > 0) return `no host answered (${tried.join('; ')})`;
  }
  return firstLine(error);
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.split('\n', 1)[0]!;
}
