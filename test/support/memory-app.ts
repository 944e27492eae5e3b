/** The whole HTTP app over the in-memory store: for unit tests of the edge and the services, no Cassandra involved. */
import { composeApp, type MeetrApp } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
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
  const logError = (message: string, error: unknown): void => {
    if (message.startsWith('503 ')) storageFailures.push({ message, cause: error });
    else unexpected.push(error);
  };
  const app = composeApp({ config: loadConfig(env), storage: store.asStorage(), workerId: 'unit', logError });
  return { app, store, unexpected, storageFailures };
}
