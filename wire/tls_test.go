package wire

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// testCert is a throwaway self-signed certificate for 127.0.0.1.
func testCert(t *testing.T) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// socketPair is two FDConns joined by a unix stream socket, with the given timeouts.
func socketPair(t *testing.T, timeout time.Duration) (*FDConn, *FDConn) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	a, err := NewFDConn(fds[0], timeout)
	require.NoError(t, err)
	b, err := NewFDConn(fds[1], timeout)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func tlsPair(t *testing.T) (client, server *TLSConn) {
	cert := testCert(t)
	ca, sa := socketPair(t, 5*time.Second)
	type res struct {
		c   *TLSConn
		err error
	}
	done := make(chan res, 1)
	go func() {
		c, err := TLSServer(sa, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}}, time.Now().Add(5*time.Second))
		done <- res{c, err}
	}()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	client, err := TLSClient(ca, &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: "127.0.0.1"}, time.Now().Add(5*time.Second))
	require.NoError(t, err)
	r := <-done
	require.NoError(t, r.err)
	return client, r.c
}

func TestTLSCarriesFramesBothWays(t *testing.T) {
	client, server := tlsPair(t)
	big := bytes.Repeat([]byte{0xab}, 3<<20) // many TLS records
	go func() {
		client.Writev(AppendHeader(nil, Header{Kind: KindRequest, Op: 7, Seq: 1}, len(big)), big)
		client.Write(mustFrame(t, Header{Kind: KindRequest, Op: 8, Seq: 2}, []byte("small")))
	}()
	h, p, err := ReadFrame(server)
	require.NoError(t, err)
	assert.Equal(t, uint32(7), h.Op)
	assert.True(t, bytes.Equal(big, p), "a 3 MiB payload arrives intact")
	h, p, err = ReadFrame(server)
	require.NoError(t, err)
	assert.Equal(t, uint32(8), h.Op)
	assert.Equal(t, "small", string(p))
	require.NoError(t, server.TrySend(mustFrame(t, Header{Kind: KindBusy}, nil)))
	require.NoError(t, server.Writev(AppendHeader(nil, Header{Kind: KindResponse, Seq: 2}, 2), []byte("ok")))
	h, _, err = ReadFrame(client)
	require.NoError(t, err)
	assert.True(t, h.Kind == KindBusy, "TrySend's frame arrives whole, before what follows")
	h, p, err = ReadFrame(client)
	require.NoError(t, err)
	assert.Equal(t, "ok", string(p))
	assert.Equal(t, uint32(2), h.Seq)
}

func mustFrame(t *testing.T, h Header, p []byte) []byte {
	b, err := AppendFrame(nil, h, p)
	require.NoError(t, err)
	return b
}

func TestTLSPeerSpokeSeesEncryptedBytesArrive(t *testing.T) {
	client, server := tlsPair(t)
	server.PeerSpoke() // reset
	assert.False(t, server.PeerSpoke(), "nothing sent yet")
	_, err := client.Write([]byte("x"))
	require.NoError(t, err)
	time.Sleep(20 * time.Millisecond)
	assert.True(t, server.PeerSpoke())
}

// A client that connects and sends nothing, or trickles a byte at a time, cannot hold a
// server's handshake past its deadline; and the socket stays the caller's (server.go closes it).
func TestTLSServerHandshakeEndsByItsDeadline(t *testing.T) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{testCert(t)}}
	for _, trickle := range []bool{false, true} {
		peer, sa := socketPair(t, 0) // the server's socket has no timeout of its own, as accepted ones
		stop := make(chan struct{})
		if trickle {
			go func() {
				hello := []byte{0x16, 0x03, 0x01, 0x02, 0x00} // a ClientHello record header, promising 512 bytes
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					case <-time.After(50 * time.Millisecond):
					}
					b := []byte{0x01}
					if i < len(hello) {
						b = hello[i : i+1]
					}
					if _, err := unix.Write(peer.fd, b); err != nil {
						return
					}
				}
			}()
		}
		t0 := time.Now()
		_, err := TLSServer(sa, cfg, time.Now().Add(300*time.Millisecond))
		close(stop)
		require.Error(t, err, "trickle=%v", trickle)
		assert.Less(t, time.Since(t0), 2*time.Second, "trickle=%v: the deadline bounds the whole handshake", trickle)
		_, err = unix.FcntlInt(uintptr(sa.fd), unix.F_GETFD, 0)
		assert.NoError(t, err, "the server's socket is still open for its owner to close")
		tv, err := unix.GetsockoptTimeval(sa.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO)
		require.NoError(t, err)
		assert.Zero(t, tv.Sec+tv.Usec, "the socket's own (absent) timeout is restored")
	}
}

// After a handshake the socket's own timeouts (the client's call timeout) apply again.
func TestTLSRestoresTheSocketTimeouts(t *testing.T) {
	client, _ := tlsPair(t)
	fc := client.raw.c.(*FDConn)
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		tv, err := unix.GetsockoptTimeval(fc.fd, unix.SOL_SOCKET, opt)
		require.NoError(t, err)
		assert.Equal(t, int64(5), tv.Sec)
	}
}

func TestTLSRefusesVersionsBelow13(t *testing.T) {
	ca, sa := socketPair(t, 2*time.Second)
	go TLSServer(sa, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{testCert(t)}}, time.Now().Add(2*time.Second))
	_, err := TLSClient(ca, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}, time.Now().Add(2*time.Second))
	assert.Error(t, err)
}

func TestFingerprintsParseAsPrinted(t *testing.T) {
	fp := Fingerprint([]byte("certificate"))
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, fp)
	for _, in := range []string{fp, fp[len("sha256:"):], "SHA256:" + string(bytes.ToUpper([]byte(fp[7:])))} {
		got, err := ParseFingerprint(in)
		require.NoError(t, err, in)
		assert.Equal(t, fp, got)
	}
	for _, bad := range []string{"", "sha256:", "sha256:abcd", "md5:" + fp[7:], fp + "00"} {
		_, err := ParseFingerprint(bad)
		assert.Error(t, err, bad)
	}
}
