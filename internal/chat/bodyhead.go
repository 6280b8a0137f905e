package chat

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// bodyHead is what estimatedCost reads of a request body: its model and output limits.
type bodyHead struct {
	Model               string `json:"model"`
	MaxTokens           *int   `json:"max_tokens"`
	MaxCompletionTokens *int   `json:"max_completion_tokens"`
}

// readBodyHead reads the head of a JSON request body. It scans the top-level object itself,
// stepping over every other member without decoding it: json.Unmarshal would walk the whole
// body (102 µs for a 59 KB prompt), and the estimate is made before the authentication round
// trip, on the request's path. Whatever the scan is unsure of (escaped or case-folded keys,
// non-integer limits, malformed JSON) is left to json.Unmarshal, whose answer it then is.
func readBodyHead(body []byte) (bodyHead, bool) {
	if h, ok := scanBodyHead(body); ok {
		return h, true
	}
	var h bodyHead
	return h, json.Unmarshal(body, &h) == nil
}

// scanBodyHead is readBodyHead's scan; false: unsure.
func scanBodyHead(b []byte) (bodyHead, bool) {
	var h bodyHead
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return h, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return h, skipSpace(b, i+1) == len(b)
	}
	for {
		key, next, ok := plainString(b, i)
		if !ok {
			return h, false
		}
		if i = skipSpace(b, next); i >= len(b) || b[i] != ':' {
			return h, false
		}
		i = skipSpace(b, i+1)
		switch key {
		case "model":
			if h.Model, i, ok = plainString(b, i); !ok {
				return h, false
			}
		case "max_tokens":
			if h.MaxTokens, i, ok = plainInt(b, i); !ok {
				return h, false
			}
		case "max_completion_tokens":
			if h.MaxCompletionTokens, i, ok = plainInt(b, i); !ok {
				return h, false
			}
		default:
			// json.Unmarshal matches keys case-insensitively: a near miss is its to judge.
			for _, k := range []string{"model", "max_tokens", "max_completion_tokens"} {
				if strings.EqualFold(key, k) {
					return h, false
				}
			}
			if i, ok = skipValue(b, i); !ok {
				return h, false
			}
		}
		switch i = skipSpace(b, i); {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return h, skipSpace(b, i+1) == len(b)
		default:
			return h, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads the JSON string at b[i] when it is printable ASCII without escapes (keys,
// model ids), returning what follows it.
func plainString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", i, false
	}
	end := bytes.IndexByte(b[i+1:], '"')
	if end < 0 {
		return "", i, false
	}
	str := b[i+1 : i+1+end]
	for _, c := range str {
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return "", i, false
		}
	}
	return string(str), i + end + 2, true
}

// plainInt reads null or a JSON integer at b[i].
func plainInt(b []byte, i int) (*int, int, bool) {
	if bytes.HasPrefix(b[i:], []byte("null")) {
		return nil, i + len("null"), true
	}
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		return nil, i, false
	}
	n, err := strconv.Atoi(string(b[i:j]))
	if err != nil {
		return nil, i, false
	}
	return &n, j, true
}

// skipValue steps over the JSON value at b[i]: a string, an object or array (strings inside
// skipped whole), or a literal or number, which ends at the delimiter after it.
func skipValue(b []byte, i int) (int, bool) {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			end, ok := stringEnd(b, i)
			if !ok || depth == 0 {
				return end, ok
			}
			i = end
		case '{', '[':
			depth++
			i++
		case '}', ']':
			if depth == 0 {
				return i, true // the enclosing object ends: a literal or number ended before it
			}
			if depth--; depth == 0 {
				return i + 1, true
			}
			i++
		case ',':
			if depth == 0 {
				return i, true
			}
			i++
		default:
			i++
		}
	}
	return i, depth == 0
}

// stringEnd is the index after the JSON string starting at b[i]: its first quote not escaped
// (preceded by an even number of backslashes).
func stringEnd(b []byte, i int) (int, bool) {
	for j := i + 1; ; {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return i, false
		}
		q := j + k
		slashes := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			slashes++
		}
		if slashes%2 == 0 {
			return q + 1, true
		}
		j = q + 1
	}
}
