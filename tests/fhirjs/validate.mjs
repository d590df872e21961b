// tests/fhirjs/validate.mjs — validates FHIR R4 JSON resources with a second
// independent implementation, FHIR.js (lantanagroup, the `fhir` package: the R4
// StructureDefinitions it carries, element names, types, cardinality, required
// bindings).
//
// Usage: node validate.mjs DIR — every *.json file in DIR is validated; prints one
// line per file and exits non-zero with the messages when any has an error.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Fhir } = require("fhir");
const fhir = new Fhir();

const dir = process.argv[2];
const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
if (files.length === 0) {
  console.error(`validate.mjs: no JSON files in ${dir}`);
  process.exit(2);
}
let failures = 0;
const seen = new Set();
for (const file of files) {
  const resource = JSON.parse(readFileSync(join(dir, file), "utf8"));
  const result = fhir.validate(resource, { errorOnUnexpected: true });
  const errors = result.messages.filter((m) => m.severity === "error");
  if (errors.length > 0) {
    failures += 1;
    console.log(`INVALID ${file} (${resource.resourceType}):`);
    for (const m of errors) console.log(`  ${m.location}: ${m.message}`);
    continue;
  }
  seen.add(resource.resourceType);
  console.log(`valid   ${file} (${resource.resourceType})`);
}
console.log(`validate.mjs: ${files.length - failures} valid, ${failures} invalid; types: ${[...seen].sort().join(", ")}`);
process.exit(failures ? 1 : 0);
