/**
 * One local Cassandra node as a process: the pinned jars fetched with Maven, the
 * JVM started detached with its pid recorded, waiting for CQL, stopping it.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_LOCAL_DC } from '../config.js';
import { probeCql } from '../storage/cassandra/single-node.js';
import { clusterNodeYaml, pathsUnder, pinnedCassandraVersion, PROJECT_ROOT, type LocalNode } from './local-nodes.js';
import { forgetPid, ownedPid, processIdentity, recordPid } from './pid-file.js';

export const run = promisify(execFile);

/** What starting a node may be told (config's MEETR_CASSANDRA_HEAP, MEETR_LOG_MAX_MB). */
export interface NodeOptions {
  /** Where `.local/cassandra` lives; the project root by default. */
  readonly root?: string;
  /** Progress lines go here. */
  readonly log?: (line: string) => void;
  /** How long to wait for CQL after starting, in ms. */
  readonly readyTimeoutMs?: number;
  /** JVM heap of a node started with Java (config's MEETR_CASSANDRA_HEAP): a size, or `auto` (heapFor), the default. */
  readonly heap?: string;
  /** The cap on each node's log folder, MB (config's MEETR_LOG_MAX_MB); 100 unless given. */
  readonly logMaxMb?: number;
}

/**
 * Calls `probe` every second until it returns a value, saying how long it has
 * waited every 15 s; throws `failure()` after `timeoutMs`. An exception from
 * `probe` ends the wait at once.
 */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined>,
  options: { timeoutMs: number; waiting: (seconds: number) => void; failure: () => string },
): Promise<T> {
  const started = Date.now();
  let lastNote = started;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > options.timeoutMs) throw new Error(options.failure());
    if (Date.now() - lastNote > 15_000) {
      options.waiting(Math.round((Date.now() - started) / 1000));
      lastNote = Date.now();
    }
    await sleep(1_000);
  }
}

/**
 * Stops one local node: SIGTERM (a clean shutdown, then SIGKILL after 60 s) or
 * SIGKILL (a crash, as the cluster tier does). Returns whether it was running.
 */
export async function stopLocalNode(
  node: LocalNode,
  signal: 'SIGTERM' | 'SIGKILL',
  log: (line: string) => void = () => undefined,
): Promise<boolean> {
  const pid = alivePid(node.pidFile);
  if (pid === undefined) {
    forgetPid(node.pidFile);
    return false;
  }
  log(`${signal === 'SIGKILL' ? 'killing' : 'stopping'} Cassandra on ${node.address} (pid ${pid})`);
  process.kill(pid, signal);
  const deadline = Date.now() + 60_000;
  while (isProcessAlive(pid) && Date.now() < deadline) await sleep(250);
  if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
  while (isProcessAlive(pid)) await sleep(100);
  forgetPid(node.pidFile);
  return true;
}

/** Starts one stopped node of a local set-up of `count` nodes and waits until it answers CQL. */
export async function restartLocalNode(node: LocalNode, count: number, options: NodeOptions = {}): Promise<void> {
  const { root = PROJECT_ROOT, log = () => undefined, readyTimeoutMs = 240_000 } = options;
  await waitForCql(
    node,
    readyTimeoutMs,
    await startingOrStarted(node, jvmSettings(options, count), log, root, count),
    log,
  );
}

/** A node's liveness check: of the process already starting from its pid file, else of one started now. */
export async function startingOrStarted(
  node: LocalNode,
  jvm: JvmSettings,
  log: (line: string) => void,
  root: string,
  count: number,
): Promise<() => boolean> {
  if (alivePid(node.pidFile) !== undefined) return () => alivePid(node.pidFile) !== undefined;
  return startLocalNode(node, jvm, log, root, count);
}

/** Fetches the pinned server's jars with Maven once; later calls reuse them. Returns the lib folder. */
export async function installCassandra(
  root = PROJECT_ROOT,
  log: (line: string) => void = () => undefined,
): Promise<string> {
  const paths = pathsUnder(root);
  const version = pinnedCassandraVersion(root);
  const lib = join(paths.home, `lib-${version}`);
  const marker = join(lib, '.complete');
  if (existsSync(marker)) return lib;
  log(`fetching Apache Cassandra ${version} (cassandra-all and dependencies) with Maven`);
  rmSync(lib, { recursive: true, force: true });
  try {
    await run(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        paths.pom,
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${lib}`,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    const detail =
      error instanceof Error && 'stdout' in error
        ? String((error as { stdout: unknown }).stdout).slice(-2000)
        : String(error);
    throw new Error(
      `could not fetch Cassandra ${version} with Maven (is mvn installed and Maven Central reachable?)\n${detail}`,
      { cause: error },
    );
  }
  const jars = readdirSync(lib).filter((name) => name.endsWith('.jar'));
  if (!jars.some((name) => name.startsWith(`cassandra-all-${version}`)))
    throw new Error(`Maven did not deliver cassandra-all-${version}.jar`);
  writeFileSync(marker, `${jars.length} jars\n`);
  return lib;
}

/** scripts/cassandra/jvm17.options, one option per line, comments dropped. */
export function jvmOptions(root: string): string[] {
  return readFileSync(pathsUnder(root).jvmOptions, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** What a node's JVM is started with. */
export interface JvmSettings {
  readonly heap: string;
  readonly logMaxMb: number;
}

/** A node's JVM settings, when it is one of `count` local nodes on this machine. */
export function jvmSettings(options: Pick<NodeOptions, 'heap' | 'logMaxMb'>, count: number): JvmSettings {
  return { heap: heapFor(options.heap ?? 'auto', count, totalmem()), logMaxMb: options.logMaxMb ?? 100 };
}

const MIB = 1024 * 1024;

/**
 * A node's heap: `setting` unless it is `auto`. Auto is Cassandra's own sizing
 * (cassandra-env.sh: half the memory up to 1 GiB, or a quarter up to 8 GiB,
 * whichever is larger) applied to each of the `count` nodes' share of the
 * machine's memory: on 24 GiB, 6 GiB for one node, 2 GiB each for three. A heap
 * of 1 GiB under a bulk load flushed a memtable of `samples` every 2-3 s, and
 * Cassandra spent 1.4-1.6x the CPU on each API point (docs/BENCHMARKS.md).
 */
export function heapFor(setting: string, count: number, memoryBytes: number): string {
  if (setting !== 'auto') return setting;
  const share = memoryBytes / MIB / count;
  return `${Math.floor(Math.max(Math.min(share / 2, 1024), Math.min(share / 4, 8192)))}M`;
}

/**
 * system.log rolls over at this size, keeping LOG_FILES_KEPT earlier files
 * (scripts/cassandra/logback.xml): the node's log folder stays within `logMaxMb`,
 * with a tenth left for stdout.log (JVM messages, a few KB a start).
 */
function logFileMb(logMaxMb: number): number {
  return Math.max(1, Math.floor((logMaxMb * 0.9) / (LOG_FILES_KEPT + 1)));
}
const LOG_FILES_KEPT = 3;

/** Starts a node detached; returns whether it is still running (a zombie counts as exited). */
export async function startLocalNode(
  node: LocalNode,
  jvm: JvmSettings,
  log: (line: string) => void,
  root: string,
  count = 1,
): Promise<() => boolean> {
  const paths = pathsUnder(root);
  await run('java', ['-version']).catch(() => {
    throw new Error(
      'no Cassandra is configured (CASSANDRA_CONTACT_POINTS), no Docker engine answers, and `java` is not installed: install Java 17',
    );
  });
  const lib = await installCassandra(root, log);
  mkdirSync(node.data, { recursive: true });
  mkdirSync(node.logs, { recursive: true });
  if (count > 1) writeFileSync(node.yaml, clusterNodeYaml(readFileSync(paths.yaml, 'utf8'), node, count));
  const args = [
    `-Xms${jvm.heap}`,
    `-Xmx${jvm.heap}`,
    ...jvmOptions(root),
    `-Dcassandra.config=file://${node.yaml}`,
    `-Dlogback.configurationFile=file://${paths.logback}`,
    `-Dcassandra.logdir=${node.logs}`,
    `-Dmeetr.log.file.size=${logFileMb(jvm.logMaxMb)}MB`,
    `-Dmeetr.log.files.kept=${LOG_FILES_KEPT}`,
    `-Dcassandra.storagedir=${node.data}`,
    `-Dcassandra.jmx.local.port=${node.jmxPort}`,
    '-cp',
    `${join(lib, '*')}`,
    'org.apache.cassandra.service.CassandraDaemon',
  ];
  const out = openSync(join(node.logs, 'stdout.log'), 'a');
  const child = spawn('java', args, { detached: true, stdio: ['ignore', out, out], cwd: node.home });
  closeSync(out);
  if (child.pid === undefined) throw new Error('could not start java');
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.unref();
  recordPid(node.pidFile, child.pid);
  log(
    `started Cassandra ${pinnedCassandraVersion(root)} on ${node.address} (pid ${child.pid}, heap ${jvm.heap}); logs in ${node.logs}`,
  );
  return () => !exited;
}

export async function waitForCql(
  node: LocalNode,
  timeoutMs: number,
  isAlive: () => boolean,
  log: (line: string) => void,
): Promise<string> {
  return pollUntil(
    async () => {
      const version = await probeCql(node.contactPoint, DEFAULT_LOCAL_DC, 2_000);
      if (version === undefined && !isAlive())
        throw new Error(`Cassandra on ${node.address} exited while starting. Last log lines:\n${logTail(node.logs)}`);
      return version;
    },
    {
      timeoutMs,
      waiting: (seconds) => log(`still waiting for Cassandra on ${node.address} to answer CQL (${seconds}s)`),
      failure: () =>
        `Cassandra did not answer CQL on ${node.contactPoint} within ${timeoutMs / 1000}s. Last log lines:\n${logTail(node.logs)}`,
    },
  );
}

/**
 * The pid in `pidFile` when that process is alive and is this project's Cassandra
 * (its command line runs CassandraDaemon with our data folder, and it started when
 * recorded): a stale pid file whose number now belongs to another process never gets
 * that process signalled.
 */
export function alivePid(pidFile: string): number | undefined {
  const dataDir = join(dirname(pidFile), 'data');
  return ownedPid(
    pidFile,
    (cmdline) =>
      cmdline.includes('org.apache.cassandra.service.CassandraDaemon') &&
      cmdline.includes(`-Dcassandra.storagedir=${dataDir}`),
  );
}

function isProcessAlive(pid: number): boolean {
  return processIdentity(pid) !== undefined;
}

function logTail(logs: string): string {
  for (const name of ['system.log', 'stdout.log']) {
    const file = join(logs, name);
    if (existsSync(file)) return readFileSync(file, 'utf8').split('\n').slice(-25).join('\n');
  }
  return '(no log)';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
