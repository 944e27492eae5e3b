/**
 * API tokens: named, with one scope each, kept in a JSON file as SHA-256 hashes
 * only (a token is 256 random bits, so a fast hash is as safe as a slow one and
 * costs microseconds per request). The file is read again whenever it changes.
 *
 * {"tokens": [{"name": "grafana", "scope": "read", "sha256": "<64 hex>", "created": "<ISO 8601>"}]}
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface TokenRecord {
  readonly name: string;
  readonly scope: Scope;
  /** SHA-256 of the token, lowercase hex. */
  readonly sha256: string;
  readonly created: string;
}

/** Who a valid token belongs to. */
export interface TokenHolder {
  readonly name: string;
  readonly scope: Scope;
}

const TOKEN_PREFIX = 'meetr_';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A new token: `meetr_` and 256 random bits, base64url. */
export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function isValidName(name: string): boolean {
  return NAME.test(name);
}

/** The records of a token file's text; throws with a message naming what is wrong (never a hash). */
export function parseTokenFile(text: string): TokenRecord[] {
  if (text.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('is not JSON');
  }
  const tokens = (parsed as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(tokens)) throw new Error('has no "tokens" array');
  const names = new Set<string>();
  return tokens.map((entry: unknown, i) => {
    const { name, scope, sha256, created } = (entry ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || !isValidName(name))
      throw new Error(`token ${i} has no valid name (letters, digits, _ . -; at most 64)`);
    if (names.has(name)) throw new Error(`token name "${name}" appears twice`);
    names.add(name);
    if (!SCOPES.includes(scope as Scope))
      throw new Error(`token "${name}" has scope ${JSON.stringify(scope)}; one of ${SCOPES.join(', ')}`);
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256))
      throw new Error(`token "${name}" has no sha256 (64 lowercase hex digits)`);
    return { name, scope: scope as Scope, sha256, created: typeof created === 'string' ? created : '' };
  });
}

export function formatTokenFile(records: readonly TokenRecord[]): string {
  return `${JSON.stringify({ tokens: records }, null, 2)}\n`;
}

/** The tokens a worker accepts, from a file it watches. */
export class TokenRegistry {
  private entries: ReadonlyArray<{ readonly holder: TokenHolder; readonly hash: Buffer }> = [];
  /** The file as last read (inode, size, mtime), to notice a change. */
  private version = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly path: string,
    private readonly log: (message: string) => void,
  ) {}

  /** Reads the file now; a missing file is no tokens (every request is refused), said once in the log. */
  load(): void {
    const version = this.currentVersion();
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new Error(`cannot read the token file ${this.path}: ${(error as Error).message}`, { cause: error });
      text = '';
      if (this.version !== version)
        this.log(
          `the token file ${this.path} does not exist: every API request is refused until ./meetr token create adds one`,
        );
    }
    this.version = version; // even if it does not parse: the same bad file is not read again and again
    const records = parseTokenFile(text);
    this.entries = records.map((r) => ({
      holder: { name: r.name, scope: r.scope },
      hash: Buffer.from(r.sha256, 'hex'),
    }));
  }

  /** Loads the file, then again whenever it changes (checked twice a second); a change that does not parse keeps the tokens in force. */
  start(): void {
    this.load();
    this.timer ??= setInterval(() => {
      if (this.currentVersion() === this.version) return;
      try {
        this.load();
        this.log(`token file ${this.path} reloaded: ${this.entries.length} tokens`);
      } catch (error) {
        this.log(
          `token file ${this.path} changed but was not taken (${(error as Error).message}); the previous tokens stay in force`,
        );
      }
    }, 500).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Polling (not fs.watch) sees a file replaced by rename, as the CLI writes it, as well as one edited in place. */
  private currentVersion(): string {
    try {
      const stat = statSync(this.path, { bigint: true });
      return `${stat.ino}:${stat.size}:${stat.mtimeNs}`;
    } catch {
      return 'missing';
    }
  }

  get size(): number {
    return this.entries.length;
  }

  /** The holder of `token`, comparing its hash with every known hash in constant time. */
  authenticate(token: string): TokenHolder | undefined {
    const hash = createHash('sha256').update(token, 'utf8').digest();
    let found: TokenHolder | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(hash, entry.hash)) found = entry.holder;
    }
    return found;
  }
}
