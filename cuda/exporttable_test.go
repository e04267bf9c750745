package cuda

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// MD2 matches RFC 1319's test suite: the integrity check's digest is built on it.
func TestMD2MatchesRFC1319(t *testing.T) {
	lockThread(t)
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
	lockThread(t)
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
	lockThread(t)
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

func parseUUID(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		t.Fatalf("bad uuid %q", s)
	}
	return b
}

// exportTable asks GetExportTable for a table by its text, and notes what it logged as refused.
func exportTable(t *testing.T, id string) (table uintptr, r Result, refused []string) {
	saved := logRefusal
	t.Cleanup(func() { logRefusal = saved })
	logRefusal = func(u, why string, declined bool) {
		refused = append(refused, fmt.Sprintf("%s declined=%v why=%q", u, declined, why))
	}
	b := parseUUID(t, id)
	table = 0xdead
	r = GetExportTable(unsafe.Pointer(&table), unsafe.Pointer(&b[0]))
	return table, r, refused
}

// CUDA 13's runtime asks for f8cff951 and runs without it: the refusal is a known one,
// logged at debug with its reason, not a warning that vgpu lacks something.
func TestCUDA13sTableF8cff951IsDeclinedQuietly(t *testing.T) {
	lockThread(t)
	table, r, refused := exportTable(t, "f8cff951-2146-8b4e-b9e2-fb469e7c0dd9")
	if r != ErrorNotFound || table != 0 {
		t.Fatalf("got %v with table %#x, want CUDA_ERROR_NOT_FOUND and a null table", r, table)
	}
	want := `f8cff951-2146-8b4e-b9e2-fb469e7c0dd9 declined=true why="CUDA 13's runtime carries on without it"`
	if len(refused) != 1 || refused[0] != want {
		t.Errorf("logged %q, want %q", refused, want)
	}
}

// An identifier nobody has described is refused as the driver refuses one, and logged as
// unknown (a warning).
func TestUnknownTableIsRefusedAndWarned(t *testing.T) {
	lockThread(t)
	table, r, refused := exportTable(t, "deadbeef-0102-0304-0506-0708090a0b0c")
	if r != ErrorNotFound || table != 0 {
		t.Fatalf("got %v with table %#x, want CUDA_ERROR_NOT_FOUND and a null table", r, table)
	}
	if len(refused) != 1 || !strings.Contains(refused[0], "declined=false") {
		t.Errorf("logged %q, want one undeclined refusal", refused)
	}
}

// cuBLAS 12's GEMMs need the tools context table (21318c60): it is served, sized as the
// real driver's (744 bytes: its size word and 92 slots), every slot callable.
func TestToolsContextTableIsServedWithTheDriversSize(t *testing.T) {
	lockThread(t)
	table, r, refused := exportTable(t, "21318c60-9714-3248-8ca6-41ff7324c8f2")
	if r != Success || table == 0 || len(refused) != 0 {
		t.Fatalf("got %v, table %#x, refused %q", r, table, refused)
	}
	words := unsafe.Slice((*uintptr)(unsafe.Pointer(table)), 93)
	if words[0] != 744 {
		t.Errorf("size word %d, want 744", words[0])
	}
	for i, w := range words[1:] {
		if w == 0 {
			t.Errorf("slot %d is null", i+1)
		}
	}
}

// cuBLAS 13.1 crashes on a null 1734dc26 table (its half-precision paths): it is served at the
// real driver's size (136 bytes: a size word and 16 slots), every slot callable.
func TestCuBLAS13TableIsServedWithTheDriversSize(t *testing.T) {
	lockThread(t)
	table, r, refused := exportTable(t, "1734dc26-800d-4745-8726-c0f1e7dd8bca")
	if r != Success || table == 0 || len(refused) != 0 {
		t.Fatalf("got %v, table %#x, refused %q", r, table, refused)
	}
	words := unsafe.Slice((*uintptr)(unsafe.Pointer(table)), 17)
	if words[0] != 136 {
		t.Errorf("size word %d, want 136", words[0])
	}
	for i, w := range words[1:] {
		if w == 0 {
			t.Errorf("slot %d is null", i+1)
		}
	}
}

// VGPU_EXPORT_PROBE names a table vgpu does not know that it then serves with logging slots
// (a diagnostic, to learn what a library asks of it); without it the table is refused.
func TestProbeTableIsServedOnlyForTheNamedIdentifier(t *testing.T) {
	lockThread(t)
	const id = "deadbeef-0102-0304-0506-0708090a0b0c"
	t.Setenv("VGPU_EXPORT_PROBE", id)
	table, r, _ := exportTable(t, id)
	if r != Success || table == 0 {
		t.Fatalf("named: got %v, table %#x", r, table)
	}
	if w := *(*uintptr)(unsafe.Pointer(table)); w != 64*8 {
		t.Errorf("size word %d, want 512", w)
	}
	if table, r, _ = exportTable(t, "deadbeef-0102-0304-0506-0708090a0b0d"); r != ErrorNotFound || table != 0 {
		t.Errorf("another identifier: got %v, table %#x", r, table)
	}
}
