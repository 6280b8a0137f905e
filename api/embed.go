// Package apispec embeds the contract itself, byte for byte, so GET /openapi.yaml serves exactly
// the document the server and the clients were generated from.
package apispec

import _ "embed"

// YAML is api/openapi.yaml.
//
//go:embed openapi.yaml
var YAML []byte
