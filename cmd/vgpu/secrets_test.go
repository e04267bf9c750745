package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/wire"
)

func write(t *testing.T, dir, name, data string, mode os.FileMode) string {
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(data), mode))
	require.NoError(t, os.Chmod(p, mode)) // past the umask
	return p
}

func TestTokenFileReadableByOthersIsRefusedAsSshdRefusesKeys(t *testing.T) {
	dir := t.TempDir()
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o606} {
		p := write(t, dir, "token", "s3cret\n", mode)
		_, err := readSecret(p)
		require.Error(t, err, "%#o", mode)
		assert.Contains(t, err.Error(), fmt.Sprintf("permissions %#o for %s are too open", mode, p))
		assert.Contains(t, err.Error(), "chmod 600 "+p)
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		tok, err := readSecret(write(t, dir, "token", "  s3cret\n", mode))
		require.NoError(t, err, "%#o", mode)
		assert.Equal(t, "s3cret", tok)
	}
}

func TestEmptyTokenFileSaysSo(t *testing.T) {
	for _, body := range []string{"", "\n", "  \t\n"} {
		p := write(t, t.TempDir(), "token", body, 0o600)
		_, err := readSecret(p)
		require.Error(t, err)
		assert.Equal(t, "token file "+p+" is empty", err.Error())
	}
}

// The first start makes a key (mode 600) and a certificate; later starts reuse them, so the
// fingerprint clients pinned stays valid.
func TestTLSDirMakesAKeyOnceAndReusesIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	_, leaf, err := serverTLS(tlsFiles{dir: dir}, "192.0.2.7")
	require.NoError(t, err)
	ki, err := os.Stat(filepath.Join(dir, "key.pem"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), ki.Mode().Perm())
	di, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	assert.True(t, leaf.NotAfter.Sub(leaf.NotBefore).Hours() > 24*365*10, "long-lived")
	assert.NoError(t, leaf.VerifyHostname("192.0.2.7"), "names the listen address")
	assert.NoError(t, leaf.VerifyHostname("127.0.0.1"))
	if h, err := os.Hostname(); err == nil {
		assert.NoError(t, leaf.VerifyHostname(h), "names the hostname")
	}
	assert.NoError(t, leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature), "self-signed")
	assert.Equal(t, leaf.RawSubject, leaf.RawIssuer)
	cfg, again, err := serverTLS(tlsFiles{dir: dir}, "198.51.100.1")
	require.NoError(t, err)
	assert.Equal(t, wire.Fingerprint(leaf.Raw), wire.Fingerprint(again.Raw), "the same certificate on the next start")
	assert.Equal(t, uint16(0x0304), cfg.MinVersion, "TLS 1.3 only")

	// A pem-file CA check passes with the certificate itself as the CA.
	pool := x509.NewCertPool()
	b, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
	require.NoError(t, err)
	require.True(t, pool.AppendCertsFromPEM(b))
	_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.0.1"})
	assert.NoError(t, err)
}

func TestTLSDirRefusesAnOpenKeyOrHalfAPair(t *testing.T) {
	dir := t.TempDir()
	_, _, err := serverTLS(tlsFiles{dir: dir}, "127.0.0.1")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(filepath.Join(dir, "key.pem"), 0o644))
	_, _, err = serverTLS(tlsFiles{dir: dir}, "127.0.0.1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "are too open")
	require.NoError(t, os.Remove(filepath.Join(dir, "key.pem")))
	_, _, err = serverTLS(tlsFiles{dir: dir}, "127.0.0.1")
	require.Error(t, err, "a certificate without its key is not silently replaced")
	assert.Contains(t, err.Error(), "without the other")
}

func TestTLSCertAndKeyFiles(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, err := selfSigned("vgpu.example")
	require.NoError(t, err)
	c := write(t, dir, "c.pem", string(certPEM), 0o644)
	k := write(t, dir, "k.pem", string(keyPEM), 0o600)
	_, leaf, err := serverTLS(tlsFiles{cert: c, key: k}, "")
	require.NoError(t, err)
	blk, _ := pem.Decode(certPEM)
	assert.Equal(t, blk.Bytes, leaf.Raw)
	assert.NoError(t, leaf.VerifyHostname("vgpu.example"))
	_, _, err = serverTLS(tlsFiles{cert: c}, "")
	assert.ErrorContains(t, err, "go together")
	_, _, err = serverTLS(tlsFiles{cert: c, key: k, dir: dir}, "")
	assert.ErrorContains(t, err, "not both")
	require.NoError(t, os.Chmod(k, 0o640))
	_, _, err = serverTLS(tlsFiles{cert: c, key: k}, "")
	assert.ErrorContains(t, err, "too open")
}

func TestWildcardListenNamesEveryAddressOfThisHost(t *testing.T) {
	_, ips := certNames("0.0.0.0")
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
			assert.Contains(t, ips, n.IP)
		}
	}
}

// serve refuses, before serving anyone, what would expose the token or hide a failure.
func TestServeRefusesUnsafeSettings(t *testing.T) {
	dir := t.TempDir()
	tok := write(t, dir, "token", "s3cret", 0o600)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	for want, args := range map[string][]string{
		"which is not loopback":             {"--listen", "tcp://0.0.0.0:0", "--token-file", tok},
		"address already in use":            {"--listen", "tcp://127.0.0.1:0", "--token-file", tok, "--metrics", taken.Addr().String()},
		"are too open":                      {"--listen", "tcp://127.0.0.1:0", "--token-file", write(t, dir, "open", "s3cret", 0o644)},
		"is empty":                          {"--listen", "tcp://127.0.0.1:0", "--token-file", write(t, dir, "empty", "\n", 0o600)},
		"needs --token-file":                {"--listen", "tcp://127.0.0.1:0"},
		`--client-memory: bad size "NaN"`:   {"--listen", "tcp://127.0.0.1:0", "--client-memory", "NaN"},
		`--client-memory: bad size "-5GiB"`: {"--listen", "tcp://127.0.0.1:0", "--client-memory", "-5GiB"},
		"TLS is for tcp:// and vsock://":    {"--listen", "unix://" + dir + "/s", "--tls-dir", dir},
		"--print-fingerprint needs --tls":   {"--listen", "tcp://127.0.0.1:0", "--print-fingerprint"},
		"--metrics-token-file without":      {"--listen", "tcp://127.0.0.1:0", "--token-file", tok, "--metrics-token-file", tok},
	} {
		err := serve(args)
		require.Error(t, err, "%v", args)
		assert.Contains(t, err.Error(), want, "%v", args)
	}
}
