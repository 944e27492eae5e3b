/** The whole HTTP app over the in-memory store: for unit tests of the edge and the services, no Cassandra involved. */
import { composeApp, type MeetrApp } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
import type { Log } from '../../src/log.js';
import { InMemoryPointStore } from '../../src/storage/memory/in-memory-point-store.js';

export interface MemoryApp {
  readonly app: MeetrApp;
  readonly store: InMemoryPointStore;
  /** Errors the app logged as unexpected (each would have been a 500). */
  readonly unexpected: unknown[];
  /** Lines the app logged about storage failures (503s), as message and cause. */
  readonly storageFailures: Array<{ message: string; cause: unknown }>;
}

export function memoryApp(env: Record<string, string> = {}): MemoryApp {
  const store = new InMemoryPointStore();
  const unexpected: unknown[] = [];
  const storageFailures: Array<{ message: string; cause: unknown }> = [];
  // Errors about a 503 are storage failures; any other error line is an unexpected error.
  const log: Log = {
    info: () => undefined,
    warn: () => undefined,
    error: (msg, fields) => {
      if (msg.startsWith('503 ')) storageFailures.push({ message: msg, cause: fields?.error });
      else unexpected.push(fields?.error);
    },
    with: () => log,
  };
  const app = composeApp({ config: loadConfig(env), storage: store.asStorage(), workerId: 'unit', log });
  return { app, store, unexpected, storageFailures };
}
