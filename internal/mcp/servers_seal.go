package mcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/google/uuid"
)

// hintMask is what every hint starts with; the value's tail follows only for long values.
const (
	hintMask       = "••••"
	hintMinLen     = 16 // shorter secrets show nothing of themselves
	hintTailLength = 4
)

// hint masks a header value: "••••" plus its last four characters when it is long enough that
// four characters do not give much of it away.
func hint(value string) string {
	if utf8.RuneCountInString(value) < hintMinLen {
		return hintMask
	}
	r := []rune(value)
	return hintMask + string(r[len(r)-hintTailLength:])
}

// sealedHeaders is what a row stores of its headers.
type sealedHeaders struct {
	names, hints []string
	sealed       []byte // nil without headers
}

// sealHeaders seals headers for the row id: the id is the associated data, so the sealed bytes
// open only in that row.
func (r *Registry) sealHeaders(id uuid.UUID, headers map[string]string) (sealedHeaders, error) {
	out := sealedHeaders{names: []string{}, hints: []string{}}
	if len(headers) == 0 {
		return out, nil
	}
	for name := range headers {
		out.names = append(out.names, name)
	}
	sort.Strings(out.names)
	for _, name := range out.names {
		out.hints = append(out.hints, hint(headers[name]))
	}
	plain, err := json.Marshal(headers)
	if err != nil {
		return sealedHeaders{}, fmt.Errorf("mcp: encode headers: %w", err)
	}
	if out.sealed, err = r.box.Seal(plain, id[:]); err != nil {
		return sealedHeaders{}, fmt.Errorf("mcp: seal headers: %w", err)
	}
	return out, nil
}

// errHeadersSealing is all an error says about headers that did not open: never their content.
var errHeadersSealing = errors.New("mcp: the server's sealed headers do not open (wrong key or moved from another row)")

// openHeaders opens a row's sealed headers (nil without headers).
func (r *Registry) openHeaders(id uuid.UUID, sealed []byte) (map[string]string, error) {
	if len(sealed) == 0 {
		return nil, nil
	}
	plain, err := r.box.Open(sealed, id[:])
	if err != nil {
		return nil, fmt.Errorf("%w: server %s", errHeadersSealing, id)
	}
	headers := map[string]string{}
	if err := json.Unmarshal(plain, &headers); err != nil {
		return nil, fmt.Errorf("%w: server %s", errHeadersSealing, id)
	}
	return headers, nil
}
