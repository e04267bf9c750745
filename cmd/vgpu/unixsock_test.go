package main

import (
	"flag"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The test binary doubles as `vgpu serve` (VGPU_TEST_SERVE holds its arguments), so the
// signal tests stop the real command.
func TestMain(m *testing.M) {
	if args := os.Getenv("VGPU_TEST_SERVE"); args != "" {
		if err := serve(strings.Fields(args)); err != nil {
			os.Stderr.WriteString("vgpu serve: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func options(t *testing.T, args ...string) unixOptions {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	v := unixFlags(fs)
	require.NoError(t, fs.Parse(args))
	o, err := v.parse()
	require.NoError(t, err)
	return o
}

func listen(t *testing.T, path string, args ...string) func() {
	_, done, err := listenUnix(path, options(t, args...))
	require.NoError(t, err)
	return done
}

// staleSocket leaves a socket file nothing listens on, as a killed server does.
func staleSocket(t *testing.T, path string) {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	l.SetUnlinkOnClose(false)
	l.Close()
}

func inode(t *testing.T, path string) uint64 {
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(path, &st))
	return st.Ino
}

func mode(t *testing.T, path string) os.FileMode {
	st, err := os.Lstat(path)
	require.NoError(t, err)
	return st.Mode()
}

func TestAStaleSocketIsReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	staleSocket(t, path)
	done := listen(t, path)
	defer done()
	c, err := net.Dial("unix", path)
	require.NoError(t, err, "the new server answers")
	c.Close()
}

func TestALiveSocketIsAnErrorAndKeepsItsServer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	done := listen(t, path)
	defer done()
	before := inode(t, path)
	_, _, err := listenUnix(path, options(t))
	require.ErrorContains(t, err, "another server is listening on "+path)
	require.Equal(t, before, inode(t, path))
	c, err := net.Dial("unix", path)
	require.NoError(t, err, "the first server still answers")
	c.Close()
}

func TestAnythingButASocketIsAnErrorAndLeftAlone(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale")
	staleSocket(t, stale)
	cases := map[string]struct {
		make func(path string) error
		kind string
	}{
		"regular file": {func(p string) error { return os.WriteFile(p, []byte("keep me"), 0o644) }, "a regular file"},
		"empty file":   {func(p string) error { return os.WriteFile(p, nil, 0o644) }, "a regular file"},
		"directory":    {func(p string) error { return os.Mkdir(p, 0o755) }, "a directory"},
		// Even to a stale socket: the link is not the server's to replace.
		"symlink": {func(p string) error { return os.Symlink(stale, p) }, "a symlink"},
	}
	for name, c := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		require.NoError(t, c.make(path))
		before, err := os.Lstat(path)
		require.NoError(t, err)
		_, _, err = listenUnix(path, options(t))
		require.ErrorContains(t, err, path+" exists and is "+c.kind, name)
		after, err := os.Lstat(path)
		require.NoError(t, err, name)
		require.True(t, os.SameFile(before, after), name)
		require.Equal(t, before.Mode(), after.Mode(), name)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "regular-file"))
	require.Equal(t, "keep me", string(b))
	require.Equal(t, os.ModeSocket, mode(t, stale)&os.ModeType, "the symlink's target")
}

func TestAnAbstractSocketIsRefused(t *testing.T) {
	_, _, err := listenUnix("@vgpu-test", options(t))
	require.ErrorContains(t, err, "abstract socket")
}

func TestTheSocketGetsItsModeAndGroup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "default")
	done := listen(t, path)
	require.Equal(t, os.FileMode(0o660), mode(t, path).Perm(), "the default: the server's user and group")
	done()
	// A group this process may give a file: any as root, else its own.
	gid := os.Getgid()
	if os.Geteuid() == 0 {
		gid = 4242
	}
	path = filepath.Join(dir, "narrow")
	umask := syscall.Umask(0)
	syscall.Umask(umask)
	done = listen(t, path, "--socket-mode", "0600", "--socket-group", itoa(gid))
	defer done()
	require.Equal(t, os.FileMode(0o600), mode(t, path).Perm())
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(path, &st))
	require.Equal(t, uint32(gid), st.Gid)
	after := syscall.Umask(umask)
	require.Equal(t, umask, after, "the umask is restored after the socket is created")
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestBadSocketFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--socket-mode", "0999"}, {"--socket-mode", "1777"}, {"--socket-mode", "rw"},
		{"--socket-group", "no-such-group-vgpu"}, {"--allow-uid", "no-such-user-vgpu"}, {"--allow-gid", "1,,2"},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		v := unixFlags(fs)
		require.NoError(t, fs.Parse(args))
		_, err := v.parse()
		require.Error(t, err, args)
		require.Contains(t, err.Error(), args[0], "the message names the flag")
	}
}

func TestDoneRemovesOnlyItsOwnSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	done := listen(t, path)
	done()
	_, err := os.Lstat(path)
	require.True(t, os.IsNotExist(err), "removed when the server returns")
	// A socket that took the path's place meanwhile is another server's.
	done = listen(t, path)
	require.NoError(t, os.Remove(path))
	staleSocket(t, path) // often with the same inode number
	other, err := os.Lstat(path)
	require.NoError(t, err)
	done()
	now, err := os.Lstat(path)
	require.NoError(t, err, "another server's socket was removed")
	require.True(t, os.SameFile(other, now))
}

func TestAllowListsAdmitOnlyTheNamed(t *testing.T) {
	self := uint32(os.Geteuid())
	stranger := self + 1000
	open := &unixListener{o: options(t), self: self}
	require.True(t, open.admits(&unix.Ucred{Uid: stranger, Gid: stranger}, nil), "no list: the file's permissions decide")
	l := &unixListener{o: options(t, "--allow-uid", itoa(int(stranger+1)), "--allow-gid", "5000"), self: self}
	require.False(t, l.admits(&unix.Ucred{Uid: stranger, Gid: stranger}, []uint32{stranger, 7}))
	require.True(t, l.admits(&unix.Ucred{Uid: stranger + 1, Gid: stranger}, nil), "a listed user")
	require.True(t, l.admits(&unix.Ucred{Uid: stranger, Gid: 5000}, nil), "a listed primary group")
	require.True(t, l.admits(&unix.Ucred{Uid: stranger, Gid: stranger}, []uint32{7, 5000}), "a listed supplementary group")
	require.True(t, l.admits(&unix.Ucred{Uid: self, Gid: stranger}, nil), "the server's own user")
	require.True(t, l.admits(&unix.Ucred{Uid: 0, Gid: stranger}, nil), "root")
}

// The connecting process's credentials are what the kernel says, whatever it claims.
func TestPeerCredentialsComeFromTheKernel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, done, err := listenUnix(path, options(t))
	require.NoError(t, err)
	defer done()
	go func() {
		if c, err := net.Dial("unix", path); err == nil {
			time.Sleep(time.Second)
			c.Close()
		}
	}()
	c, peer, err := ln.Accept()
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, "unix pid="+itoa(os.Getpid())+" uid="+itoa(os.Geteuid())+" gid="+itoa(os.Getegid()), peer)
}

// The real command, stopped by SIGTERM or SIGINT, removes its socket and dies of the signal.
func TestServeRemovesItsSocketOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		path := filepath.Join(t.TempDir(), "s")
		cmd, out := serveCommand(t, path, "VGPU_TEST_SERVE=--listen unix://"+path+" --socket-mode 0600")
		require.Equal(t, os.FileMode(0o600), mode(t, path).Perm())
		require.NoError(t, cmd.Process.Signal(sig))
		err := cmd.Wait()
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		require.True(t, ws.Signaled() && ws.Signal() == sig, "ended by %v: %v %s", sig, err, out.String())
		_, err = os.Lstat(path)
		require.True(t, os.IsNotExist(err), "socket left behind after %v", sig)
	}
}

// VGPU_CPUPROFILE's profile is written when the server is stopped by a signal too (a server
// answering clients in threads is only ever stopped so), and the socket is still removed.
func TestAServerStoppedBySignalWritesItsCPUProfile(t *testing.T) {
	path, dir := filepath.Join(t.TempDir(), "s"), t.TempDir()
	cmd, out := serveCommand(t, path, "VGPU_TEST_SERVE=--listen unix://"+path, "VGPU_CPUPROFILE="+dir)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	cmd.Wait()
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGTERM, "it still dies of the signal: %s", out.String())
	profiles, err := filepath.Glob(filepath.Join(dir, "serve-*.prof"))
	require.NoError(t, err)
	require.Len(t, profiles, 1)
	fi, err := os.Stat(profiles[0])
	require.NoError(t, err)
	require.NotZero(t, fi.Size(), "the profile was written out")
	_, err = os.Lstat(path)
	require.True(t, os.IsNotExist(err), "socket left behind")
}

// serveCommand starts this test binary as `vgpu serve` (VGPU_TEST_SERVE in env) and returns
// once it listens on the unix socket path, with its stderr.
func serveCommand(t *testing.T, path string, env ...string) (*exec.Cmd, *strings.Builder) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	out := &strings.Builder{}
	cmd.Stderr = out
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return cmd, out
		}
		require.True(t, time.Now().Before(deadline), "the server never listened: %s", out.String())
		time.Sleep(20 * time.Millisecond)
	}
}
