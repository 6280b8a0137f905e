package secret

import (
	"bytes"
	"testing"
)

var testMaster = []byte("0123456789abcdef0123456789abcdef-test-master")

func newTestBox(t *testing.T, purpose string) *Box {
	t.Helper()
	b, err := NewBox(testMaster, purpose)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBoxRoundTrip(t *testing.T) {
	b := newTestBox(t, "signing-keys")
	for _, pt := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("secret"), 500)} {
		ct, err := b.Seal(pt, []byte("kid-1"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Open(ct, []byte("kid-1"))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("got %q, want %q", got, pt)
		}
	}
}

func TestBoxSealUsesFreshNonces(t *testing.T) {
	b := newTestBox(t, "signing-keys")
	c1, _ := b.Seal([]byte("same"), nil)
	c2, _ := b.Seal([]byte("same"), nil)
	if bytes.Equal(c1, c2) {
		t.Fatal("two seals of the same plaintext are identical: nonce reused")
	}
}

func TestBoxOpenRejects(t *testing.T) {
	b := newTestBox(t, "signing-keys")
	ct, err := b.Seal([]byte("private key bytes"), []byte("kid-1"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(ct)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name string
		ct   []byte
		aad  []byte
		box  *Box
	}{
		{"tampered nonce", flip(0), []byte("kid-1"), b},
		{"tampered body", flip(len(ct) / 2), []byte("kid-1"), b},
		{"tampered tag", flip(len(ct) - 1), []byte("kid-1"), b},
		{"truncated", ct[:10], []byte("kid-1"), b},
		{"empty", nil, []byte("kid-1"), b},
		{"wrong aad", ct, []byte("kid-2"), b},
		{"missing aad", ct, nil, b},
		{"other purpose", ct, []byte("kid-1"), newTestBox(t, "refresh-children")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if pt, err := tc.box.Open(tc.ct, tc.aad); err == nil {
				t.Fatalf("opened %q", pt)
			}
		})
	}
}

func TestNewBoxRejectsShortMasterAndEmptyPurpose(t *testing.T) {
	if _, err := NewBox(make([]byte, 31), "p"); err == nil {
		t.Fatal("31-byte master key accepted")
	}
	if _, err := NewBox(testMaster, ""); err == nil {
		t.Fatal("empty purpose accepted")
	}
}

func TestDeriveKey(t *testing.T) {
	a := DeriveKey(testMaster, "cursor", 32)
	if len(a) != 32 {
		t.Fatalf("len %d", len(a))
	}
	if !bytes.Equal(a, DeriveKey(testMaster, "cursor", 32)) {
		t.Fatal("not deterministic")
	}
	if bytes.Equal(a, DeriveKey(testMaster, "other", 32)) {
		t.Fatal("different purposes gave the same key")
	}
	if bytes.Equal(a, DeriveKey(append(bytes.Clone(testMaster), 'x'), "cursor", 32)) {
		t.Fatal("different masters gave the same key")
	}
	if len(DeriveKey(testMaster, "cursor", 64)) != 64 {
		t.Fatal("length not honoured")
	}
}

// A Box and DeriveKey with the same purpose must not share key material: seal with the Box, then
// try to open with a Box built directly on DeriveKey's output used as if it were a master-derived key.
func TestBoxKeyDiffersFromDeriveKey(t *testing.T) {
	boxKey := newTestBox(t, "cursor")
	derived := DeriveKey(testMaster, "cursor", 32)
	ct, _ := boxKey.Seal([]byte("x"), nil)
	// Build an AEAD on the derived key by hand: NewBox would run HKDF again.
	other, err := newBoxFromKey(derived)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(ct, nil); err == nil {
		t.Fatal("DeriveKey output opens a Box of the same purpose")
	}
}

func TestDeriveKeyPanicsOnHugeLength(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	DeriveKey(testMaster, "x", 255*32+1)
}
