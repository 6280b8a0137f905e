// Package dbschema embeds the golang-migrate migrations so the binary can migrate without files
// on disk (go:embed cannot reach ../ from the code that runs them).
package dbschema

import "embed"

// Migrations holds db/migrations/*.sql.
//
//go:embed migrations/*.sql
var Migrations embed.FS
