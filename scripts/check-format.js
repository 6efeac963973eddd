#!/usr/bin/env node
// Part of `npm run lint`: the C++ under kernels/ and scripts/error-bounds/ must be as clang-format
// (.clang-format) writes it.
// `node scripts/check-format.js --fix` rewrites the files.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const files = [];
function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.(cc|h|cu|cuh)$/.test(e.name)) files.push(p);
  }
}
walk(path.join(root, 'kernels'));
walk(path.join(root, 'scripts', 'error-bounds'));

if (spawnSync('clang-format', ['--version']).status !== 0) {
  process.stdout.write('clang-format is not installed (apt-get install clang-format): the C++ format check is skipped\n');
  process.exit(0);
}
const fix = process.argv.includes('--fix');
const r = spawnSync('clang-format', [fix ? '-i' : '--dry-run', ...(fix ? [] : ['--Werror']), ...files], { encoding: 'utf8' });
if (r.status !== 0) {
  process.stderr.write(r.stderr);
  process.stderr.write('C++ formatting differs from .clang-format: run node scripts/check-format.js --fix\n');
  process.exit(1);
}
process.stdout.write(`clang-format: ${files.length} C++ files ${fix ? 'formatted' : 'as formatted'}\n`);
