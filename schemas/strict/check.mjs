// Compiles JSON Schemas (draft 2020-12) with Ajv in strict mode, then
// validates JSON documents against them.
//
//   node check.mjs SCHEMA.json [DOCUMENT.json|DOCUMENTS.jsonl ...] [-- SCHEMA.json ...]
//
// Every schema must compile under strict: true (no unknown keywords, no
// required property without a declared type, no ignored formats); every
// document after a schema must be valid. Exit 1 with the errors otherwise.
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);

let failed = false;
let validate = null;
let schemaPath = "";
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--") {
    validate = null;
    continue;
  }
  if (validate === null) {
    schemaPath = a;
    try {
      validate = ajv.compile(JSON.parse(readFileSync(a, "utf8")));
    } catch (e) {
      console.log(`${a}: does not compile in strict mode: ${e.message}`);
      failed = true;
      validate = () => true;
    }
    continue;
  }
  // A .jsonl document is one JSON value a line.
  const text = readFileSync(a, "utf8");
  const docs = a.endsWith(".jsonl") ? text.split("\n").filter((l) => l.trim() !== "") : [text];
  docs.forEach((d, i) => {
    const where = a.endsWith(".jsonl") ? `${a}:${i + 1}` : a;
    if (!validate(JSON.parse(d))) {
      failed = true;
      for (const e of validate.errors.slice(0, 20)) {
        console.log(`${where} against ${schemaPath}: ${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
      }
    }
  });
}
process.exit(failed ? 1 : 0);
