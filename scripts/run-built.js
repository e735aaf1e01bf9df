#!/usr/bin/env node
/**
 * Runs a command-line script from compiled JavaScript instead of compiling TypeScript on every run:
 *
 *   node scripts/run-built.js policy-check [args...]   runs build/policy-check.js
 *
 * build/<name>.js is scripts/<name>.ts bundled by esbuild with the project code it imports
 * (dependencies stay in node_modules). It is rebuilt first whenever it is missing or older than
 * any TypeScript source under policy/ or scripts/, the lock file or this file, so a checkout is
 * always run as it is. Plain JavaScript on purpose: it is what starts before anything is compiled.
 */
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const SOURCES = ["policy", "scripts", "components/lib"];

function newestSource() {
  let newest = Math.max(
    fs.statSync(path.join(root, "package-lock.json")).mtimeMs,
    fs.statSync(__filename).mtimeMs,
  );
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name === "node_modules") continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith(".ts")) newest = Math.max(newest, fs.statSync(full).mtimeMs);
    }
  };
  for (const d of SOURCES) walk(path.join(root, d));
  return newest;
}

/** Builds build/<name>.js when stale; returns its path. */
function ensureBuilt(name) {
  const entry = path.join(root, "scripts", `${name}.ts`);
  if (!fs.existsSync(entry)) {
    process.stderr.write(`run-built: no script scripts/${name}.ts\n`);
    process.exit(2);
  }
  const out = path.join(root, "build", `${name}.js`);
  const built = fs.existsSync(out) ? fs.statSync(out).mtimeMs : 0;
  if (built > newestSource()) return out;
  require("esbuild").buildSync({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    packages: "external",
    sourcemap: "linked",
    logLevel: "warning",
  });
  return out;
}

const [name, ...args] = process.argv.slice(2);
if (!name) {
  process.stderr.write("usage: node scripts/run-built.js <script name> [args...]\n");
  process.exit(2);
}
const out = ensureBuilt(name);
process.argv = [process.argv[0], out, ...args];
require(out);
