// Proves the schema check can fail: copies of dashboards/homeswap.json with
// one mistake each must fail it, each reported at the mistake's own line,
// and the untouched copy must pass. Run by .ci/run after check.mjs.
//
// Usage: node self-test.mjs

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const original = JSON.parse(readFileSync(join(here, '..', 'homeswap.json'), 'utf8'));
const panelOf = (d, type) => d.panels.find((p) => p.type === type);

/** Each mistake: what it is, how to make it, and the line that shows it. */
const mistakes = [
  {
    what: 'an unknown panel field',
    make: (d) => { panelOf(d, 'stat').bogusField = true; },
    marker: '"bogusField": true',
  },
  {
    what: 'a string where the schema wants a number (gridPos.w)',
    make: (d) => { panelOf(d, 'timeseries').gridPos.w = 'wide'; },
    marker: '"w": "wide"',
  },
  {
    what: "an option the stat plugin does not have",
    make: (d) => { panelOf(d, 'stat').options.bogusOption = 'x'; },
    marker: '"bogusOption": "x"',
  },
  {
    what: 'a field option of the wrong type (timeseries custom.fillOpacity)',
    make: (d) => { panelOf(d, 'timeseries').fieldConfig.defaults.custom = { fillOpacity: 'lots' }; },
    marker: '"fillOpacity": "lots"',
  },
  {
    what: 'a value outside an enum (thresholds mode)',
    make: (d) => { panelOf(d, 'stat').fieldConfig.defaults.thresholds.mode = 'relative-ish'; },
    marker: '"mode": "relative-ish"',
  },
  {
    what: 'an unknown top-level field',
    make: (d) => { d.refreshIntervalz = '5s'; },
    marker: '"refreshIntervalz": "5s"',
  },
];

// One tsc run for all copies: each file's errors are reported on their own.
const dir = mkdtempSync(join(tmpdir(), 'schema-self-test-'));
let failures = 0;
try {
  const clean = join(dir, 'clean.json');
  writeFileSync(clean, JSON.stringify(original, null, 2));
  const lines = mistakes.map((m, i) => {
    const copy = structuredClone(original);
    m.make(copy);
    const text = JSON.stringify(copy, null, 2);
    const line = text.split('\n').findIndex((l) => l.includes(m.marker)) + 1;
    if (line === 0) throw new Error(`marker ${m.marker} not in the copy`);
    writeFileSync(join(dir, `broken-${i}.json`), text);
    return line;
  });
  const files = [clean, ...mistakes.map((_, i) => join(dir, `broken-${i}.json`))];
  const r = spawnSync(process.execPath, [join(here, 'check.mjs'), ...files], { encoding: 'utf8' });
  const output = `${r.stdout}${r.stderr}`;
  if (r.status !== 1) fail(`the check did not fail (status ${r.status}):\n${output}`);
  if (output.includes('clean.json:')) fail(`the untouched dashboard does not pass:\n${output}`);
  mistakes.forEach((m, i) => {
    if (output.includes(`broken-${i}.json:${lines[i]}:`)) {
      console.log(`self-test: fails as it must on ${m.what} (line ${lines[i]})`);
    } else {
      fail(`${m.what}: no error at line ${lines[i]} of broken-${i}.json:\n${output}`);
    }
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (failures > 0) {
  console.error(`self-test: ${failures} case(s) wrong`);
  process.exit(1);
}
console.log(`self-test: ${mistakes.length} broken copies failed, the untouched one passed`);

function fail(message) {
  failures += 1;
  console.error(`self-test: ${message}`);
}
