#!/usr/bin/env node
// Converts the components.schemas of a bundled OpenAPI 3.0 document (JSON, all refs local, e.g. the
// output of `redocly bundle --ext json`) into one JSON Schema (draft-07) document whose `definitions`
// are those schemas, for quicktype (`quicktype --src-lang schema 'out.json#/definitions/'`).
//
//   node scripts/openapi-to-jsonschema.mjs bundled.json > schema.json
//
// - `#/components/schemas/X...` refs become `#/definitions/X...`; any other ref is an error.
// - `nullable: true` becomes a type union with "null" (or `anyOf [..., {type: null}]` without `type`),
//   and `null` joins an `enum`.
// - `allOf` with a single member and only annotations beside it becomes that member.
// - OpenAPI-only keywords (example, discriminator, xml, externalDocs, deprecated, x-*) and `title`
//   (quicktype would name types after it instead of after the component) are dropped.
// The walk is keyword-aware: property names such as `nullable` or `example` are left alone.
// Output is stable: the spec's order is kept and nothing depends on time or environment.
import { readFileSync } from "node:fs";

const file = process.argv[2];
if (!file) {
  console.error("usage: openapi-to-jsonschema.mjs <bundled-openapi.json>");
  process.exit(2);
}
const doc = JSON.parse(readFileSync(file, "utf8"));
if (typeof doc.openapi !== "string" || !doc.openapi.startsWith("3.0")) {
  console.error(`openapi-to-jsonschema: expected an OpenAPI 3.0.x document, got openapi=${doc.openapi}`);
  process.exit(1);
}
const schemas = doc.components?.schemas ?? {};

const DROP = new Set(["example", "discriminator", "xml", "externalDocs", "deprecated", "title", "nullable"]);
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "definitions"]);
const SCHEMA_LISTS = new Set(["allOf", "anyOf", "oneOf"]);
const SCHEMA_ONE = new Set(["items", "additionalProperties", "not"]);
const REF_PREFIX = "#/components/schemas/";

function convert(schema, where) {
  if (typeof schema === "boolean") return schema;
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    throw new Error(`${where}: not a schema object`);
  }
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROP.has(key) || key.startsWith("x-")) continue;
    if (key === "$ref") {
      if (typeof value !== "string" || !value.startsWith(REF_PREFIX)) {
        throw new Error(`${where}: unsupported $ref ${JSON.stringify(value)} (bundle the spec first)`);
      }
      out.$ref = "#/definitions/" + value.slice(REF_PREFIX.length);
    } else if (SCHEMA_MAPS.has(key)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, convert(sub, `${where}/${key}/${name}`)]),
      );
    } else if (SCHEMA_LISTS.has(key)) {
      out[key] = value.map((sub, i) => convert(sub, `${where}/${key}/${i}`));
    } else if (SCHEMA_ONE.has(key) && typeof value === "object") {
      out[key] = convert(value, `${where}/${key}`);
    } else {
      out[key] = value; // type, format, enum, required, default, description, bounds, ...
    }
  }
  const simplified = unwrapSingleAllOf(out);
  if (schema.nullable === true) return makeNullable(simplified);
  return simplified;
}

// `{allOf: [X]}` with nothing but annotations beside it (the 3.0 idiom to attach `nullable` or a
// description to a $ref) is X; quicktype would otherwise emit a copy of X under another name.
const ANNOTATIONS = new Set(["type", "description", "default", "readOnly", "writeOnly"]);
function unwrapSingleAllOf(s) {
  if (!Array.isArray(s.allOf) || s.allOf.length !== 1) return s;
  if (!Object.keys(s).every((k) => k === "allOf" || ANNOTATIONS.has(k))) return s;
  const inner = s.allOf[0];
  if (typeof inner !== "object" || inner === null) return s;
  if (s.type !== undefined && inner.$ref === undefined && inner.type !== undefined && inner.type !== s.type) return s;
  const r = { ...inner };
  if (s.description !== undefined && r.$ref === undefined) r.description = s.description;
  return r;
}

function makeNullable(s) {
  const composed = s.$ref !== undefined || s.allOf !== undefined || s.oneOf !== undefined || s.anyOf !== undefined;
  if (typeof s.type === "string" && !composed) {
    const r = { ...s, type: [s.type, "null"] };
    if (Array.isArray(s.enum) && !s.enum.includes(null)) r.enum = [...s.enum, null];
    return r;
  }
  // A composition (`allOf: [{$ref}]` + nullable is the 3.0 idiom for a nullable reference), or no
  // single type: "this, or null".
  const { description, ...rest } = s;
  const r = { anyOf: [rest, { type: "null" }] };
  if (description !== undefined) r.description = description;
  return r;
}

const definitions = {};
for (const [name, schema] of Object.entries(schemas)) {
  definitions[name] = convert(schema, `#/components/schemas/${name}`);
}
const out = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $comment: "Generated from the OpenAPI components.schemas by scripts/openapi-to-jsonschema.mjs. DO NOT EDIT.",
  definitions,
};
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
