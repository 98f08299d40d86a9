// Package schemas holds the JSON Schemas (draft 2020-12) of what batchsli
// writes: the v2 batch-run, failure and outcome records, the report's JSON
// and validate's JSON. Each compiles under Ajv's strict mode
// (schemas/strict, TestSchemasStrict) and closes every object it
// describes (additionalProperties false).
package schemas

import "embed"

// FS holds every *.schema.json file of this folder.
//
//go:embed *.schema.json
var FS embed.FS
