package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// schemaCache keeps compiled input schemas by their text, so a call does not recompile.
type schemaCache struct {
	mu      sync.Mutex
	byText  map[string]*jsonschema.Schema
	printer *message.Printer
}

const maxCachedSchemas = 1024

func newSchemaCache() *schemaCache {
	return &schemaCache{byText: map[string]*jsonschema.Schema{}, printer: message.NewPrinter(language.English)}
}

// refuseLoader keeps a tool's schema from making the backend fetch a remote $ref (another way to
// reach an internal address).
type refuseLoader struct{}

func (refuseLoader) Load(string) (any, error) {
	return nil, errors.New("remote schema references are not followed")
}

func (c *schemaCache) compile(schema json.RawMessage) (*jsonschema.Schema, error) {
	key := string(schema)
	c.mu.Lock()
	sch, ok := c.byText[key]
	c.mu.Unlock()
	if ok {
		return sch, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, err
	}
	comp := jsonschema.NewCompiler()
	comp.UseLoader(refuseLoader{})
	if err := comp.AddResource("mcp:///input-schema.json", doc); err != nil {
		return nil, err
	}
	if sch, err = comp.Compile("mcp:///input-schema.json"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.byText) >= maxCachedSchemas {
		clear(c.byText)
	}
	c.byText[key] = sch
	c.mu.Unlock()
	return sch, nil
}

// validate checks args (a JSON object) against a tool's input schema. A failure is an
// apperr.Invalid pointing at the first offending member under /arguments.
func (c *schemaCache) validate(schema, args json.RawMessage) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(args))
	if _, isObject := inst.(map[string]any); err != nil || !isObject {
		return invalidArgument("/arguments", "arguments must be a JSON object")
	}
	if len(bytes.TrimSpace(schema)) == 0 {
		return nil
	}
	sch, err := c.compile(schema)
	if err != nil {
		return apperr.Wrap(err, apperr.BadGateway, CodeProtocolError, "the tool's input schema is not a valid JSON Schema")
	}
	var ve *jsonschema.ValidationError
	if err := sch.Validate(inst); err != nil {
		if !errors.As(err, &ve) {
			return invalidArgument("/arguments", "arguments do not match the tool's input schema")
		}
		leaf := firstLeaf(ve)
		return invalidArgument(pointer(leaf), leaf.ErrorKind.LocalizedString(c.printer))
	}
	return nil
}

func invalidArgument(ptr, detail string) error {
	return apperr.New(apperr.Invalid, "validation_failed", "the arguments do not match the tool's input schema").
		WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: ptr, Detail: detail})
}

// firstLeaf descends to the most specific cause: the one that names a member.
func firstLeaf(ve *jsonschema.ValidationError) *jsonschema.ValidationError {
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	return ve
}

// pointer is the JSON pointer of the leaf under /arguments; a missing or unexpected property is
// pointed at by its own name rather than by its parent object.
func pointer(ve *jsonschema.ValidationError) string {
	loc := ve.InstanceLocation
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		if len(k.Missing) > 0 {
			loc = append(append([]string{}, loc...), k.Missing[0])
		}
	case *kind.AdditionalProperties:
		if len(k.Properties) > 0 {
			loc = append(append([]string{}, loc...), k.Properties[0])
		}
	}
	var b strings.Builder
	b.WriteString("/arguments")
	esc := strings.NewReplacer("~", "~0", "/", "~1")
	for _, tok := range loc {
		b.WriteByte('/')
		b.WriteString(esc.Replace(tok))
	}
	return b.String()
}
