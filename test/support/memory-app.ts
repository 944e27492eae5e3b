/** The whole HTTP app over the in-memory store: for unit tests of the edge and the services, no Cassandra involved. */
import { composeApp, type MeetrApp } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
import { InMemoryPointStore } from '../../src/storage/memory/in-memory-point-store.js';

export interface MemoryApp {
  readonly app: MeetrApp;
  readonly store: InMemoryPointStore;
  /** Errors the app logged as unexpected (each would have been a 500). */
  readonly unexpected: unknown[];
}

export function memoryApp(env: Record<string, string> = {}): MemoryApp {
  const store = new InMemoryPointStore();
  const unexpected: unknown[] = [];
  const app = composeApp({ config: loadConfig(env), storage: store.asStorage(), workerId: 'unit', logError: (_, error) => unexpected.push(error) });
  return { app, store, unexpected };
}
