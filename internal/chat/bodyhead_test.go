package chat

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/catalog"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

// bodyHeadSeeds are request bodies as clients send them, and the odd ones the scan leaves to
// json.Unmarshal.
var bodyHeadSeeds = []string{
	`{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`,
	`{"messages":[{"role":"user","content":"say \"model\": x, {\"max_tokens\":1} \\"}],"max_tokens":64,"model":"claude-sonnet-4-5"}`,
	` { "model" : "m" , "max_completion_tokens" : 9 , "stream" : true , "tools" : [ { "a" : [ 1 , { } ] } ] } `,
	`{"max_tokens":null,"model":"m","n":-1.5e3,"x":false,"y":{"model":"inner"}}`,
	`{"model":"m","model":"last","max_tokens":1,"max_tokens":2}`,
	`{"Model":"m"}`, `{"mo\u0064el":"m"}`, `{"model":"m\u00e9"}`, `{"max_tokens":1.5}`, `{"max_tokens":1e3}`,
	`{"max_tokens":99999999999999999999}`, `{}`, ` {} `, `[]`, `{"a":}`, `{"a":1`, `{"a" 1}`, `{"a":"\\\\"}`, ``,
	`{"messages":"` + strings.Repeat(`x\"y\\`, 50) + `","model":"m"}`,
}

// FuzzReadBodyHead: whenever json.Unmarshal reads a body, readBodyHead reads the same model and
// output limits from it.
func FuzzReadBodyHead(f *testing.F) {
	for _, s := range bodyHeadSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var want bodyHead
		if json.Unmarshal(body, &want) != nil {
			return
		}
		got, ok := readBodyHead(body)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("readBodyHead(%q) = %+v, %v; json.Unmarshal read %+v", body, got, ok, want)
		}
	})
}

// TestReadBodyHeadScansCommonBodies: bodies as clients send them are read by the scan itself,
// not by json.Unmarshal.
func TestReadBodyHeadScansCommonBodies(t *testing.T) {
	for _, body := range bodyHeadSeeds[:5] {
		if _, ok := scanBodyHead([]byte(body)); !ok {
			t.Errorf("the scan gave %s up", body)
		}
	}
}

// BenchmarkEstimatedCost is the estimate of a chat request's tokens, made before its
// authentication round trip, for a small body and a 59 KB prompt of code.
func BenchmarkEstimatedCost(b *testing.B) {
	cat, err := catalog.Load("", false)
	if err != nil {
		b.Fatal(err)
	}
	s := &Service{catalog: cat, log: quiet(), limits: Limits{Tokens: &ratelimit.Policy{Name: "tokens", Limit: 1 << 30, Period: time.Minute}}}
	for name, content := range map[string]string{
		"small": "Say hello.",
		"59KB":  strings.Repeat(`func main() { fmt.Println(\"hello <world>\") }\n`, 1200),
	} {
		body := []byte(`{"model":"claude-sonnet-4-5","stream":true,"messages":[{"role":"user","content":"` + content + `"}],"max_tokens":100}`)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, ok := s.estimatedCost(body); !ok {
					b.Fatal("no estimate")
				}
			}
		})
	}
}
