package server

import (
	"crypto/subtle"
	"encoding/binary"
	"strings"

	"golang.org/x/sys/unix"

	"vgpu/shim"
	"vgpu/wire"
)

// A shared file: the window of a client that cannot pass a descriptor (a VM guest, whose
// region is an ivshmem BAR backed on this host by a file). The operator declares the files
// (Options.ShmFiles, `vgpu serve --shm-file NAME=PATH`); a client names one, never a path,
// and proves it maps that very file: it wrote a fresh nonce into the region's header and
// sends the same nonce with the request. Only a process that can write the region knows it.

// hugetlbfsMagic is statfs's f_type for hugetlbfs.
const hugetlbfsMagic = 0x958458f6

// shmFileRequest is OpShmFileAttach's payload, decoded.
type shmFileRequest struct {
	size  uint64
	nonce []byte
	name  string
}

// parseShmFileAttach decodes u64 size, the nonce, then the name.
func parseShmFileAttach(p []byte) (shmFileRequest, bool) {
	if len(p) < 8+wire.ShmNonceLen+1 || len(p) > 8+wire.ShmNonceLen+wire.MaxShmFileName {
		return shmFileRequest{}, false
	}
	r := shmFileRequest{size: binary.LittleEndian.Uint64(p), nonce: p[8 : 8+wire.ShmNonceLen],
		name: string(p[8+wire.ShmNonceLen:])}
	zero := make([]byte, wire.ShmNonceLen)
	if subtle.ConstantTimeCompare(r.nonce, zero) == 1 { // a wiped header's nonce proves nothing
		return shmFileRequest{}, false
	}
	if r.size < 4<<20 || r.size > 4<<30 || r.size%4096 != 0 {
		return shmFileRequest{}, false
	}
	return r, true
}

// nonceMatches reports whether the region's header holds the client's nonce, in constant time.
func nonceMatches(region, nonce []byte) bool {
	if len(region) < wire.ShmNonceOffset+wire.ShmNonceLen || len(nonce) != wire.ShmNonceLen {
		return false
	}
	return subtle.ConstantTimeCompare(region[wire.ShmNonceOffset:wire.ShmNonceOffset+wire.ShmNonceLen], nonce) == 1
}

// checkShmFile says why the file open on fd cannot be a client's window of size bytes, or "".
// Memory-backed only: tmpfs (/dev/shm) or hugetlbfs, whose pages QEMU shares with a guest;
// a disk file would have this server write a file system. A regular file of at least size
// bytes, not writable by every user (any local user could shrink it under the mapping).
func checkShmFile(fd int, size uint64) string {
	var fs unix.Statfs_t
	if unix.Fstatfs(fd, &fs) != nil || (fs.Type != unix.TMPFS_MAGIC && uint32(fs.Type) != hugetlbfsMagic) {
		return "not on tmpfs or hugetlbfs"
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return "not a regular file"
	}
	if st.Mode&0o002 != 0 {
		return "writable by every user"
	}
	if st.Size < 0 || uint64(st.Size) < size {
		return "smaller than the client says"
	}
	return ""
}

// attachFile maps the declared file the client names, once the nonce proves it is the
// client's. One file serves one client at a time: an exclusive flock, held while attached,
// which other sessions and worker processes (each opening the file itself) also meet.
func (w *shmWindow) attachFile(files map[string]string, p []byte, log *shim.Logger) []byte {
	refuse := func(why string, kv ...any) { log.Infow("shared file refused: "+why, kv...) }
	r, ok := parseShmFileAttach(p)
	if !ok || w.b != nil {
		refuse("malformed request or a window already attached")
		return reply(shim.ErrInvalidValue)
	}
	path, ok := files[r.name]
	if !ok {
		refuse("no shared file of that name", "name", r.name)
		return reply(shim.ErrInvalidValue)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		refuse("cannot open the declared file", "name", r.name, "err", err)
		return reply(shim.ErrNotSupported)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		refuse("the file serves another client", "name", r.name)
		return reply(shim.ErrInvalidValue)
	}
	if why := checkShmFile(fd, r.size); why != "" {
		unix.Close(fd)
		refuse(why, "name", r.name, "size", r.size)
		return reply(shim.ErrInvalidValue)
	}
	b, err := unix.Mmap(fd, 0, int(r.size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		refuse("cannot map the file", "name", r.name, "err", err)
		return reply(shim.ErrNotSupported)
	}
	if !nonceMatches(b, r.nonce) {
		unix.Munmap(b)
		unix.Close(fd)
		refuse("the region does not hold the client's nonce", "name", r.name)
		return reply(shim.ErrInvalidValue)
	}
	clear(b[wire.ShmNonceOffset : wire.ShmNonceOffset+wire.ShmNonceLen]) // single use
	half := (len(b) - shmHeader) / 2
	w.b, w.ring, w.download, w.fd, w.file = b, b[shmHeader:shmHeader+half], b[shmHeader+half:], fd, true
	w.pinned = pin(b)
	log.Infow("shared file attached: the client's bulk copies go through it", "name", r.name, "bytes", r.size)
	return reply(shim.OK)
}

// ParseShmFile reads `NAME=PATH` (--shm-file): NAME is what a client sends, PATH an absolute path.
func ParseShmFile(s string) (name, path string, ok bool) {
	name, path, ok = strings.Cut(s, "=")
	if !ok || name == "" || len(name) > wire.MaxShmFileName || !strings.HasPrefix(path, "/") {
		return "", "", false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", "", false
		}
	}
	return name, path, true
}

// attachRings maps rings the client laid out in its shared file, after the window
// (OpRingAttach with u64 size, u64 offset and no descriptor): a VM guest's frames then
// cross the file too, and its control connection (TCP, vsock) carries only doorbells. The
// rings must lie past the window, inside the file this session holds.
func (w *shmWindow) attachRings(c wire.Conn, p []byte) (resp []byte, rc *wire.RingConn, region []byte) {
	fc, ok := c.(*wire.FDConn) // not a TLS session: its bytes must stay inside TLS
	if !ok || !w.file || len(p) != 16 {
		return reply(shim.ErrInvalidValue), nil, nil
	}
	size, off := binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint64(p[8:])
	if wire.RingSizeOf(size) == 0 || !w.pastWindow(off, size) {
		return reply(shim.ErrInvalidValue), nil, nil
	}
	b, err := unix.Mmap(w.fd, int64(off), int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return reply(shim.ErrNotSupported), nil, nil
	}
	if rc, err = wire.NewRingConn(fc, b, true, wire.SpinWait()); err != nil {
		unix.Munmap(b)
		return reply(shim.ErrInvalidValue), nil, nil
	}
	return reply(shim.OK), rc, b
}

// pastWindow reports whether size bytes at off are a page-aligned range of the client's
// shared file past its window (whose header this server writes) and inside the file as it is
// now: where the client may lay its rings and its pinned memory. size is at most 64 GiB.
func (w *shmWindow) pastWindow(off, size uint64) bool {
	var st unix.Stat_t
	return w.file && off%4096 == 0 && off >= uint64(len(w.b)) && off <= 1<<40 &&
		unix.Fstat(w.fd, &st) == nil && st.Size >= 0 && uint64(st.Size) >= off+size
}
