package cuda

import (
	"encoding/hex"
	"testing"
)

// MD2 matches RFC 1319's test suite: the integrity check's digest is built on it.
func TestMD2MatchesRFC1319(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "8350e5a3e24c153df2275c9f80692773",
		"a":                          "32ec01ec4a6dac72c0ab96fb34c0b5d1",
		"abc":                        "da853b0d3f88d99b30283a69e6ded6bb",
		"abcdefghijklmnopqrstuvwxyz": "4e8ddff3650292ab5a4108c3aa47940b",
		"12345678901234567890123456789012345678901234567890123456789012345678901234567890": "d5976f79d83d3a0dc9806c3c66f3efd8",
	} {
		got := md2Sum([]byte(in))
		if hex.EncodeToString(got[:]) != want {
			t.Errorf("MD2(%q) = %x, want %s", in, got, want)
		}
	}
}

// The integrity digest is HMAC: the key pads the inner and outer hashes, so a changed
// message byte changes it, and versions ending in 0 or 1 get their fixed answers.
func TestIntegrityDigestIsKeyedAndVersioned(t *testing.T) {
	msg := []byte("0123456789abcdef0123456789abcdef0123456789abcdef")
	a := integrityDigest(11082, msg)
	var k [16]byte
	copy(k[:], integrityKey[:])
	var in md2
	for i := range k {
		in.write([]byte{k[i] ^ 0x36})
	}
	in.write(msg)
	inner := in.sum()
	var out md2
	for i := range k {
		out.write([]byte{k[i] ^ 0x5c})
	}
	out.write(inner[:])
	if a != out.sum() {
		t.Fatal("integrity digest is not HMAC-MD2 of the message")
	}
	msg[40] ^= 1
	if integrityDigest(11082, msg) == a {
		t.Error("a changed message byte leaves the digest unchanged")
	}
	if integrityDigest(11080, msg) == integrityDigest(11081, msg) || integrityDigest(11080, msg) != integrityDigest(12000, nil) {
		t.Error("versions ending in 0 and 1 must get their two fixed answers")
	}
}

// CUDA 11's runtime resolves the primary-context calls at 7000, before their _v2 renames:
// without the first ABI cudaDeviceReset finds no cuDevicePrimaryCtxReset.
func TestPrimaryCtxFirstABIResolvesForCUDA11(t *testing.T) {
	for name, want := range map[string]string{"cuDevicePrimaryCtxRelease": "cuDevicePrimaryCtxRelease",
		"cuDevicePrimaryCtxReset": "cuDevicePrimaryCtxReset", "cuDevicePrimaryCtxSetFlags": "cuDevicePrimaryCtxSetFlags"} {
		got, st := resolveProc(name, 7000)
		if got != want || st != procFound {
			t.Errorf("%s@7000 = %q (%d), want %q", name, got, st, want)
		}
		if got, _ := resolveProc(name, 11000); got != want+"_v2" {
			t.Errorf("%s@11000 = %q, want the _v2", name, got)
		}
	}
}
