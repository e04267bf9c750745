package remote

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/wire"
)

const secret = "the-token-7f3a9c"

// cert is a throwaway self-signed server certificate for the given names.
func cert(t *testing.T, ips ...net.IP) (tls.Certificate, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IPAddresses: ips, DNSNames: []string{"vgpu.example"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	pemFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pemFile
}

// fakeServer accepts one connection on ln, secures it with c when given, and reports the
// hello it read (or the error that ended it).
func fakeServer(t *testing.T, ln net.Listener, c *tls.Certificate) <-chan any {
	got := make(chan any, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			got <- err
			return
		}
		var conn wire.Conn
		fc, err := wire.FromConn(nc, 5*time.Second)
		if err != nil {
			got <- err
			return
		}
		defer fc.Close()
		conn = fc
		if c != nil {
			tc, err := wire.TLSServer(fc, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{*c}}, time.Now().Add(5*time.Second))
			if err != nil {
				got <- err
				return
			}
			defer tc.Close()
			conn = tc
		}
		_, payload, err := wire.ReadFrame(conn)
		if err != nil {
			got <- err
			return
		}
		var h Hello
		json.Unmarshal(payload, &h)
		w, _ := json.Marshal(Welcome{OK: true})
		wire.WriteFrame(conn, wire.Header{Kind: wire.KindWelcome}, w)
		got <- h
	}()
	return got
}

func listen(t *testing.T, addr string) net.Listener {
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return ln
}

// connectTo dials addr as a process with sec configured would, and says hello.
func connectTo(addr string, sec Secure) error {
	c, err := dial("tcp", addr, sec)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = greet(c, secret)
	return err
}

func TestPinnedFingerprintCarriesTheTokenInsideTLS(t *testing.T) {
	c, _ := cert(t, net.IPv4(127, 0, 0, 1))
	ln := listen(t, "127.0.0.1:0")
	got := fakeServer(t, ln, &c)
	require.NoError(t, connectTo(ln.Addr().String(), Secure{Fingerprint: wire.Fingerprint(c.Certificate[0])}))
	h := (<-got).(Hello)
	assert.Equal(t, secret, h.Token)
}

func TestAMismatchedFingerprintEndsTheHandshakeBeforeTheHello(t *testing.T) {
	c, _ := cert(t, net.IPv4(127, 0, 0, 1))
	other, _ := cert(t, net.IPv4(127, 0, 0, 1))
	ln := listen(t, "127.0.0.1:0")
	got := fakeServer(t, ln, &c)
	err := connectTo(ln.Addr().String(), Secure{Fingerprint: wire.Fingerprint(other.Certificate[0])})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not match VGPU_SERVER_FINGERPRINT")
	assert.Contains(t, err.Error(), wire.Fingerprint(c.Certificate[0]), "the error names the certificate met")
	_, isHello := (<-got).(Hello)
	assert.False(t, isHello, "the server never read a hello")
}

func TestCAVerifiesTheChainAndTheName(t *testing.T) {
	c, caFile := cert(t, net.IPv4(127, 0, 0, 1))
	_, otherCA := cert(t, net.IPv4(127, 0, 0, 1))
	notForThisIP, notForThisIPCA := cert(t, net.IPv4(10, 9, 8, 7))

	ln := listen(t, "127.0.0.1:0")
	got := fakeServer(t, ln, &c)
	require.NoError(t, connectTo(ln.Addr().String(), Secure{CA: caFile}))
	assert.Equal(t, secret, (<-got).(Hello).Token)

	ln = listen(t, "127.0.0.1:0")
	got = fakeServer(t, ln, &c)
	err := connectTo(ln.Addr().String(), Secure{CA: otherCA})
	require.Error(t, err, "a certificate from another CA")
	assert.Contains(t, err.Error(), "unknown authority")
	_, isHello := (<-got).(Hello)
	assert.False(t, isHello)

	ln = listen(t, "127.0.0.1:0")
	got = fakeServer(t, ln, &notForThisIP)
	err = connectTo(ln.Addr().String(), Secure{CA: notForThisIPCA})
	require.Error(t, err, "a trusted certificate that does not name the address dialled")
	assert.Contains(t, err.Error(), "127.0.0.1")
	<-got

	ln = listen(t, "127.0.0.1:0")
	got = fakeServer(t, ln, &c)
	require.NoError(t, connectTo(ln.Addr().String(), Secure{CA: caFile, Fingerprint: wire.Fingerprint(c.Certificate[0])}), "both checks, both hold")
	<-got
}

func TestUnusableTLSSettingsAreReportedBeforeConnecting(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o644))
	for sec, want := range map[Secure]string{
		{CA: "/nonexistent/ca.pem"}: "VGPU_SERVER_CA",
		{CA: notPEM}:                "no PEM certificate",
		{Fingerprint: "sha256:12"}:  "VGPU_SERVER_FINGERPRINT",
	} {
		_, err := dial("tcp", "127.0.0.1:1", sec) // nothing listens there: the settings fail first
		require.Error(t, err)
		assert.Contains(t, err.Error(), want)
	}
}

// nonLoopback is an address of this host off loopback, where a listener can be reached.
func nonLoopback(t *testing.T) net.IP {
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP
		}
	}
	t.Skip("this host has no IPv4 address off loopback")
	return nil
}

// Without TLS settings a client never writes to a server off loopback: not the token, not
// a byte. The listener here records everything that reaches it.
func TestPlainTCPOffLoopbackIsRefusedBeforeAnyByteIsSent(t *testing.T) {
	ip := nonLoopback(t)
	ln := listen(t, net.JoinHostPort(ip.String(), "0"))
	received := make(chan []byte, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			received <- nil
			return
		}
		nc.SetReadDeadline(time.Now().Add(3 * time.Second))
		b, _ := io.ReadAll(nc)
		nc.Close()
		received <- b
	}()
	err := connectTo(ln.Addr().String(), Secure{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing to send the token in clear")
	assert.Contains(t, err.Error(), "VGPU_SERVER_FINGERPRINT")
	b := <-received
	assert.Empty(t, b, "bytes reached the server")
	assert.False(t, strings.Contains(string(b), secret))
}

func TestPlainTCPOnLoopbackStillWorks(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	got := fakeServer(t, ln, nil)
	require.NoError(t, connectTo(ln.Addr().String(), Secure{}))
	assert.Equal(t, secret, (<-got).(Hello).Token)
}
