/**
 * The architecture check (`npm run architecture`, part of `npm run check`) passes on
 * the tree as it is, and fails on a tree that breaks a rule, naming the rule and its
 * reason. The broken tree is a scratch copy of the rule's paths, not the real src/.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/devstack/local-nodes.js';

const run = promisify(execFile);
const depcruise = join(PROJECT_ROOT, 'node_modules', '.bin', 'depcruise');
const config = join(PROJECT_ROOT, '.dependency-cruiser.cjs');

async function cruise(cwd: string, ...paths: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(depcruise, ['--config', config, '--output-type', 'err-long', ...paths], { cwd });
    return { code: 0, out: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, out: failed.stdout };
  }
}

describe('architecture rules', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'meetr-architecture-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('hold on the tree as it is', async () => {
    const { code, out } = await cruise(PROJECT_ROOT, 'src', 'bench');
    expect(out).toContain('no dependency violations found');
    expect(code).toBe(0);
  }, 60_000);

  it('fail, with the reason, when a pure module reaches up, storage knows a service, or a cycle forms', async () => {
    const files: Record<string, string> = {
      'src/domain/bad.ts': "import { route } from '../http/route.js';\nexport const bad = route;\n",
      'src/http/route.ts': 'export const route = 1;\n',
      'src/storage/memory/store.ts':
        "import { ingest } from '../../ingest/service.js';\nexport const store = ingest;\n",
      'src/ingest/service.ts':
        "import { store } from '../storage/memory/store.js';\nexport const ingest = 1;\nexport const s = store;\n",
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(scratch, path, '..'), { recursive: true });
      writeFileSync(join(scratch, path), text);
    }
    const { code, out } = await cruise(scratch, 'src');
    expect(code).not.toBe(0);
    expect(out).toContain('pure-core-imports-nothing-above: src/domain/bad.ts → src/http/route.ts');
    expect(out).toMatch(/are pure and imported by all/);
    expect(out).toContain('storage-imports-no-service: src/storage/memory/store.ts → src/ingest/service.ts');
    expect(out).toContain('services-use-the-ports: src/ingest/service.ts → src/storage/memory/store.ts');
    expect(out).toContain('no-cycles');
  }, 60_000);
});
