package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strings"

	"vgpu/remote"
	"vgpu/server"
	"vgpu/shim"
	"vgpu/wire"
)

// serve runs the remote server over this process's device model (the sim backend; the
// device model comes from VGPU_CONFIG and VGPU_* as for any program).
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	listen := fs.String("listen", "", "unix:///path or tcp://host:port (host defaults to loopback)")
	backend := fs.String("backend", "sim", "sim, or local: the machine's GPUs through NVIDIA's driver")
	tokenFile := fs.String("token-file", "", "file holding the token clients must present (required for tcp)")
	metrics := fs.String("metrics", "", "host:port for a Prometheus /metrics endpoint")
	clientMem := fs.String("client-memory", "", "device memory each client may hold, e.g. 8GiB; clients see it as the device's total")
	deviceName := fs.String("device-name", "", "the device name clients see")
	inherited := fs.Int("fd", -1, "serve the one client on this inherited socket, then exit (VGPU_BACKEND=local's private server)")
	unixFlagValues := unixFlags(fs) // unixsock.go
	fs.Parse(args)
	var capBytes uint64
	if *clientMem != "" {
		var err error
		if capBytes, err = shim.ParseSize(*clientMem); err != nil || capBytes == 0 {
			return fmt.Errorf("--client-memory %q: want a size such as 8GiB", *clientMem)
		}
	}
	switch *backend {
	case "sim", "local":
		os.Setenv("VGPU_BACKEND", *backend) // the device model reads it when first built
	default:
		return fmt.Errorf("--backend %s: want sim or local", *backend)
	}
	if *inherited >= 0 {
		c, err := wire.NewFDConn(*inherited, 0)
		if err != nil {
			return err
		}
		return server.ServeOne(c, server.Options{ClientMemory: capBytes, DeviceName: *deviceName})
	}
	network, addr, err := remote.ParseAddr(*listen)
	if err != nil {
		return err
	}
	var token string
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return err
		}
		token = strings.TrimSpace(string(b))
	}
	remoteNet := network == "tcp" || network == "vsock" // across a machine boundary: the token is required
	if remoteNet && token == "" {
		return fmt.Errorf("a %s listener needs --token-file", network)
	}
	if network == "tcp" {
		if strings.HasPrefix(addr, ":") {
			addr = "127.0.0.1" + addr // loopback unless told otherwise
		}
	}
	var unixOpts unixOptions
	if network == "unix" {
		if unixOpts, err = unixFlagValues.parse(); err != nil {
			return err
		}
	}
	if st := shim.S(); st.Err != nil {
		return st.Err // no devices: say so before listening
	}
	opts := server.Options{Token: token, RequireToken: remoteNet, ClientMemory: capBytes, DeviceName: *deviceName}
	var ln server.Listener
	if network == "vsock" {
		ln, err = wire.ListenVsock(addr)
	} else if network == "unix" {
		var done func()
		if ln, done, err = listenUnix(addr, unixOpts); err == nil {
			defer done()
		}
	} else {
		var nl net.Listener
		nl, err = net.Listen(network, addr)
		ln = server.NetListener(nl)
	}
	if err != nil {
		return err
	}
	if *metrics != "" {
		go func() {
			if err := server.ServeMetrics(*metrics); err != nil {
				fmt.Fprintln(os.Stderr, "vgpu serve: metrics:", err)
			}
		}()
	}
	fmt.Fprintf(os.Stderr, "vgpu serve: listening on %s\n", *listen)
	return server.Serve(ln, opts)
}
