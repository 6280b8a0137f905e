package config

import (
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Secret fields carry a `secret` tag next to their declaration, so that whoever adds a setting
// decides there whether it is one (TestEverySecretLookingFieldIsTagged fails on a field whose name
// suggests a secret but has no tag):
//
//	secret:"value" the whole value is secret: shown as "[redacted]" when set, "" when not
//	secret:"url"   a URL whose password (and credential-like query parameters) are redacted
//	secret:"none"  looks like a secret by its name but is not one (shown as is)
const (
	SecretValue = "value"
	SecretURL   = "url"
	SecretNone  = "none"
)

// Redacted is the string that replaces a secret.
const Redacted = "[redacted]"

// credentialParam matches URL query parameters that carry credentials (libpq's password=,
// sslpassword=, tokens and keys of other drivers).
var credentialParam = regexp.MustCompile(`(?i)pass|secret|token|key|auth|credential`)

// Redacted returns the effective configuration as a JSON-ready map keyed by snake_case field
// names, every secret redacted according to its field's `secret` tag.
func (c Config) Redacted() map[string]any {
	return redactStruct(reflect.ValueOf(c))
}

func redactStruct(v reflect.Value) map[string]any {
	out := map[string]any{}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		out[snake(f.Name)] = redactValue(v.Field(i), f.Tag.Get("secret"))
	}
	return out
}

func redactValue(v reflect.Value, tag string) any {
	switch tag {
	case SecretValue:
		if v.IsZero() || (v.Kind() == reflect.Slice && v.Len() == 0) {
			return ""
		}
		return Redacted
	case SecretURL:
		return RedactURL(fmt.Sprint(v.Interface()))
	}
	switch x := v.Interface().(type) {
	case time.Duration:
		return x.String()
	case fmt.Stringer:
		return x.String()
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return redactValue(v.Elem(), tag)
	case reflect.Struct:
		return redactStruct(v)
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 { // raw bytes are never shown
			return Redacted
		}
		items := make([]any, v.Len())
		for i := range v.Len() {
			items[i] = redactValue(v.Index(i), tag)
		}
		return items
	case reflect.Map:
		m := map[string]any{}
		for _, k := range v.MapKeys() {
			m[fmt.Sprint(k.Interface())] = redactValue(v.MapIndex(k), tag)
		}
		return m
	}
	return v.Interface()
}

// RedactURL removes the password from a URL (DSN) and the values of credential-like query
// parameters; a value that does not parse is redacted whole, as it might be anything.
func RedactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Redacted
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), Redacted)
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if credentialParam.MatchString(k) {
				q[k] = []string{Redacted}
			}
		}
		u.RawQuery = q.Encode()
	}
	s := u.String()
	// url.String escapes the brackets of the placeholder in the userinfo; keep it readable.
	return strings.ReplaceAll(strings.ReplaceAll(s, "%5B", "["), "%5D", "]")
}

// snake turns a Go field name into snake_case, keeping initialisms together (DatabaseURL →
// database_url, APIKeyRotateGrace → api_key_rotate_grace).
func snake(name string) string {
	var b strings.Builder
	rs := []rune(strings.ReplaceAll(name, "OpenAI", "Openai")) // one word, not "open_ai"
	for i, r := range rs {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]))
			nextLower := i > 0 && i+1 < len(rs) && unicode.IsUpper(rs[i-1]) && unicode.IsLower(rs[i+1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
