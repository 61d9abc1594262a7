#!/usr/bin/env node
// Generates src/proto/case_data.rs: Python's `str.upper()` mapping for every
// supported Unicode version, from the npm packages `@unicode/unicode-X.Y.Z`.
//
// Usage: node tools/gen-case-table/gen.mjs [--check]
//   --check  regenerate in memory and fail if the checked-in file differs.
//
// See README.md beside this file for the rule and the table layout.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const output = join(repo, 'src', 'proto', 'case_data.rs');
// `tools/*/node_modules` is git-ignored: downloads and extracted files live there.
const cache = join(here, 'node_modules', '.ucd');

// Every supported version, oldest first, with the exact package release and its
// registry integrity, so a rerun reads the very same bytes.
const PACKAGES = [
  ['9.0.0', '2.0.7', 'sha512-mJvh4zGJKfPGz18kKvywBZC7EfTdmseaBwuJuwh/1oGnm4PipbmuHzsnvVSnVWsD2pwqaauMZYR1TB67/hYXAg=='],
  ['10.0.0', '2.0.7', 'sha512-P1K2jeTBHiXlTkwrnQNaC8f2qm1YN+GLRqMR+fhg1OQnD+Vf/zsLLdmZMzRBV7T6G6fiZPL+RQYhpN//awR1Xg=='],
  ['11.0.0', '2.0.7', 'sha512-0j1vWmC4pd49qZJGA22p37aXBkLzX/wHNnji8kRbbCYwGupNpd2xcGQf0Nulg3At7sRU5mhWf5P7b8ZKcr4tNg=='],
  ['12.0.0', '2.0.7', 'sha512-GyWZ//as1m/zo1/WlHrL0Gy7Brn5S84Ntowd4wjcBCxEqJt5Acq61h2rTA0ZWATSX2fi6ZaKJN9yqVWtJN7XEA=='],
  ['12.1.0', '2.0.7', 'sha512-cTew+iUO5GEwesjLuYHvgCVq3L7qg7AInmIFCgcVuV8vsOo03QvAbqsL2GjvtnGKFVlW29ndDyoAXTMUA9RFaA=='],
  ['13.0.0', '2.0.7', 'sha512-Np9nWryqXTX9SjYCBr3SlFIu9zbPRXVqhdY5YQWP3ub2QGAUO8irYP0hWROwWO5AAsCAPsCHImezNHEblhrRgA=='],
  ['14.0.0', '2.0.7', 'sha512-/YPInxmeT1H4x/hNdol8c284q/2/OgmHSaBqG5xv7HIWR00DF5WQh7DixiqBWnpRqCX6kb5zjIDEvW7ufMd2oA=='],
  ['15.0.0', '2.0.7', 'sha512-8d0z/dm7Gk7z9UrSlmFeT80i/V+eoBqG5kIO/PSKyqGJ0OKJlZlM7bACtWQaBD8ylGqbNFBX3DOGMj4+ExGMOA=='],
  ['15.1.0', '2.0.7', 'sha512-AKSkh2lcF0n70e4FMoH/U0PmVSMvT7/1SG8jVOwNzS0q+mqfCD93ce1gY+M8HIgBdj0PSOfxEVArVJv88Ax2Jg=='],
  ['16.0.0', '2.0.7', 'sha512-+PweWTm91uY0lRsJxzIMP2CXVI9RH5Pksxi+pj4p6fyoTRQdTML6bXCrWmOvY9ZlJ3AJZ2LGZSuo1YoOG8LBYg=='],
  ['17.0.0', '2.1.0', 'sha512-vin4t0thqky14tLee7x9dAQRNoCVCSQTNcm4csNyKH5cbA0fpqLQ8TJvOYyHFbYDwRTngN6curl2Ae9+YjJjtA=='],
];

const SIMPLE = 'package/Simple_Case_Mapping/Uppercase/code-points.mjs';
// Only the unconditional SpecialCasing.txt entries; the conditional ones live
// in `Special_Casing/Uppercase--<condition>` and are ignored, as CPython does.
const SPECIAL = 'package/Special_Casing/Uppercase/code-points.mjs';

/** Downloads (once) and extracts the two mapping files of one package. */
function fetchPackage(unicode, release, integrity) {
  const dir = join(cache, unicode);
  if (existsSync(join(dir, SIMPLE)) && existsSync(join(dir, SPECIAL))) return dir;
  mkdirSync(dir, { recursive: true });
  const name = `@unicode/unicode-${unicode}`;
  const tarball = join(dir, `unicode-unicode-${unicode}-${release}.tgz`);
  if (!existsSync(tarball)) {
    process.stderr.write(`npm pack ${name}@${release}\n`);
    execFileSync('npm', ['pack', `${name}@${release}`, '--pack-destination', dir, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const digest = 'sha512-' + createHash('sha512').update(readFileSync(tarball)).digest('base64');
  if (digest !== integrity) {
    throw new Error(`${tarball}: integrity ${digest}, expected ${integrity}`);
  }
  // The two data modules, plus any top-level helper modules they import
  // (newer releases decode through `package/decode-*.mjs`).
  const members = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter((m) => m === SIMPLE || m === SPECIAL || /^package\/[^/]+\.mjs$/.test(m));
  execFileSync('tar', ['-xzf', tarball, '-C', dir, ...members]);
  return dir;
}

/** Loads one version: a Map from code point to its full uppercase (array), identity omitted. */
async function loadVersion(unicode, release, integrity) {
  const dir = fetchPackage(unicode, release, integrity);
  const simple = (await import(pathToFileURL(join(dir, SIMPLE)).href)).default;
  const special = (await import(pathToFileURL(join(dir, SPECIAL)).href)).default;
  const map = new Map();
  for (const [cp, up] of simple) map.set(cp, [up]);
  // CPython (makeunicodedata.py): an unconditional SpecialCasing entry replaces
  // the simple mapping outright, even when its upper field is the char itself.
  for (const [cp, up] of special) map.set(cp, up.length === 1 ? [up[0]] : [...up]);
  for (const [cp, up] of [...map]) {
    if (up.length === 1 && up[0] === cp) map.delete(cp);
  }
  return map;
}

const key = (up) => (up ? up.join(' ') : '');

const versions = PACKAGES.map(([u]) => u);
const maps = [];
for (const [unicode, release, integrity] of PACKAGES) maps.push(await loadVersion(unicode, release, integrity));
const N = maps.length;

// Per code point, maximal runs of versions [since, until) with one mapping.
const allCps = [...new Set(maps.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
const singles = []; // {cp, since, until, delta}
const fulls = []; // {cp, since, until, up}
for (const cp of allCps) {
  let i = 0;
  while (i < N) {
    const k = key(maps[i].get(cp));
    let j = i + 1;
    while (j < N && key(maps[j].get(cp)) === k) j++;
    const up = maps[i].get(cp);
    if (up) {
      if (up.length === 1) singles.push({ cp, since: i, until: j, delta: up[0] - cp });
      else fulls.push({ cp, since: i, until: j, up });
    }
    i = j;
  }
}

// A code point unmapped in every version of [since, until): a stride-2 range
// may step over it without overlapping another entry of those versions.
const unmapped = (cp, since, until) => {
  for (let i = since; i < until; i++) if (maps[i].has(cp)) return false;
  return true;
};

// Merge single-char runs sharing (since, until, delta) into arithmetic ranges
// of stride 1 or 2. Inside one version, ranges never overlap.
const groups = new Map();
for (const s of singles) {
  const g = `${s.since},${s.until},${s.delta}`;
  if (!groups.has(g)) groups.set(g, []);
  groups.get(g).push(s);
}
const ranges = []; // {first, last, stride, since, until, delta}
for (const members of groups.values()) {
  let cur = null;
  for (const s of members) {
    if (cur) {
      const gap = s.cp - cur.last;
      const fits =
        (cur.stride === 0 && (gap === 1 || (gap === 2 && unmapped(cur.last + 1, s.since, s.until)))) ||
        (cur.stride === 1 && gap === 1) ||
        (cur.stride === 2 && gap === 2 && unmapped(cur.last + 1, s.since, s.until));
      if (fits) {
        cur.stride = gap;
        cur.last = s.cp;
        continue;
      }
      ranges.push(cur);
    }
    cur = { first: s.cp, last: s.cp, stride: 0, since: s.since, until: s.until, delta: s.delta };
  }
  if (cur) ranges.push(cur);
}
for (const r of ranges) if (r.stride === 0) r.stride = 1;
ranges.sort((a, b) => a.first - b.first || a.since - b.since);

// Self-check: expanding the tables gives back every version's mapping exactly.
for (let i = 0; i < N; i++) {
  const got = new Map();
  const put = (cp, up) => {
    if (got.has(cp)) throw new Error(`U+${cp.toString(16)} mapped twice in ${versions[i]}`);
    got.set(cp, up);
  };
  for (const r of ranges) {
    if (i < r.since || i >= r.until) continue;
    for (let cp = r.first; cp <= r.last; cp++) {
      if ((cp - r.first) % r.stride === 0) put(cp, [cp + r.delta]);
      else if (maps[i].has(cp)) throw new Error(`range over U+${cp.toString(16)} in ${versions[i]}`);
    }
  }
  for (const f of fulls) if (i >= f.since && i < f.until) put(f.cp, f.up);
  if (got.size !== maps[i].size) throw new Error(`size mismatch in ${versions[i]}`);
  for (const [cp, up] of maps[i]) {
    if (key(got.get(cp)) !== key(up)) throw new Error(`U+${cp.toString(16)} wrong in ${versions[i]}`);
  }
}

// Emit Rust.
const hex = (n) => '0x' + n.toString(16).toUpperCase().padStart(4, '0');
const rustStr = (cps) => '"' + cps.map((c) => `\\u{${c.toString(16).toUpperCase()}}`).join('') + '"';
const lines = [];
lines.push('// @generated by tools/gen-case-table/gen.mjs. Do not edit: rerun the generator.');
lines.push('// Source: the npm packages @unicode/unicode-X.Y.Z, for X.Y.Z in');
lines.push(`// ${versions.join(', ')}.`);
lines.push('//');
lines.push('// RANGES: (first, last, stride, since, until, delta): every code point');
lines.push('// `first + k * stride` up to `last` maps to itself plus `delta` in the versions');
lines.push('// VERSIONS[since..until]. FULL: (code point, since, until, mapping) for');
lines.push('// uppercases of more than one char. Within one version no two entries overlap.');
lines.push('');
lines.push('use super::UnicodeVersion;');
lines.push('');
lines.push('/// Every supported version, oldest first; table entries index into it.');
lines.push('#[rustfmt::skip]');
lines.push(`pub(super) const VERSIONS: [UnicodeVersion; ${N}] = [`);
for (const v of versions) {
  const [major, minor, update] = v.split('.');
  lines.push(`    UnicodeVersion { major: ${major}, minor: ${minor}, update: ${update} },`);
}
lines.push('];');
lines.push('');
lines.push('/// Single-char uppercase mappings as arithmetic ranges, sorted by `first`.');
lines.push('#[rustfmt::skip]');
lines.push(`pub(super) static RANGES: [(u32, u32, u8, u8, u8, i32); ${ranges.length}] = [`);
const rangeItems = ranges.map(
  (r) => `(${hex(r.first)},${hex(r.last)},${r.stride},${r.since},${r.until},${r.delta})`,
);
for (let i = 0; i < rangeItems.length; i += 3) lines.push('    ' + rangeItems.slice(i, i + 3).join(', ') + ',');
lines.push('];');
lines.push('');
lines.push('/// Uppercases of two or three chars (SpecialCasing.txt), sorted by code point.');
lines.push('#[rustfmt::skip]');
lines.push(`pub(super) static FULL: [(u32, u8, u8, &str); ${fulls.length}] = [`);
const fullItems = fulls.map((f) => `(${hex(f.cp)},${f.since},${f.until},${rustStr(f.up)})`);
for (let i = 0; i < fullItems.length; i += 3) lines.push('    ' + fullItems.slice(i, i + 3).join(', ') + ',');
lines.push('];');
const text = lines.join('\n') + '\n';

// Statistics, for the README and the report.
const stats = [];
for (let i = 0; i < N; i++) stats.push(`${versions[i]}: ${maps[i].size} chars change under upper()`);
for (let i = 1; i < N; i++) {
  let changed = 0;
  for (const cp of allCps) if (key(maps[i - 1].get(cp)) !== key(maps[i].get(cp))) changed++;
  stats.push(`${versions[i - 1]} -> ${versions[i]}: ${changed} chars map differently`);
}
const sensitive = allCps.filter((cp) => maps.some((m) => key(m.get(cp)) !== key(maps[0].get(cp))));
stats.push(`version-sensitive chars (any two versions differ): ${sensitive.length}`);
stats.push(`table: ${ranges.length} ranges, ${fulls.length} full mappings, ${Buffer.byteLength(text)} bytes`);

const rel = relative(repo, output);
if (process.argv.includes('--check')) {
  const old = existsSync(output) ? readFileSync(output, 'utf8') : '';
  if (old !== text) {
    console.error(`${rel} is stale: rerun node tools/gen-case-table/gen.mjs`);
    process.exit(1);
  }
  console.log(`${rel} is up to date`);
} else {
  writeFileSync(output, text);
  console.log(`wrote ${rel}`);
}
for (const s of stats) console.log(s);
