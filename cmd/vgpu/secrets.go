package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"vgpu/wire"
)

// readSecret reads a token file as sshd reads a private key: refused when group or others
// may read it (a token anyone on the host can read protects nothing), and refused when it
// holds nothing but white space.
func readSecret(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if err := private(path, fi); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty", path)
	}
	return tok, nil
}

// private refuses a secret's file that group or others may read or write.
func private(path string, fi os.FileInfo) error {
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("permissions %#o for %s are too open: it is a secret; chmod 600 %s", perm, path, path)
	}
	return nil
}

// tlsFiles is where a server's certificate and key come from: files given, or a directory
// where vgpu keeps a self-signed pair it made.
type tlsFiles struct{ cert, key, dir string }

func (f tlsFiles) on() bool { return f.cert != "" || f.key != "" || f.dir != "" }

// serverTLS loads (or, for a directory, first makes) the server's certificate. host is the
// listen address's host: the certificate made names it, this machine's hostname and loopback.
func serverTLS(f tlsFiles, host string) (*tls.Config, *x509.Certificate, error) {
	var cert tls.Certificate
	var err error
	switch {
	case f.dir != "" && (f.cert != "" || f.key != ""):
		return nil, nil, fmt.Errorf("--tls-dir or --tls-cert/--tls-key, not both")
	case f.dir != "":
		cert, err = dirCert(f.dir, host)
	case f.cert == "" || f.key == "":
		return nil, nil, fmt.Errorf("--tls-cert and --tls-key go together")
	default:
		var fi os.FileInfo
		if fi, err = os.Stat(f.key); err == nil {
			err = private(f.key, fi)
		}
		if err == nil {
			cert, err = tls.LoadX509KeyPair(f.cert, f.key)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{
		MinVersion:             tls.VersionTLS13,
		Certificates:           []tls.Certificate{cert},
		SessionTicketsDisabled: true, // clients hold one long connection: resumption buys nothing
	}
	return cfg, leaf, nil
}

// dirCert is DIR/cert.pem and DIR/key.pem, made once (ECDSA P-256, self-signed, 20 years)
// and reused by every later start, so the fingerprint clients pin stays the same.
func dirCert(dir, host string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_, errC := os.Stat(certPath)
	ki, errK := os.Stat(keyPath)
	switch {
	case errC == nil && errK == nil:
		if err := private(keyPath, ki); err != nil {
			return tls.Certificate{}, err
		}
		return tls.LoadX509KeyPair(certPath, keyPath)
	case errors.Is(errC, os.ErrNotExist) && errors.Is(errK, os.ErrNotExist):
	case errC != nil && !errors.Is(errC, os.ErrNotExist):
		return tls.Certificate{}, errC
	case errK != nil && !errors.Is(errK, os.ErrNotExist):
		return tls.Certificate{}, errK
	default:
		return tls.Certificate{}, fmt.Errorf("--tls-dir %s holds one of cert.pem and key.pem without the other: restore it, or remove both to make a new pair (clients must then pin the new fingerprint)", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, err
	}
	certPEM, keyPEM, err := selfSigned(host)
	if err != nil {
		return tls.Certificate{}, err
	}
	// The key first, then the certificate: a start interrupted between them leaves a key
	// alone, which the next start refuses rather than silently replacing.
	if err := writeNew(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeNew(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// writeNew writes a file that must not exist yet, whole or not at all.
func writeNew(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vgpu-*") // made 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the link, only the temporary name goes
	err = tmp.Chmod(mode)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path) // fails if path appeared meanwhile: never overwrite
	}
	return err
}

// selfSigned makes a key and a certificate for this host.
func selfSigned(host string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	dns, ips := certNames(host)
	hostname, _ := os.Hostname()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "vgpu serve " + hostname},
		NotBefore:             now.Add(-time.Hour), // clocks of client hosts may lag
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dns,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

// certNames are the names a client may reach this server by: the listen host (every
// address of this machine when it is a wildcard), the hostname, and loopback.
func certNames(host string) (dns []string, ips []net.IP) {
	addIP := func(ip net.IP) {
		for _, have := range ips {
			if have.Equal(ip) {
				return
			}
		}
		ips = append(ips, ip)
	}
	addDNS := func(n string) {
		for _, have := range dns {
			if strings.EqualFold(have, n) {
				return
			}
		}
		dns = append(dns, n)
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		addIP(ip)
	} else if host != "" && ip == nil {
		addDNS(host)
	} else if addrs, err := net.InterfaceAddrs(); err == nil { // a wildcard: every address here
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
				addIP(n.IP)
			}
		}
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		addDNS(h)
	}
	addDNS("localhost")
	addIP(net.IPv4(127, 0, 0, 1))
	addIP(net.IPv6loopback)
	return dns, ips
}

// describe is what the server prints of its certificate: the fingerprint clients pin, and
// the names a client checking with VGPU_SERVER_CA may use.
func describe(leaf *x509.Certificate) string {
	names := append([]string{}, leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		names = append(names, ip.String())
	}
	return fmt.Sprintf("TLS certificate %s (names: %s; expires %s)", wire.Fingerprint(leaf.Raw), strings.Join(names, ", "), leaf.NotAfter.Format("2006-01-02"))
}
