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
    return new StorageUnavailableError(`Cassandra is unavailable (${operation})`, error);
  }
  return error;
}
