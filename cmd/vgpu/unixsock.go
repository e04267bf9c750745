package main

// `vgpu serve --listen unix://PATH`: the socket file and who may connect through it.
//
// Who may connect: anyone who can open the socket file, that is, who has write permission
// on it (and search permission on the directories above it). The file is created owner-only
// and then given --socket-mode (default 0660: the server's user and the file's group) and
// --socket-group, so no moment exists when it is wider than asked. --allow-uid/--allow-gid
// narrow that further at accept, from the credentials the kernel recorded at connect
// (SO_PEERCRED, SO_PEERGROUPS): with either set, only the listed users, members of the
// listed groups (primary or supplementary), the server's own user and root are served;
// anyone else's connection is closed before a byte is read. Every client's pid, uid and
// gid are in the server's log lines about it.
//
// The path: only a stale socket (one nothing answers on: connect is refused) is replaced.
// A live socket means another server is listening there, and anything else at the path (a
// regular file, a directory, a symlink) is not this server's to delete: both are errors and
// the path is left as it was. The socket is removed when the server returns or is stopped
// by SIGTERM or SIGINT, if it is still the one this server created.

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"vgpu/server"
	"vgpu/wire"
)

type unixFlagValues struct {
	mode, group, allowUID, allowGID *string
}

// unixFlags registers the unix socket's flags on fs.
func unixFlags(fs *flag.FlagSet) unixFlagValues {
	return unixFlagValues{
		mode:     fs.String("socket-mode", "0660", "unix socket: the socket file's permissions, octal; whoever may write it may connect"),
		group:    fs.String("socket-group", "", "unix socket: the socket file's group, a name or a number (with --socket-mode 0660, its members may connect)"),
		allowUID: fs.String("allow-uid", "", "unix socket: serve only these users (comma-separated names or uids), the server's own user and root"),
		allowGID: fs.String("allow-gid", "", "unix socket: serve only members of these groups (comma-separated names or gids), besides --allow-uid's users"),
	}
}

// unixOptions are the parsed flags.
type unixOptions struct {
	mode     os.FileMode
	gid      int // -1: the server's
	allowUID map[uint32]bool
	allowGID map[uint32]bool
}

func (f unixFlagValues) parse() (unixOptions, error) {
	o := unixOptions{gid: -1}
	m, err := strconv.ParseUint(*f.mode, 8, 32)
	if err != nil || m > 0o777 {
		return o, fmt.Errorf("--socket-mode %q: want octal permissions such as 0660", *f.mode)
	}
	o.mode = os.FileMode(m)
	if *f.group != "" {
		g, err := lookupID(*f.group, false)
		if err != nil {
			return o, fmt.Errorf("--socket-group %q: %w", *f.group, err)
		}
		o.gid = int(g)
	}
	for _, l := range []struct {
		flag, v string
		group   bool
		into    *map[uint32]bool
	}{{"--allow-uid", *f.allowUID, false, &o.allowUID}, {"--allow-gid", *f.allowGID, true, &o.allowGID}} {
		if l.v == "" {
			continue
		}
		*l.into = map[uint32]bool{}
		for _, s := range strings.Split(l.v, ",") {
			id, err := lookupID(strings.TrimSpace(s), l.group)
			if err != nil {
				return o, fmt.Errorf("%s %q: %w", l.flag, s, err)
			}
			(*l.into)[id] = true
		}
	}
	return o, nil
}

// lookupID reads a number, or a user's or group's name.
func lookupID(s string, group bool) (uint32, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n), nil
	}
	if s == "" {
		return 0, errors.New("want a name or a number")
	}
	var id string
	if group {
		g, err := user.LookupGroup(s)
		if err != nil {
			return 0, err
		}
		id = g.Gid
	} else {
		u, err := user.Lookup(s)
		if err != nil {
			return 0, err
		}
		id = u.Uid
	}
	n, err := strconv.ParseUint(id, 10, 32)
	return uint32(n), err
}

// listenUnix listens on path by the rules above. done removes the socket (if still ours)
// and stops watching for signals; call it when serving ends.
func listenUnix(path string, o unixOptions) (ln server.Listener, done func(), err error) {
	if strings.HasPrefix(path, "@") || path == "" {
		// An abstract socket has no file, so no permissions: anyone in the network namespace could connect.
		return nil, nil, fmt.Errorf("unix://%s: want a socket file's path (an abstract socket cannot be restricted)", path)
	}
	if err := clearStale(path); err != nil {
		return nil, nil, err
	}
	// The signal hook is in place before bind creates the socket: a client can connect as soon
	// as it exists, and a SIGTERM or SIGINT from then on must remove it. The hook waits while
	// the socket is being made, and removes only the one this server made (by inode).
	var (
		mu    sync.Mutex
		st    unix.Stat_t
		bound bool
		once  sync.Once
	)
	remove := func() {
		mu.Lock()
		defer mu.Unlock()
		if bound {
			once.Do(func() { removeIfSame(path, &st) })
		}
	}
	cancel := atFatalSignal(remove) // then the process dies of the signal, as it did before it handled one
	mu.Lock()
	nl, err := bindUnix(path, o, &st)
	bound = st.Ino != 0 // bind made it (whatever failed after)
	mu.Unlock()
	if err != nil {
		remove()
		cancel()
		return nil, nil, err
	}
	done = func() {
		cancel()
		nl.Close()
		remove()
	}
	return &unixListener{ln: nl, o: o, self: uint32(os.Geteuid())}, done, nil
}

// bindUnix creates the socket at path, owner-only from the moment bind creates it, then
// gives it the mode asked for; st is the socket as it is then (changed time included: an
// inode number is reused), or, where bind succeeded and something after it failed, as bind
// left it, with the listener closed.
func bindUnix(path string, o unixOptions, st *unix.Stat_t) (*net.UnixListener, error) {
	// (The umask is the process's: nothing else creates files while the server starts.)
	old := syscall.Umask(0o177)
	nl, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	nl.SetUnlinkOnClose(false) // by path: it could delete another server's socket
	if err := unix.Lstat(path, st); err != nil {
		nl.Close()
		*st = unix.Stat_t{}
		return nil, err
	}
	err = applyMode(path, st.Dev, st.Ino, o)
	if err == nil {
		err = unix.Lstat(path, st)
	}
	if err != nil {
		nl.Close()
		return nil, err
	}
	return nl, nil
}

// clearStale makes path free for a new socket: nothing there, or a socket nothing answers on
// (removed). Anything else is an error that leaves path as it is.
func clearStale(path string) error {
	var st unix.Stat_t
	err := unix.Lstat(path, &st)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("%s exists and is %s, not a socket: not replacing it", path, fileKind(st.Mode))
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("another server is listening on %s", path)
	}
	if !errors.Is(err, unix.ECONNREFUSED) {
		// Busy (a full backlog), or not ours to try: either way not known to be stale.
		return fmt.Errorf("another server may be listening on %s: %w", path, err)
	}
	removeIfSame(path, &st) // the stale socket, unless it was replaced meanwhile
	return nil
}

func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFLNK:
		return "a symlink"
	case unix.S_IFIFO:
		return "a named pipe"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "a device"
	}
	return "not a socket"
}

// removeIfSame removes path if it is still the socket was: the same inode, unchanged since
// (a socket created in its place may reuse the inode number, not the change time).
func removeIfSame(path string, was *unix.Stat_t) {
	var st unix.Stat_t
	if unix.Lstat(path, &st) == nil && st.Dev == was.Dev && st.Ino == was.Ino && st.Ctim == was.Ctim &&
		st.Mode&unix.S_IFMT == unix.S_IFSOCK {
		os.Remove(path)
	}
}

// applyMode gives the socket (dev, ino) its group and mode, through a descriptor of that
// very file: a path swapped for a symlink meanwhile cannot redirect either change.
func applyMode(path string, dev, ino uint64, o unixOptions) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Dev != dev || st.Ino != ino {
		return fmt.Errorf("%s was replaced while the server created it", path)
	}
	if o.gid >= 0 {
		if err := unix.Fchownat(fd, "", -1, o.gid, unix.AT_EMPTY_PATH); err != nil {
			return fmt.Errorf("--socket-group %d on %s: %w", o.gid, path, err)
		}
	}
	// chmod has no flag for a descriptor opened with O_PATH; its /proc link names the file.
	if err := unix.Chmod(fmt.Sprintf("/proc/self/fd/%d", fd), uint32(o.mode)); err != nil {
		return fmt.Errorf("--socket-mode %#o on %s: %w", o.mode, path, err)
	}
	return nil
}

// unixListener accepts clients on a unix socket, checking who they are.
type unixListener struct {
	ln   *net.UnixListener
	o    unixOptions
	self uint32
}

func (l *unixListener) Accept() (wire.Conn, string, error) {
	for {
		nc, err := l.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) || errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.ENOMEM) {
				time.Sleep(50 * time.Millisecond) // out of descriptors for now: the waiting client stays queued
				continue
			}
			return nil, "", err
		}
		cred, groups, err := peerCred(nc)
		if err != nil {
			nc.Close()
			continue
		}
		peer := fmt.Sprintf("unix pid=%d uid=%d gid=%d", cred.Pid, cred.Uid, cred.Gid)
		if !l.admits(cred, groups) {
			nc.Close()
			// A refused peer can retry in a loop: the server's rate limit keeps the log short.
			server.LogRefusal("refused: this user is not in --allow-uid or --allow-gid", "peer", peer)
			continue
		}
		c, err := wire.FromConn(nc, 0)
		if err != nil {
			continue
		}
		return c, peer, nil
	}
}

// admits applies --allow-uid and --allow-gid.
func (l *unixListener) admits(cred *unix.Ucred, groups []uint32) bool {
	if l.o.allowUID == nil && l.o.allowGID == nil {
		return true // the socket file's permissions decide
	}
	if cred.Uid == 0 || cred.Uid == l.self || l.o.allowUID[cred.Uid] || l.o.allowGID[cred.Gid] {
		return true
	}
	for _, g := range groups {
		if l.o.allowGID[g] {
			return true
		}
	}
	return false
}

// peerCred is the connecting process's credentials and supplementary groups, as the kernel
// recorded them at connect (groups empty where SO_PEERGROUPS is unknown).
func peerCred(nc *net.UnixConn) (cred *unix.Ucred, groups []uint32, err error) {
	rc, err := nc.SyscallConn()
	if err != nil {
		return nil, nil, err
	}
	cerr := rc.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		var buf [256]uint32
		n := uint32(len(buf) * 4)
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_PEERGROUPS,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
		if e == 0 {
			groups = append(groups, buf[:n/4]...)
		}
	})
	if cerr != nil {
		return nil, nil, cerr
	}
	return cred, groups, err
}
