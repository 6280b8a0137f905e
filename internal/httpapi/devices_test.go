package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func deviceToken(b byte) string { return strings.Repeat(string("0123456789abcdef"[b%16]), 64) }

func registerDevice(t *testing.T, s *testutil.Server, u testutil.Session, body string, want int) api.Device {
	t.Helper()
	resp, raw := s.Do(t, http.MethodPost, "/v1/devices", body, u.Bearer())
	return decodeInto[api.Device](t, resp, raw, want)
}

func TestDevices(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	alice := s.Register(t, "alice-devices@example.com")
	bob := s.Register(t, "bob-devices@example.com")
	token := strings.ToUpper(deviceToken(10))
	body := `{"platform":"ios","token":"` + token + `","environment":"sandbox","bundle_id":"dev.ccbackend.app"}`

	first := registerDevice(t, s, alice, body, http.StatusCreated)
	if first.Token != strings.ToLower(token) || first.Environment != api.DeviceEnvironmentSandbox || first.Platform != api.DevicePlatformIos {
		t.Fatalf("registered %+v", first)
	}
	// The app registers on every launch: same token, same device, updated fields, 200.
	again := registerDevice(t, s, alice, strings.Replace(body, "sandbox", "production", 1), http.StatusOK)
	if again.Id != first.Id || again.Environment != api.DeviceEnvironmentProduction || !again.CreatedAt.Equal(first.CreatedAt.Time) {
		t.Fatalf("re-registered %+v, first %+v", again, first)
	}
	other := registerDevice(t, s, alice, strings.Replace(body, token, deviceToken(11), 1), http.StatusCreated)

	resp, raw := s.Do(t, http.MethodGet, "/v1/devices?limit=1", nil, alice.Bearer())
	page1 := decodeInto[api.DeviceList](t, resp, raw, http.StatusOK)
	if len(page1.Data) != 1 || page1.Data[0].Id != first.Id || !page1.HasMore || page1.NextCursor == nil {
		t.Fatalf("page 1: %s", raw)
	}
	resp, raw = s.Do(t, http.MethodGet, "/v1/devices?limit=1&cursor="+*page1.NextCursor, nil, alice.Bearer())
	page2 := decodeInto[api.DeviceList](t, resp, raw, http.StatusOK)
	if len(page2.Data) != 1 || page2.Data[0].Id != other.Id || page2.HasMore {
		t.Fatalf("page 2: %s", raw)
	}
	// A cursor is alice's: bob cannot page with it.
	resp, raw = s.Do(t, http.MethodGet, "/v1/devices?cursor="+*page1.NextCursor, nil, bob.Bearer())
	decodeProblem(t, resp, raw, http.StatusBadRequest)

	// Another user's device is a 404, like a missing one, and stays.
	for _, id := range []string{first.Id.String(), uuid.NewString()} {
		resp, raw := s.Do(t, http.MethodDelete, "/v1/devices/"+id, nil, bob.Bearer())
		decodeProblem(t, resp, raw, http.StatusNotFound)
	}
	// The phone changes hands: the token moves to bob under a new id; alice no longer sees it.
	moved := registerDevice(t, s, bob, body, http.StatusCreated)
	if moved.Id == first.Id {
		t.Fatal("a moved token kept the previous owner's id")
	}
	resp, raw = s.Do(t, http.MethodGet, "/v1/devices", nil, alice.Bearer())
	if l := decodeInto[api.DeviceList](t, resp, raw, http.StatusOK); len(l.Data) != 1 || l.Data[0].Id != other.Id {
		t.Fatalf("alice after the move: %s", raw)
	}
	resp, raw = s.Do(t, http.MethodDelete, "/v1/devices/"+first.Id.String(), nil, alice.Bearer())
	decodeProblem(t, resp, raw, http.StatusNotFound)
	if resp, _ := s.Do(t, http.MethodDelete, "/v1/devices/"+moved.Id.String(), nil, bob.Bearer()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete = %d", resp.StatusCode)
	}
	resp, raw = s.Do(t, http.MethodGet, "/v1/devices", nil, bob.Bearer())
	if l := decodeInto[api.DeviceList](t, resp, raw, http.StatusOK); len(l.Data) != 0 {
		t.Fatalf("bob after delete: %s", raw)
	}
}

func TestDeviceRegistrationRefusals(t *testing.T) {
	t.Parallel()
	apns := testutil.StartAPNs(t) // sets CCB_APNS_TOPIC: another bundle is refused
	s := testutil.NewServer(t, testutil.WithConfig(apns.Configure))
	u := s.Register(t, "refusals-devices@example.com")
	valid := map[string]string{"platform": `"ios"`, "token": `"` + deviceToken(1) + `"`, "environment": `"sandbox"`, "bundle_id": `"` + apns.Topic + `"`}
	for _, c := range []struct {
		name, field, value string
		status             int
		pointer            string
	}{
		{"android", "platform", `"android"`, http.StatusBadRequest, "/platform"},
		{"short token", "token", `"abcd"`, http.StatusBadRequest, "/token"},
		{"not hex", "token", `"` + strings.Repeat("z", 64) + `"`, http.StatusBadRequest, "/token"},
		{"environment", "environment", `"staging"`, http.StatusBadRequest, "/environment"},
		{"bundle shape", "bundle_id", `"a b"`, http.StatusBadRequest, "/bundle_id"},
		{"another app", "bundle_id", `"com.example.other"`, http.StatusUnprocessableEntity, "/bundle_id"},
		{"missing token", "token", "", http.StatusBadRequest, "/token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var parts []string
			for k, v := range valid {
				if k == c.field {
					v = c.value
				}
				if v != "" {
					parts = append(parts, `"`+k+`":`+v)
				}
			}
			resp, raw := s.Do(t, http.MethodPost, "/v1/devices", "{"+strings.Join(parts, ",")+"}", u.Bearer())
			p := decodeProblem(t, resp, raw, c.status)
			if got := firstPointer(p); got != c.pointer {
				t.Errorf("pointer %q, want %q (%s)", got, c.pointer, raw)
			}
		})
	}
	resp, raw := s.Do(t, http.MethodGet, "/v1/devices", nil, nil)
	decodeProblem(t, resp, raw, http.StatusUnauthorized)
}
