package shim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSizesAreWholePositiveFiniteByteCounts(t *testing.T) {
	for in, want := range map[string]uint64{
		"1": 1, "4096": 4096, "8GiB": 8 << 30, "1.5KiB": 1536, "1.5GB": 1.5e9, " 2 MiB ": 2 << 20,
		"1e9": 1e9, "1E3B": 1000, "0.5KiB": 512, "2.5e-3GB": 2.5e6,
	} {
		got, err := ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	assert.Equal(t, uint64(MaxSize), must(ParseSize("1024TiB")), "1 PiB itself is taken")
}

func must(n uint64, err error) uint64 {
	if err != nil {
		panic(err)
	}
	return n
}

func TestSizesRefusedQuoteWhatWasGiven(t *testing.T) {
	for in, why := range map[string]string{
		"":                     "want a positive number",
		"NaN":                  "want a positive number",
		"Inf":                  "want a positive number",
		"+Inf":                 "want a positive number",
		"-5GiB":                "want a positive number", // a sign is no part of a size
		"0":                    "not positive",
		"0GiB":                 "not positive",
		"0.5":                  "not a whole number of bytes",
		"1e-9GiB":              "not a whole number of bytes",
		"1.5B":                 "not a whole number of bytes",
		"1025TiB":              "more than 1 PiB",
		"1e30":                 "more than 1 PiB",
		"1e999":                "want a positive number", // no power of ten that large is ever computed
		"0x10":                 "want a positive number",
		"1/2":                  "want a positive number",
		"GiB":                  "want a positive number",
		"8 gigs":               "want a positive number",
		"1.":                   "want a positive number",
		".5GiB":                "want a positive number",
		"1_000":                "want a positive number",
		"1PiB":                 "want a positive number",
		"NaNGiB":               "want a positive number",
		"-0.5GiB":              "want a positive number",
		"9e99TiB":              "more than 1 PiB",
		"18446744073709551616": "more than 1 PiB",
	} {
		_, err := ParseSize(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), `bad size "`+in+`": `+why, in)
	}
}

func TestEverySizeSettingIsChecked(t *testing.T) {
	for _, e := range []map[string]string{
		{"VGPU_MEMORY": "NaN"}, {"VGPU_MEMORY": "0.5"}, {"VGPU_MEMORY": "1e-9GiB"}, {"VGPU_MEMORY": "-5GiB"},
		{"VGPU_MEMORY_LIMIT": "NaN"}, {"VGPU_MEMORY_LIMIT": "0"},
	} {
		_, err := LoadConfig(env(e))
		require.Error(t, err, e)
		for _, v := range e {
			assert.Contains(t, err.Error(), `bad size "`+v+`"`, e)
		}
	}
	c, err := LoadConfig(env(map[string]string{"VGPU_MEMORY": "24GiB", "VGPU_MEMORY_LIMIT": "4GiB"}))
	require.NoError(t, err)
	assert.Equal(t, "24GiB", c.Devices[0].Memory)
}

func TestServerTLSSettingsComeFromTheEnvironment(t *testing.T) {
	c, err := LoadConfig(env(map[string]string{"VGPU_SERVER_CA": "/etc/vgpu/ca.pem", "VGPU_SERVER_FINGERPRINT": "sha256:ab"}))
	require.NoError(t, err)
	assert.Equal(t, "/etc/vgpu/ca.pem", c.ServerCA)
	assert.Equal(t, "sha256:ab", c.ServerPin)
}
