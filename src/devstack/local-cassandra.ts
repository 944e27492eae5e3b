/**
 * The single-node Cassandra meetr runs for itself when no cluster is configured:
 * for development, tests and CI. Two ways, tried in order:
 *  - a Docker engine answers: the official `cassandra:5.0` image;
 *  - otherwise: Apache Cassandra from Maven Central (cassandra-all and its
 *    dependencies, version pinned in scripts/cassandra/pom.xml), on the local
 *    Java 17 with a small heap, data and logs under `.local/cassandra/`.
 * A node already answering CQL on 127.0.0.1:9042 is reused, whoever started it.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import cassandra from 'cassandra-driver';
import { DEFAULT_LOCAL_DC } from '../config.js';
import { LOCAL_CONTACT_POINT } from '../storage/cassandra/client.js';

const run = promisify(execFile);

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export { LOCAL_CONTACT_POINT };
/** The local node's data center: Cassandra's default, the driver's default too. */
export const LOCAL_DATA_CENTER = DEFAULT_LOCAL_DC;
const DOCKER_IMAGE = 'cassandra:5.0';
const DOCKER_CONTAINER = 'meetr-cassandra';

export interface LocalCassandraOptions {
  /** Where `.local/cassandra` lives; the project root by default. */
  readonly root?: string;
  /** Progress lines go here. */
  readonly log?: (line: string) => void;
  /** How long to wait for CQL after starting, in ms. */
  readonly readyTimeoutMs?: number;
  /** `auto` tries Docker first; `java` never does. */
  readonly runtime?: 'auto' | 'java';
  /** JVM heap of a node started with Java (config's MEETR_CASSANDRA_HEAP); 1G unless given. */
  readonly heap?: string;
}

export interface LocalCassandra {
  readonly contactPoint: string;
  readonly localDataCenter: string;
  readonly releaseVersion: string;
  /** How it came to be running: already up, or started now by this call. */
  readonly how: 'reused' | 'started-java' | 'started-docker';
}

function pathsUnder(root: string) {
  const home = join(root, '.local', 'cassandra');
  return {
    home,
    data: join(home, 'data'),
    logs: join(home, 'logs'),
    pidFile: join(home, 'cassandra.pid'),
    pom: join(root, 'scripts', 'cassandra', 'pom.xml'),
    yaml: join(root, 'scripts', 'cassandra', 'cassandra.yaml'),
    logback: join(root, 'scripts', 'cassandra', 'logback.xml'),
    jvmOptions: join(root, 'scripts', 'cassandra', 'jvm17.options'),
  };
}

/** The pinned Cassandra version: the one property of scripts/cassandra/pom.xml. */
export function pinnedCassandraVersion(root = PROJECT_ROOT): string {
  const match = /<cassandra\.version>([^<]+)<\/cassandra\.version>/.exec(readFileSync(pathsUnder(root).pom, 'utf8'));
  if (match?.[1] === undefined) throw new Error('scripts/cassandra/pom.xml has no <cassandra.version>');
  return match[1];
}

/** Cassandra's release_version if a node answers a real CQL query at `contactPoint`, else undefined. */
export async function probeCql(contactPoint: string, localDataCenter = LOCAL_DATA_CENTER, timeoutMs = 3_000): Promise<string | undefined> {
  const client = new cassandra.Client({
    contactPoints: [contactPoint],
    localDataCenter,
    socketOptions: { connectTimeout: timeoutMs, readTimeout: timeoutMs },
    pooling: { warmup: false },
  });
  try {
    const result = await client.execute('SELECT release_version FROM system.local');
    return String(result.first()?.get('release_version') ?? 'unknown');
  } catch {
    return undefined;
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

/** Makes sure a local node answers CQL on 127.0.0.1:9042, starting one if needed. */
export async function ensureLocalCassandra(options: LocalCassandraOptions = {}): Promise<LocalCassandra> {
  const { root = PROJECT_ROOT, log = () => undefined, readyTimeoutMs = 240_000, runtime = 'auto', heap = '1G' } = options;
  const running = await probeCql(LOCAL_CONTACT_POINT);
  if (running !== undefined) {
    log(`Cassandra ${running} already answers on ${LOCAL_CONTACT_POINT}; reusing it`);
    return { contactPoint: LOCAL_CONTACT_POINT, localDataCenter: LOCAL_DATA_CENTER, releaseVersion: running, how: 'reused' };
  }
  const paths = pathsUnder(root);
  let how: LocalCassandra['how'];
  let isAlive: () => boolean;
  if (alivePid(paths.pidFile) !== undefined) {
    log('a local Cassandra is starting already; waiting for it');
    how = 'started-java';
    isAlive = () => alivePid(paths.pidFile) !== undefined;
  } else if (runtime === 'auto' && (await dockerAnswers())) {
    log(`starting ${DOCKER_IMAGE} in Docker as ${DOCKER_CONTAINER}`);
    await startDocker();
    how = 'started-docker';
    isAlive = () => true;
  } else {
    isAlive = await startJava(root, heap, log);
    how = 'started-java';
  }
  const version = await waitForCql(readyTimeoutMs, isAlive, () => logTail(paths.logs), log);
  log(`Cassandra ${version} is up on ${LOCAL_CONTACT_POINT}`);
  return { contactPoint: LOCAL_CONTACT_POINT, localDataCenter: LOCAL_DATA_CENTER, releaseVersion: version, how };
}

/** Stops the node this project started (Java process or Docker container). Returns whether one was running. */
export async function stopLocalCassandra(options: Pick<LocalCassandraOptions, 'root' | 'log'> = {}): Promise<boolean> {
  const { root = PROJECT_ROOT, log = () => undefined } = options;
  const paths = pathsUnder(root);
  const pid = alivePid(paths.pidFile);
  if (pid !== undefined) {
    log(`stopping Cassandra (pid ${pid})`);
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 60_000;
    while (isProcessAlive(pid) && Date.now() < deadline) await sleep(250);
    if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(paths.pidFile, { force: true });
    return true;
  }
  rmSync(paths.pidFile, { force: true });
  if (await dockerAnswers()) {
    const stopped = await run('docker', ['stop', DOCKER_CONTAINER]).then(
      () => true,
      () => false,
    );
    if (stopped) log(`stopped container ${DOCKER_CONTAINER}`);
    return stopped;
  }
  return false;
}

/** Fetches the pinned server's jars with Maven once; later calls reuse them. Returns the lib folder. */
export async function installCassandra(root = PROJECT_ROOT, log: (line: string) => void = () => undefined): Promise<string> {
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
      ['-q', '-B', '-f', paths.pom, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${lib}`],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    const detail = error instanceof Error && 'stdout' in error ? String((error as { stdout: unknown }).stdout).slice(-2000) : String(error);
    throw new Error(`could not fetch Cassandra ${version} with Maven (is mvn installed and Maven Central reachable?)\n${detail}`, { cause: error });
  }
  const jars = readdirSync(lib).filter((name) => name.endsWith('.jar'));
  if (!jars.some((name) => name.startsWith(`cassandra-all-${version}`))) throw new Error(`Maven did not deliver cassandra-all-${version}.jar`);
  writeFileSync(marker, `${jars.length} jars\n`);
  return lib;
}

/** Starts the node detached; returns whether it is still running (a zombie counts as exited). */
async function startJava(root: string, heap: string, log: (line: string) => void): Promise<() => boolean> {
  const paths = pathsUnder(root);
  await run('java', ['-version']).catch(() => {
    throw new Error('no Cassandra is configured (CASSANDRA_CONTACT_POINTS), no Docker engine answers, and `java` is not installed: install Java 17');
  });
  const lib = await installCassandra(root, log);
  mkdirSync(paths.data, { recursive: true });
  mkdirSync(paths.logs, { recursive: true });
  const jvmOptions = readFileSync(paths.jvmOptions, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const args = [
    `-Xms${heap}`,
    `-Xmx${heap}`,
    ...jvmOptions,
    `-Dcassandra.config=file://${paths.yaml}`,
    `-Dlogback.configurationFile=file://${paths.logback}`,
    `-Dcassandra.logdir=${paths.logs}`,
    `-Dcassandra.storagedir=${paths.data}`,
    '-cp',
    `${join(lib, '*')}`,
    'org.apache.cassandra.service.CassandraDaemon',
  ];
  const out = openSync(join(paths.logs, 'stdout.log'), 'a');
  const child = spawn('java', args, { detached: true, stdio: ['ignore', out, out], cwd: paths.home });
  closeSync(out);
  if (child.pid === undefined) throw new Error('could not start java');
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.unref();
  writeFileSync(paths.pidFile, `${child.pid}\n`);
  log(`started Cassandra ${pinnedCassandraVersion(root)} (pid ${child.pid}, heap ${heap}); logs in ${paths.logs}`);
  return () => !exited;
}

async function waitForCql(
  timeoutMs: number,
  isAlive: () => boolean,
  tail: () => string,
  log: (line: string) => void,
): Promise<string> {
  const started = Date.now();
  let lastNote = started;
  while (Date.now() - started < timeoutMs) {
    const version = await probeCql(LOCAL_CONTACT_POINT, LOCAL_DATA_CENTER, 2_000);
    if (version !== undefined) return version;
    if (!isAlive()) throw new Error(`Cassandra exited while starting. Last log lines:\n${tail()}`);
    if (Date.now() - lastNote > 15_000) {
      log(`still waiting for Cassandra to answer CQL (${Math.round((Date.now() - started) / 1000)}s)`);
      lastNote = Date.now();
    }
    await sleep(1_000);
  }
  throw new Error(`Cassandra did not answer CQL on ${LOCAL_CONTACT_POINT} within ${timeoutMs / 1000}s. Last log lines:\n${tail()}`);
}

async function dockerAnswers(): Promise<boolean> {
  return run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 5_000 }).then(
    () => true,
    () => false,
  );
}

async function startDocker(): Promise<void> {
  const started = await run('docker', ['start', DOCKER_CONTAINER]).then(
    () => true,
    () => false,
  );
  if (started) return;
  await run('docker', [
    'run',
    '-d',
    '--name',
    DOCKER_CONTAINER,
    '-p',
    '127.0.0.1:9042:9042',
    '-e',
    'MAX_HEAP_SIZE=1G',
    '-e',
    'HEAP_NEWSIZE=200M',
    DOCKER_IMAGE,
  ]);
}

/**
 * The pid in `pidFile` when that process is alive and is this project's Cassandra
 * (its command line runs CassandraDaemon with our data folder): a stale pid file
 * whose number now belongs to another process never gets that process signalled.
 */
function alivePid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return undefined;
  return isOurCassandra(pid, join(dirname(pidFile), 'data')) ? pid : undefined;
}

function isOurCassandra(pid: number, dataDir: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\u0000');
    return cmdline.includes('org.apache.cassandra.service.CassandraDaemon') && cmdline.includes(`-Dcassandra.storagedir=${dataDir}`);
  } catch {
    return false; // no /proc (not Linux) or gone: do not signal what cannot be identified
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function logTail(logs: string): string {
  for (const name of ['system.log', 'stdout.log']) {
    const file = join(logs, name);
    if (existsSync(file)) return readFileSync(file, 'utf8').split('\n').slice(-25).join('\n');
  }
  return '(no log)';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
