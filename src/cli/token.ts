/**
 * `./meetr token create --name NAME --scope read|write|admin`, `./meetr token list`,
 * `./meetr token revoke --name NAME`: the token file of MEETR_AUTH_TOKENS_FILE.
 * `create` prints the new token once, alone on its last line; the file keeps only
 * its hash. Running workers pick the change up within a second, dropping nothing.
 */
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  formatTokenFile,
  generateToken,
  hashToken,
  isValidName,
  parseTokenFile,
  SCOPES,
  type Scope,
  type TokenRecord,
} from '../auth/tokens.js';
import { ConfigError, loadConfig } from '../config.js';

const USAGE = `usage: ./meetr token create --name NAME --scope ${SCOPES.join('|')}
       ./meetr token list
       ./meetr token revoke --name NAME`;

function fail(message: string): never {
  console.error(`[meetr] error: ${message}`);
  process.exit(1);
}

function option(args: readonly string[], name: string): string | undefined {
  const at = args.indexOf(`--${name}`);
  if (at >= 0) return args[at + 1];
  return args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function readRecords(path: string): TokenRecord[] {
  if (!existsSync(path)) return [];
  try {
    return parseTokenFile(readFileSync(path, 'utf8'));
  } catch (error) {
    return fail(`the token file ${path} ${(error as Error).message}; fix it first`);
  }
}

/** Replaces the file in one step (the workers never read half of it), readable by its owner only. */
function writeRecords(path: string, records: readonly TokenRecord[]): void {
  const next = `${path}.${process.pid}.new`;
  writeFileSync(next, formatTokenFile(records), { mode: 0o600 });
  chmodSync(next, 0o600);
  renameSync(next, path);
}

let file: string | undefined;
try {
  file = loadConfig().authTokensFile;
} catch (error) {
  fail(error instanceof ConfigError ? error.message : String(error));
}
if (file === undefined)
  fail(
    'MEETR_AUTH_TOKENS_FILE is not set: set it to the token file (for ./meetr up and for this command), e.g. MEETR_AUTH_TOKENS_FILE=.local/tokens.json',
  );
const path = resolve(file);
const [command, ...args] = process.argv.slice(2);

if (command === 'create') {
  const name = option(args, 'name') ?? '';
  const scope = option(args, 'scope') ?? '';
  if (!isValidName(name))
    fail(`--name must be 1-64 letters, digits, _ . - (starting with a letter or digit)\n${USAGE}`);
  if (!SCOPES.includes(scope as Scope)) fail(`--scope must be one of ${SCOPES.join(', ')}\n${USAGE}`);
  const records = readRecords(path);
  if (records.some((r) => r.name === name))
    fail(`a token named "${name}" exists; revoke it first or choose another name`);
  const token = generateToken();
  writeRecords(path, [
    ...records,
    { name, scope: scope as Scope, sha256: hashToken(token), created: new Date().toISOString() },
  ]);
  console.log(`[meetr] token "${name}" (scope ${scope}) added to ${path}; it is shown once, here:`);
  console.log(token);
} else if (command === 'list') {
  for (const r of readRecords(path)) console.log(`${r.name}\t${r.scope}\t${r.created}`);
} else if (command === 'revoke') {
  const name = option(args, 'name') ?? '';
  const records = readRecords(path);
  if (!records.some((r) => r.name === name)) fail(`no token named "${name}" in ${path}`);
  writeRecords(
    path,
    records.filter((r) => r.name !== name),
  );
  console.log(`[meetr] token "${name}" revoked`);
} else {
  fail(USAGE);
}
