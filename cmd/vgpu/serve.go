package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"vgpu/local"
	"vgpu/remote"
	"vgpu/server"
	"vgpu/shim"
	"vgpu/wire"
)

// serve runs the remote server over this process's device model (the sim backend; the
// device model comes from VGPU_CONFIG and VGPU_* as for any program).
//
// Across hosts a tcp:// listener is TLS 1.3: --tls-cert/--tls-key, or --tls-dir where vgpu
// makes a self-signed pair once and keeps it; clients pin its fingerprint. Plain TCP is for
// loopback only (a listener bound elsewhere without TLS does not start). vsock stays plain
// unless TLS flags are given: it joins a VM and its host, with no network between.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	listen := fs.String("listen", "", "unix:///path, tcp://host:port (host defaults to loopback) or vsock://cid:port")
	backend := fs.String("backend", "sim", "sim, or local: the machine's GPUs through NVIDIA's driver")
	tokenFile := fs.String("token-file", "", "file (mode 600) holding the token clients must present (required for tcp and vsock)")
	var tf tlsFiles
	fs.StringVar(&tf.cert, "tls-cert", "", "PEM certificate (chain) for TLS on tcp://; with --tls-key")
	fs.StringVar(&tf.key, "tls-key", "", "PEM private key (mode 600) for --tls-cert")
	fs.StringVar(&tf.dir, "tls-dir", "", "directory where vgpu makes (once) and keeps a self-signed certificate and key for TLS")
	printFP := fs.Bool("print-fingerprint", false, "print the TLS certificate's fingerprint (making it first with --tls-dir) and exit")
	metrics := fs.String("metrics", "", "host:port for a Prometheus /metrics endpoint (a bare :port is loopback's)")
	metricsPIDs := fs.Bool("metrics-pids", false, "label each client's metrics with its process id")
	metricsToken := fs.String("metrics-token-file", "", "file (mode 600) holding a token /metrics requests must bear (Authorization: Bearer)")
	clientMem := fs.String("client-memory", "", "device memory each client may hold, e.g. 8GiB; clients see it as the device's total")
	deviceName := fs.String("device-name", "", "the device name clients see")
	inherited := fs.Int("fd", -1, "serve the one client on this inherited socket, then exit (VGPU_BACKEND=local's private server)")
	isolation := fs.String("isolation", "", "process: each client is answered by a worker process of its own; thread: by a thread of this process (default: process for --backend local, thread for sim)")
	worker := fs.Bool("worker", false, "with --fd: serve a client a dispatching server authenticated (internal: how --isolation process starts its workers)")
	warm := fs.Int("warm-workers", 1, "--isolation process: workers kept started and initialised ahead of clients (each holds a CUDA context)")
	unixFlagValues := unixFlags(fs) // unixsock.go
	shmFiles := map[string]string{}
	fs.Func("shm-file", "NAME=PATH (repeatable): a memory file on this host (tmpfs or hugetlbfs, e.g. a VM's ivshmem backing file) a client may use as its window by NAME; one client at a time, proven by a nonce it writes there", func(v string) error {
		name, path, ok := server.ParseShmFile(v)
		if !ok {
			return fmt.Errorf("want NAME=/absolute/path, NAME of letters, digits, '-', '_', '.' (at most 64)")
		}
		if _, dup := shmFiles[name]; dup {
			return fmt.Errorf("%s declared twice", name)
		}
		shmFiles[name] = path
		return nil
	})
	fs.Parse(args)
	if stop := cpuProfile(); stop != nil {
		defer stop()
	}
	var capBytes uint64
	if *clientMem != "" {
		var err error
		if capBytes, err = shim.ParseSize(*clientMem); err != nil {
			return fmt.Errorf("--client-memory: %w", err)
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
		o := server.Options{ClientMemory: capBytes, DeviceName: *deviceName, ShmFiles: shmFiles}
		if *worker {
			return server.ServeWorker(c, o)
		}
		return server.ServeOne(c, o)
	}
	if *worker {
		return fmt.Errorf("--worker needs --fd")
	}
	if *isolation == "" {
		*isolation = map[string]string{"local": "process", "sim": "thread"}[*backend]
	}
	var workerArgs []string
	switch *isolation {
	case "thread":
	case "process":
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("--isolation process: cannot find this program: %w", err)
		}
		workerArgs = []string{exe, "serve", "--worker", "--fd", "3", "--backend", *backend}
		if *clientMem != "" {
			workerArgs = append(workerArgs, "--client-memory", *clientMem)
		}
		if *deviceName != "" {
			workerArgs = append(workerArgs, "--device-name", *deviceName)
		}
		for name, path := range shmFiles { // a worker maps its client's file itself
			workerArgs = append(workerArgs, "--shm-file", name+"="+path)
		}
		local.DescribeOnly = true // this process only describes the devices; workers use them
	default:
		return fmt.Errorf("--isolation %s: want process or thread", *isolation)
	}
	network, addr, err := remote.ParseAddr(*listen)
	if err != nil {
		return err
	}
	if network == "tcp" && strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr // loopback unless told otherwise
	}
	var tlsCfg *tls.Config
	if tf.on() {
		if network == "unix" {
			return fmt.Errorf("TLS is for tcp:// and vsock:// listeners; a unix socket's peers are on this host")
		}
		host := "" // a vsock CID names no certificate
		if network == "tcp" {
			host, _, _ = net.SplitHostPort(addr)
		}
		var leaf *x509.Certificate
		if tlsCfg, leaf, err = serverTLS(tf, host); err != nil {
			return err
		}
		if *printFP {
			fmt.Println(wire.Fingerprint(leaf.Raw))
			return nil
		}
		fmt.Fprintf(os.Stderr, "vgpu serve: %s\n", describe(leaf))
	} else if *printFP {
		return fmt.Errorf("--print-fingerprint needs --tls-dir or --tls-cert/--tls-key")
	}
	var token string
	if *tokenFile != "" {
		if token, err = readSecret(*tokenFile); err != nil {
			return err
		}
	}
	remoteNet := network == "tcp" || network == "vsock" // across a machine boundary: the token is required
	if remoteNet && token == "" {
		return fmt.Errorf("a %s listener needs --token-file", network)
	}
	mo := server.MetricsOptions{PIDs: *metricsPIDs}
	if *metricsToken != "" {
		if *metrics == "" {
			return fmt.Errorf("--metrics-token-file without --metrics")
		}
		if mo.Token, err = readSecret(*metricsToken); err != nil {
			return err
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
	opts := server.Options{Token: token, RequireToken: remoteNet, ClientMemory: capBytes, DeviceName: *deviceName, Worker: workerArgs, WarmWorkers: *warm, ShmFiles: shmFiles}
	if tlsCfg != nil {
		opts.Upgrade = func(c wire.Conn, deadline time.Time) (wire.Conn, error) {
			return wire.TLSServer(c, tlsCfg, deadline)
		}
	}
	if *metrics != "" { // bound before serving: a metrics address taken stops the server here
		ma, err := server.ListenMetrics(*metrics, mo)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "vgpu serve: metrics on http://%s/metrics\n", ma)
	}
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
		if err == nil && network == "tcp" && tlsCfg == nil {
			if a, ok := nl.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
				nl.Close()
				return fmt.Errorf("%s binds %s, which is not loopback: tokens would cross the network in clear; "+
					"add --tls-dir DIR (vgpu makes and keeps a certificate there) or --tls-cert FILE --tls-key FILE", *listen, nl.Addr())
			}
		}
		ln = server.NetListener(nl)
	}
	if err != nil {
		return err
	}
	secured := ""
	if tlsCfg != nil {
		secured = " (TLS 1.3)"
	}
	fmt.Fprintf(os.Stderr, "vgpu serve: listening on %s%s, each client in a %s of this server's\n", *listen, secured,
		map[string]string{"process": "worker process", "thread": "thread"}[*isolation])
	return server.Serve(ln, opts)
}

// cpuProfile starts a CPU profile of this process when VGPU_CPUPROFILE names a directory
// (a measurement aid: where a server's time goes on a GPU host, which has no profiler of
// its own); each process, a worker too, writes DIR/serve-PID.prof when it returns or is
// stopped by SIGTERM or SIGINT.
func cpuProfile() (stop func()) {
	dir := os.Getenv("VGPU_CPUPROFILE")
	if dir == "" {
		return nil
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("serve-%d.prof", os.Getpid())))
	if err != nil {
		fmt.Fprintf(os.Stderr, "vgpu serve: VGPU_CPUPROFILE: %v\n", err)
		return nil
	}
	// 1 kHz, not pprof's 100 Hz: a benchmark's seconds then give enough samples per launch
	// (StartCPUProfile then warns once on stderr that the rate was set already).
	runtime.SetCPUProfileRate(1000)
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintf(os.Stderr, "vgpu serve: VGPU_CPUPROFILE: %v\n", err)
		return nil
	}
	var once sync.Once
	stop = func() { once.Do(func() { pprof.StopCPUProfile(); f.Close() }) }
	atFatalSignal(stop) // a server stopped by a signal (as a thread-isolation server is) writes it too
	return stop
}
