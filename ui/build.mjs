// Builds the explorer page (ui/) into dist-ui/: one bundled, minified script and
// stylesheet under assets/ with a content hash in their names (served with a year's
// caching, src/http/explorer.ts) and index.html naming them. Run by ./meetr up.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import process from 'node:process';

const ui = dirname(fileURLToPath(import.meta.url));
const out = join(ui, '..', 'dist-ui');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: [join(ui, 'src', 'main.ts')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'linked',
});

const outputs = Object.keys(result.metafile.outputs);
const named = (extension) => {
  const file = outputs.find((path) => path.endsWith(extension));
  if (file === undefined) throw new Error(`the build wrote no ${extension} file`);
  return file;
};
const script = named('.js');
const style = named('.css');
const page = readFileSync(join(ui, 'index.html'), 'utf8')
  .replace('@JS@', `/assets/${basename(script)}`)
  .replace('@CSS@', `/assets/${basename(style)}`);
writeFileSync(join(out, 'index.html'), page);

const gzipped = (file) => gzipSync(readFileSync(file), { level: 9 }).length;
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
process.stdout.write(
  `explorer built: script ${kb(gzipped(script))} gzipped, style ${kb(gzipped(style))} gzipped, in dist-ui/\n`,
);
