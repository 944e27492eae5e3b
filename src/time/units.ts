/** Time inside meetr: epoch milliseconds (UTC) and the lengths that go with them. Zones matter only at the edges. */

/** Epoch milliseconds (UTC): the only representation of an instant inside meetr. */
export type EpochMs = number;

export const MS_PER_SECOND = 1_000;
export const MS_PER_MINUTE = 60 * MS_PER_SECOND;
export const MS_PER_HOUR = 60 * MS_PER_MINUTE;
/** A UTC day; calendar days in other zones may be 23 or 25 hours. */
export const HOURS_PER_DAY = 24;
export const MS_PER_DAY = HOURS_PER_DAY * MS_PER_HOUR;
