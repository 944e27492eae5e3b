/**
 * What every long-running meetr process (worker, roller, log keeper) does the same
 * way: its configuration read once (a bad one ends it with exit code 78), its log
 * named once that is known, unhandled rejections logged, and one shutdown on
 * SIGINT, SIGTERM or pm2's shutdown message, with a hard stop after a deadline.
 */
import { loadConfigOrExit, type Config } from './config.js';
import { createLog, errorField, type Log } from './log.js';

export interface MeetrProcess {
  readonly config: Config;
  readonly log: Log;
  /**
   * Calls `stop` once, on the first of SIGINT, SIGTERM or pm2's shutdown message;
   * exits with 1 if the process has not exited `hardStopMs` later.
   */
  onShutdown(stop: (signal: string) => void, hardStopMs: number): void;
}

/** Starts a process of `kind`, its log named `<kind> <name>` once its configuration gives the name. */
export function startProcess(kind: string, nameOf: (config: Config) => string | undefined): MeetrProcess {
  let log = createLog(kind);
  process.on('unhandledRejection', (reason) => {
    log.error('unhandled rejection', { error: errorField(reason, true) });
  });
  const config = loadConfigOrExit(log);
  const name = nameOf(config);
  if (name !== undefined) log = createLog(`${kind} ${name}`);
  return {
    config,
    log,
    onShutdown(stop, hardStopMs) {
      let stopping = false;
      const shutdown = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        const force = setTimeout(() => {
          log.warn(`still running ${hardStopMs} ms after ${signal}; exiting`);
          process.exit(1);
        }, hardStopMs);
        force.unref();
        stop(signal);
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('message', (message) => {
        if (message === 'shutdown') shutdown('shutdown message');
      });
    },
  };
}
