package nvml

import (
	"os"
	"sync"
	"unsafe"

	"vgpu/shim"
)

// More of NVML's return codes (nvmlReturn_t).
const (
	NoPermission Return = 4
	NoData       Return = 21
	InvalidState Return = 29
)

func init() {
	descriptions[NoPermission] = "Insufficient Permissions"
	descriptions[NoData] = "No data"
	descriptions[InvalidState] = "Invalid state"
	descriptions[Timeout] = "Timeout"
}

// dev resolves a device handle and checks that no output pointer is NULL, in the order NVML
// checks them: initialised, then the handle, then the pointers.
func dev(h uintptr, ptrs ...unsafe.Pointer) (*shim.Device, Return) {
	d, r := device(h)
	if r != Success {
		return nil, r
	}
	for _, p := range ptrs {
		if p == nil {
			return nil, InvalidArgument
		}
	}
	return d, Success
}

// nonNil checks that NVML is initialised and that no pointer is NULL.
func nonNil(ptrs ...unsafe.Pointer) Return {
	if r := ready(); r != Success {
		return r
	}
	for _, p := range ptrs {
		if p == nil {
			return InvalidArgument
		}
	}
	return Success
}

func w32(p unsafe.Pointer, v uint32) { *(*uint32)(p) = v }
func w64(p unsafe.Pointer, v uint64) { *(*uint64)(p) = v }
func r32(p unsafe.Pointer) uint32    { return *(*uint32)(p) }

// zeroed is n bytes at p, cleared.
func zeroed(p unsafe.Pointer, n int) []byte {
	b := shim.View(p, n)
	clear(b)
	return b
}

// b2u is 1 for true, NVML's enabled state.
func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// settings are what a privileged caller may change on a device. Real NVML lets only root
// change them; vgpu lets a root program in its own process do so (the sim device is its
// own), and never a server's client: one tenant's setting would change every tenant's GPU.
type settings struct {
	mu          sync.Mutex
	persistence uint32
	computeMode uint32
	powerLimit  uint32 // mW; 0: the default
	appClocks   [2]uint32
	gpuLocked   [2]uint32 // min, max MHz; 0: not locked
	memLocked   [2]uint32
	accounting  uint32
	eccPending  uint32
	restricted  uint32 // NVML_RESTRICTED_API_SET_APPLICATION_CLOCKS
	gpmStream   uint32
}

var (
	settingsMu sync.Mutex
	settingsOf = map[*shim.Device]*settings{}
)

func stateOf(d *shim.Device) *settings {
	settingsMu.Lock()
	defer settingsMu.Unlock()
	s := settingsOf[d]
	if s == nil {
		s = &settings{persistence: 1, eccPending: b2u(d.Profile.ECC), restricted: 1}
		settingsOf[d] = s
	}
	return s
}

// privileged says whether the caller may change device settings (see settings).
var privileged = func() bool { return os.Geteuid() == 0 && shim.CallerOwner() == 0 }

// change runs f on the device's settings when the caller is privileged.
func change(d *shim.Device, f func(s *settings) Return) Return {
	if !privileged() {
		return NoPermission
	}
	s := stateOf(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	return f(s)
}

// read returns a value from the device's settings.
func read[T any](d *shim.Device, f func(s *settings) T) T {
	s := stateOf(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	return f(s)
}

// countedList answers NVML's count-then-fill calls: *count in is the room, out the number
// there is; fill writes the entries when they fit.
func countedList(count, buf unsafe.Pointer, n uint32, fill func()) Return {
	have := r32(count)
	w32(count, n)
	if have < n {
		return InsufficientSize
	}
	if n > 0 {
		if buf == nil {
			return InvalidArgument
		}
		fill()
	}
	return Success
}

// hopperOrLater etc. describe the modelled chip.
func ccAtLeast(d *shim.Device, major, minor int) bool {
	c := d.Profile.CC
	return c[0] > major || c[0] == major && c[1] >= minor
}

// hbm is whether the part has HBM memory (A100, H100, H200): row remapping, not page retirement.
func hbm(d *shim.Device) bool { return d.Profile.CC[1] == 0 && d.Profile.CC[0] >= 8 }

func geforce(d *shim.Device) bool {
	return d.Profile.Brand == "geforce_rtx" || d.Profile.Brand == "geforce"
}

// localReady is ready() for the calls answered in the caller's own process ({local} rows):
// with a forwarding backend nvmlInit went to the server, so only the sim backend knows here
// whether NVML was initialised.
func localReady() Return {
	if shim.S().Config.Backend != "sim" {
		return Success
	}
	return ready()
}
