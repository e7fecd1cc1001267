// Checks dashboards against Grafana's published schema: each JSON file
// becomes a TypeScript module whose one statement assigns the file's text,
// as it is, to a variable of type DashboardFile (dashboard.ts), and
// `tsc --noEmit` checks them all (tsconfig.json: strict). Errors name the
// JSON file's own line and column.
//
// Usage: node check.mjs [FILE.json...]   (default: every ../*.json)
// Exit status: 0 every file matches, 1 a file does not, 2 a file is not JSON.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const build = join(here, 'build');
// On the first line, before the JSON's opening brace: every later line of
// the module is the same line of the file.
const prefix = "import type { DashboardFile } from '../dashboard';  export const dashboard: DashboardFile = ";

const files = process.argv.length > 2
  ? process.argv.slice(2).map((f) => resolve(f))
  : readdirSync(join(here, '..')).filter((f) => f.endsWith('.json')).map((f) => join(here, '..', f));
if (files.length === 0) {
  console.error('schema check: no dashboard files');
  process.exit(2);
}

rmSync(build, { recursive: true, force: true });
mkdirSync(build);
const modules = new Map();
files.forEach((file, i) => {
  const text = readFileSync(file, 'utf8');
  try {
    JSON.parse(text);
  } catch (e) {
    console.error(`${shown(file)}: not JSON: ${e.message}`);
    process.exit(2);
  }
  const module = `${i}-${basename(file, '.json')}.ts`;
  writeFileSync(join(build, module), `${prefix}${text.trimEnd()};\n`);
  modules.set(`build/${module}`, file);
});

const tsc = join(here, 'node_modules', 'typescript', 'bin', 'tsc');
const run = spawnSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.json'), '--pretty', 'false'], {
  cwd: here,
  encoding: 'utf8',
});
if (run.error) throw run.error;
const report = `${run.stdout}${run.stderr}`.replace(
  /^(build\/[^(]+)\((\d+),(\d+)\)/gm,
  (whole, module, line, col) => {
    const file = modules.get(module);
    if (!file) return whole;
    const column = Number(line) === 1 ? Number(col) - prefix.length : Number(col);
    return `${shown(file)}:${line}:${column}`;
  },
);
process.stdout.write(report.length > 0 && !report.endsWith('\n') ? `${report}\n` : report);
if (run.status !== 0) {
  console.error(`schema check: FAILED (${files.map(shown).join(', ')} against @grafana/schema ${schemaVersion()})`);
  process.exit(1);
}
console.log(`schema check: ${files.map(shown).join(', ')} match @grafana/schema ${schemaVersion()}`);

/** A path as the caller would type it: relative below the working directory. */
function shown(file) {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

function schemaVersion() {
  const pkg = join(here, 'node_modules', '@grafana', 'schema', 'package.json');
  return JSON.parse(readFileSync(pkg, 'utf8')).version;
}
