package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"math/big"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"vgpu/wire"
)

func osThreads(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Fatal("no Threads line")
	return 0
}

// In worker mode (the default with --backend local) the parent only relays a TLS client's
// bytes (handOver: "through the poller: the relay costs goroutines, not threads"). An idle
// TLS client must not hold an OS thread of the parent blocked in recvmsg.
func TestAnIdleTLSClientOfAWorkerHoldsNoThread(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"vgpu"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	scfg := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	ccfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: "vgpu"}

	s := startServer(t, Options{
		Upgrade: func(c wire.Conn, d time.Time) (wire.Conn, error) { return wire.TLSServer(c, scfg, d) },
		// The worker takes its client and keeps it (it stands for one serving an idle client).
		Worker: []string{"/bin/sh", "-c", `exec sleep 3 <&3`},
	})
	time.Sleep(200 * time.Millisecond)
	before := osThreads(t)
	const n = 64
	for i := 0; i < n; i++ {
		nc, err := net.Dial("unix", s.path)
		require.NoError(t, err)
		fc, err := wire.FromConn(nc, 10*time.Second)
		require.NoError(t, err)
		tc, err := wire.TLSClient(fc, ccfg, time.Now().Add(10*time.Second))
		require.NoError(t, err)
		t.Cleanup(func() { tc.Close() })
		b, _ := json.Marshal(wire.Hello{Version: wire.Version, Token: testToken})
		require.NoError(t, wire.WriteFrame(tc, wire.Header{Kind: wire.KindHello}, b))
	}
	time.Sleep(time.Second) // hand-overs done, relays idle
	after := osThreads(t)
	t.Logf("OS threads: %d before, %d with %d idle TLS clients relayed to workers", before, after, n)
	// Each worker's reaper (cmd.Wait in wait4) holds one thread already, for a plain client too;
	// the relay must add none.
	require.Less(t, after-before, n+n/4, "idle TLS clients each hold an OS thread of the dispatching server besides their worker's reaper")
}
