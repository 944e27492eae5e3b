/**
 * The Cassandra meetr runs for itself when no cluster is configured: for
 * development, tests and CI. One node by default, two ways, tried in order:
 *  - a Docker engine answers: the official `cassandra:5.0` image;
 *  - otherwise: Apache Cassandra from Maven Central (cassandra-all and its
 *    dependencies, version pinned in scripts/cassandra/pom.xml), on the local
 *    Java 17 with a small heap, data and logs under `.local/cassandra/`.
 * A node already answering CQL on 127.0.0.1:9042 is reused, whoever started it.
 *
 * With MEETR_LOCAL_NODES=N (2 or 3): a local cluster of N Java nodes, node i on
 * 127.0.0.i with the same ports, every node a seed with its own token (evenly
 * spaced), data and logs under `.local/cassandra/cluster-N/node-i/`, JMX for
 * nodetool on 127.0.0.1:7199 + 100 × (i - 1). It is its own cluster
 * (`meetr-local-N`): a one-node data folder is never joined to it.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import cassandra from 'cassandra-driver';
import { DEFAULT_LOCAL_DC, localNodeContactPoints, MAX_LOCAL_NODES } from '../config.js';
import { LOCAL_CONTACT_POINT } from '../storage/cassandra/client.js';
import { forgetPid, ownedPid, processIdentity, recordPid } from './pid-file.js';

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
  /** The cap on each node's log folder, MB (config's MEETR_LOG_MAX_MB); 100 unless given. */
  readonly logMaxMb?: number;
  /** How many nodes (config's MEETR_LOCAL_NODES); 1 unless given. More than one always runs on Java. */
  readonly nodes?: number;
}

export interface LocalCassandra {
  /** The first node's. */
  readonly contactPoint: string;
  readonly contactPoints: readonly string[];
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

/** One local node: where it listens, keeps its data and logs, and how nodetool reaches it. */
export interface LocalNode {
  /** 1-based. */
  readonly index: number;
  readonly address: string;
  readonly contactPoint: string;
  readonly home: string;
  readonly data: string;
  readonly logs: string;
  readonly pidFile: string;
  /** Its cassandra.yaml: the project's for a single node, written from it for a cluster's nodes. */
  readonly yaml: string;
  readonly jmxPort: number;
  /** The cluster_name it runs with. */
  readonly clusterName: string;
}

const SINGLE_CLUSTER_NAME = 'meetr-local';
const FIRST_JMX_PORT = 7199;

/** The nodes of a local set-up of `count` nodes (1: the single node, as it always was). */
export function localNodes(count = 1, root = PROJECT_ROOT): LocalNode[] {
  const paths = pathsUnder(root);
  return localNodeContactPoints(count).map((contactPoint, i) => {
    const index = i + 1;
    const address = contactPoint.slice(0, contactPoint.lastIndexOf(':'));
    const home = count === 1 ? paths.home : join(paths.home, `cluster-${count}`, `node-${index}`);
    return {
      index,
      address,
      contactPoint,
      home,
      data: join(home, 'data'),
      logs: join(home, 'logs'),
      pidFile: join(home, 'cassandra.pid'),
      yaml: count === 1 ? paths.yaml : join(home, 'cassandra.yaml'),
      jmxPort: FIRST_JMX_PORT + 100 * i,
      clusterName: count === 1 ? SINGLE_CLUSTER_NAME : `${SINGLE_CLUSTER_NAME}-${count}`,
    };
  });
}

/**
 * A cluster node's cassandra.yaml: the project's, with the node's own address,
 * every node as a seed (a new cluster: no node bootstraps from another) and an
 * evenly spaced token, so no two nodes' ranges depend on start order.
 */
export function clusterNodeYaml(template: string, node: LocalNode, count: number): string {
  const seeds = localNodes(count)
    .map((other) => `${other.address}:7000`)
    .join(',');
  const token = (-(2n ** 63n) + (2n ** 64n / BigInt(count)) * BigInt(node.index - 1)).toString();
  const replacements: Array<[RegExp, string]> = [
    [/^cluster_name:.*$/m, `cluster_name: ${node.clusterName}`],
    [/^initial_token:.*$/m, `initial_token: ${token}`],
    [/^(\s*- seeds:).*$/m, `$1 "${seeds}"`],
    [/^listen_address:.*$/m, `listen_address: ${node.address}`],
    [/^rpc_address:.*$/m, `rpc_address: ${node.address}`],
  ];
  let yaml = template;
  for (const [pattern, line] of replacements) {
    if (!pattern.test(yaml))
      throw new Error(`scripts/cassandra/cassandra.yaml has no line matching ${String(pattern)}`);
    yaml = yaml.replace(pattern, line);
  }
  return yaml;
}

/** The pinned Cassandra version: the one property of scripts/cassandra/pom.xml. */
export function pinnedCassandraVersion(root = PROJECT_ROOT): string {
  const match = /<cassandra\.version>([^<]+)<\/cassandra\.version>/.exec(readFileSync(pathsUnder(root).pom, 'utf8'));
  if (match?.[1] === undefined) throw new Error('scripts/cassandra/pom.xml has no <cassandra.version>');
  return match[1];
}

/** Cassandra's release_version if a node answers a real CQL query at `contactPoint`, else undefined. */
export async function probeCql(
  contactPoint: string,
  localDataCenter = LOCAL_DATA_CENTER,
  timeoutMs = 3_000,
): Promise<string | undefined> {
  return (await probeNode(contactPoint, localDataCenter, timeoutMs))?.releaseVersion;
}

/**
 * A driver client that talks to the node at `contactPoint` alone, never to its
 * peers: what that node itself answers (and, with its peers down, what it holds).
 */
export function singleNodeClient(
  contactPoint: string,
  options: { localDataCenter?: string; timeoutMs?: number } = {},
): cassandra.Client {
  const { localDataCenter = LOCAL_DATA_CENTER, timeoutMs } = options;
  const { loadBalancing } = cassandra.policies;
  return new cassandra.Client({
    contactPoints: [contactPoint],
    localDataCenter,
    ...(timeoutMs === undefined ? {} : { socketOptions: { connectTimeout: timeoutMs, readTimeout: timeoutMs } }),
    pooling: { warmup: false },
    policies: {
      loadBalancing: new loadBalancing.AllowListPolicy(new loadBalancing.RoundRobinPolicy(), [contactPoint]),
    },
  });
}

/** What the node at `contactPoint` says of itself, talking to it alone; undefined if it does not answer. */
export async function probeNode(
  contactPoint: string,
  localDataCenter = LOCAL_DATA_CENTER,
  timeoutMs = 3_000,
): Promise<{ releaseVersion: string; clusterName: string } | undefined> {
  const client = singleNodeClient(contactPoint, { localDataCenter, timeoutMs });
  try {
    const row = (await client.execute('SELECT release_version, cluster_name FROM system.local')).first();
    return {
      releaseVersion: String(row?.get('release_version') ?? 'unknown'),
      clusterName: String(row?.get('cluster_name') ?? ''),
    };
  } catch {
    return undefined;
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

/** Makes sure the local node (or the MEETR_LOCAL_NODES nodes) answer CQL, starting what is not running. */
export async function ensureLocalCassandra(options: LocalCassandraOptions = {}): Promise<LocalCassandra> {
  const {
    root = PROJECT_ROOT,
    log = () => undefined,
    readyTimeoutMs = 240_000,
    runtime = 'auto',
    nodes: count = 1,
  } = options;
  const jvm = jvmSettings(options);
  if (count > 1) return ensureLocalCluster(root, count, jvm, readyTimeoutMs, log);
  const running = await probeCql(LOCAL_CONTACT_POINT);
  if (running !== undefined) {
    log(`Cassandra ${running} already answers on ${LOCAL_CONTACT_POINT}; reusing it`);
    return {
      contactPoint: LOCAL_CONTACT_POINT,
      contactPoints: [LOCAL_CONTACT_POINT],
      localDataCenter: LOCAL_DATA_CENTER,
      releaseVersion: running,
      how: 'reused',
    };
  }
  const [node] = localNodes(1, root) as [LocalNode];
  let how: LocalCassandra['how'];
  let isAlive: () => boolean;
  if (alivePid(node.pidFile) !== undefined) {
    log('a local Cassandra is starting already; waiting for it');
    how = 'started-java';
    isAlive = () => alivePid(node.pidFile) !== undefined;
  } else if (runtime === 'auto' && (await dockerAnswers())) {
    log(`starting ${DOCKER_IMAGE} in Docker as ${DOCKER_CONTAINER}`);
    await startDocker();
    how = 'started-docker';
    isAlive = () => true;
  } else {
    isAlive = await startLocalNode(node, jvm, log, root);
    how = 'started-java';
  }
  const version = await waitForCql(node, readyTimeoutMs, isAlive, log);
  log(`Cassandra ${version} is up on ${LOCAL_CONTACT_POINT}`);
  return {
    contactPoint: LOCAL_CONTACT_POINT,
    contactPoints: [LOCAL_CONTACT_POINT],
    localDataCenter: LOCAL_DATA_CENTER,
    releaseVersion: version,
    how,
  };
}

/** The local cluster: every node answering CQL and seeing every other as up and normal. */
async function ensureLocalCluster(
  root: string,
  count: number,
  jvm: JvmSettings,
  readyTimeoutMs: number,
  log: (line: string) => void,
): Promise<LocalCassandra> {
  const nodes = localNodes(count, root);
  let started = false;
  const waits = await Promise.all(
    nodes.map(async (node) => {
      const answer = await probeNode(node.contactPoint);
      if (answer !== undefined) {
        if (answer.clusterName !== node.clusterName) {
          throw new Error(
            `${node.contactPoint} answers for the Cassandra cluster "${answer.clusterName}", not the local ${count}-node cluster "${node.clusterName}": ` +
              'stop it first (./meetr down with the MEETR_LOCAL_NODES it was started with)',
          );
        }
        return { node, isAlive: () => true };
      }
      started ||= alivePid(node.pidFile) === undefined;
      return { node, isAlive: await startingOrStarted(node, jvm, log, root, count) };
    }),
  );
  const versions = await Promise.all(waits.map(({ node, isAlive }) => waitForCql(node, readyTimeoutMs, isAlive, log)));
  await waitForRing(nodes, readyTimeoutMs, log);
  log(`${count} Cassandra ${versions[0]} nodes are up and normal on ${nodes.map((node) => node.address).join(', ')}`);
  return {
    contactPoint: nodes[0]!.contactPoint,
    contactPoints: nodes.map((node) => node.contactPoint),
    localDataCenter: LOCAL_DATA_CENTER,
    releaseVersion: versions[0]!,
    how: started ? 'started-java' : 'reused',
  };
}

/** A node of the ring as one node sees it (`nodetool status`): `UN` is up and normal, `DN` down, `UJ` joining... */
export interface RingMember {
  readonly address: string;
  readonly state: string;
}

/** The ring as `node` sees it, from `nodetool status` over its JMX port; undefined when the node does not answer. */
export async function ringSeenBy(node: LocalNode, root = PROJECT_ROOT): Promise<RingMember[] | undefined> {
  try {
    const out = await nodetool(node, ['status'], root, 30_000);
    return [...out.matchAll(/^([UD][NLJM])\s+(\d+\.\d+\.\d+\.\d+)\s/gm)].map((match) => ({
      state: match[1]!,
      address: match[2]!,
    }));
  } catch {
    return undefined;
  }
}

/** Whether each of the views of the ring (one per node, as ringSeenBy gives them) has every node up and normal. */
export function allSeeAllUp(
  nodes: readonly LocalNode[],
  views: ReadonlyArray<readonly RingMember[] | undefined>,
): boolean {
  return views.every((view) =>
    nodes.every((node) => view?.some((member) => member.address === node.address && member.state === 'UN') === true),
  );
}

/** Waits until every node sees every node as NORMAL and up. */
async function waitForRing(nodes: readonly LocalNode[], timeoutMs: number, log: (line: string) => void): Promise<void> {
  let views: Array<RingMember[] | undefined> = [];
  await pollUntil(
    async () => {
      views = await Promise.all(nodes.map((node) => ringSeenBy(node)));
      return allSeeAllUp(nodes, views) ? true : undefined;
    },
    {
      timeoutMs,
      waiting: (seconds) => log(`waiting for the nodes to see each other up and normal (${seconds}s)`),
      failure: () =>
        `the local nodes did not all see each other up and normal within ${timeoutMs / 1000}s: ${JSON.stringify(views)}`,
    },
  );
}

/**
 * Calls `probe` every second until it returns a value, saying how long it has
 * waited every 15 s; throws `failure()` after `timeoutMs`. An exception from
 * `probe` ends the wait at once.
 */
async function pollUntil<T>(
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

/** Stops every local node this project started (one node or a cluster's), or its Docker container. Returns whether one was running. */
export async function stopLocalCassandra(options: Pick<LocalCassandraOptions, 'root' | 'log'> = {}): Promise<boolean> {
  const { root = PROJECT_ROOT, log = () => undefined } = options;
  const nodes = Array.from({ length: MAX_LOCAL_NODES }, (_, i) => localNodes(i + 1, root)).flat();
  const stopped = await Promise.all(nodes.map((node) => stopLocalNode(node, 'SIGTERM', log)));
  if (stopped.some(Boolean)) return true;
  if (await dockerAnswers()) {
    const stoppedContainer = await run('docker', ['stop', DOCKER_CONTAINER]).then(
      () => true,
      () => false,
    );
    if (stoppedContainer) log(`stopped container ${DOCKER_CONTAINER}`);
    return stoppedContainer;
  }
  return false;
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
export async function restartLocalNode(
  node: LocalNode,
  count: number,
  options: Pick<LocalCassandraOptions, 'root' | 'log' | 'heap' | 'logMaxMb' | 'readyTimeoutMs'> = {},
): Promise<void> {
  const { root = PROJECT_ROOT, log = () => undefined, readyTimeoutMs = 240_000 } = options;
  await waitForCql(node, readyTimeoutMs, await startingOrStarted(node, jvmSettings(options), log, root, count), log);
}

/** A node's liveness check: of the process already starting from its pid file, else of one started now. */
async function startingOrStarted(
  node: LocalNode,
  jvm: JvmSettings,
  log: (line: string) => void,
  root: string,
  count: number,
): Promise<() => boolean> {
  if (alivePid(node.pidFile) !== undefined) return () => alivePid(node.pidFile) !== undefined;
  return startLocalNode(node, jvm, log, root, count);
}

/** Runs nodetool (from the fetched Cassandra jars) against one local node over its JMX port. */
export async function nodetool(
  node: LocalNode,
  args: readonly string[],
  root = PROJECT_ROOT,
  timeoutMs = 600_000,
): Promise<string> {
  const lib = await installCassandra(root);
  // The module exports and opens Cassandra needs on Java 17, which its tools need too.
  const modules = jvmOptions(root).filter((option) => option.startsWith('--add-'));
  const { stdout } = await run(
    'java',
    [
      '-Xmx256m',
      ...modules,
      '-cp',
      join(lib, '*'),
      'org.apache.cassandra.tools.NodeTool',
      '-h',
      '127.0.0.1',
      '-p',
      String(node.jmxPort),
      ...args,
    ],
    { maxBuffer: 16 * 1024 * 1024, timeout: timeoutMs },
  );
  return stdout;
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
function jvmOptions(root: string): string[] {
  return readFileSync(pathsUnder(root).jvmOptions, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Starts a node detached; returns whether it is still running (a zombie counts as exited). */
/** What a node's JVM is started with. */
interface JvmSettings {
  readonly heap: string;
  readonly logMaxMb: number;
}

function jvmSettings(options: Pick<LocalCassandraOptions, 'heap' | 'logMaxMb'>): JvmSettings {
  return { heap: options.heap ?? '1G', logMaxMb: options.logMaxMb ?? 100 };
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

async function startLocalNode(
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

async function waitForCql(
  node: LocalNode,
  timeoutMs: number,
  isAlive: () => boolean,
  log: (line: string) => void,
): Promise<string> {
  return pollUntil(
    async () => {
      const version = await probeCql(node.contactPoint, LOCAL_DATA_CENTER, 2_000);
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
 * (its command line runs CassandraDaemon with our data folder, and it started when
 * recorded): a stale pid file whose number now belongs to another process never gets
 * that process signalled.
 */
function alivePid(pidFile: string): number | undefined {
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
