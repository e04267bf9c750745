package shim

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// State is the one device model of the process. Every library name the file was loaded
// under shares it, because the dynamic loader maps the file once.
type State struct {
	Config   Config
	Physical []*Device // every configured device
	Visible  []*Device // after CUDA_VISIBLE_DEVICES: ordinal i is Visible[i]
	Mem      *MemTable
	Backend  Backend
	Err      error // configuration error: every API reports it as "no device"/"not initialised"
}

var (
	stateOnce sync.Once
	state     *State
	tracing   atomic.Bool
)

// S returns the process state, building it on first use so that loading the library
// costs nothing until a program calls into it.
func S() *State {
	stateOnce.Do(func() { state = build(getCEnv, lookupCEnv) })
	return state
}

// Reset rebuilds the state from the current environment. Tests use it; programs never do.
func Reset() {
	DisableFast()
	stateOnce = sync.Once{}
	tables.reset()
}

func build(getenv func(string) string, lookup func(string) (string, bool)) *State {
	s := &State{Mem: NewMemTable()}
	cfg, err := LoadConfig(getenv)
	s.Config = cfg
	initLog(cfg)
	tracing.Store(cfg.Trace)
	if err != nil {
		s.Err = err
		Log().Errorw("configuration rejected; no devices", "err", err)
		return s
	}
	switch cfg.Backend {
	case "local", "remote":
		// Devices described by someone else: the real driver (local), or the server, which
		// has applied its own visibility (remote: this process keeps a mirror for the calls
		// it answers itself, and the C fast path stays off).
		var recs []DeviceRecord
		var backend Backend
		if cfg.Backend == "local" && !HasLocal && LocalSidecar != nil {
			// A program's library: the real driver runs in a private server process, and this
			// process is its remote client from here on.
			recs, err = LocalSidecar(&s.Config)
			backend = newSimBackend(s)
			s.Config.Backend = "remote"
		} else if cfg.Backend == "local" {
			recs, backend, err = LocalDevices(&s.Config)
		} else {
			recs, err = RemoteDevices(&s.Config)
			backend = newSimBackend(s)
		}
		if err == nil {
			s.Physical, err = devicesFrom(recs)
		}
		if err != nil {
			s.Err, s.Physical = err, nil
			Log().Errorw(cfg.Backend+" backend: no devices", "err", err)
			return s
		}
		// NVIDIA's driver has applied CUDA_VISIBLE_DEVICES already (local), or the server
		// has (remote): applying it again would renumber an index form away.
		s.Visible, s.Backend = s.Physical, backend
		return s
	}
	for i, dc := range cfg.DeviceList() {
		d, err := NewDevice(i, dc, &cfg)
		if err != nil {
			s.Err = err
			s.Physical = nil
			Log().Errorw("configuration rejected; no devices", "err", err)
			return s
		}
		s.Physical = append(s.Physical, d)
	}
	cvd, set := lookup("CUDA_VISIBLE_DEVICES")
	s.Visible = ApplyVisible(s.Physical, cvd, set)
	s.Backend = newSimBackend(s)
	publishFast(s)
	Log().Debugw("devices ready", "backend", cfg.Backend, "physical", len(s.Physical), "visible", len(s.Visible))
	return s
}

// views counts server clients with a device view of their own: with none, device lookups
// skip the per-thread state.
var views atomic.Int64

// SetView gives the calling thread's client its own visible devices (nil: all of them).
func SetView(devs []*Device) {
	ts := Thread()
	switch {
	case ts.View == nil && devs != nil:
		views.Add(1)
	case ts.View != nil && devs == nil:
		views.Add(-1)
	}
	ts.View = devs
}

// Devices are the devices the caller sees, numbered as it numbers them: every visible device,
// or on a server, the calling client's own view.
func (s *State) Devices() []*Device {
	if views.Load() != 0 {
		if v := Thread().View; v != nil {
			return v
		}
	}
	return s.Visible
}

// Device returns visible device ordinal i, or nil.
func (s *State) Device(i int) *Device {
	devs := s.Devices()
	if i < 0 || i >= len(devs) {
		return nil
	}
	return devs[i]
}

// Ordinal is the visible ordinal of d, or -1.
func (s *State) Ordinal(d *Device) int {
	for i, v := range s.Devices() {
		if v == d {
			return i
		}
	}
	return -1
}

// DriverVersionMajor is the NVIDIA driver branch, e.g. 580.
func (s *State) DriverVersionMajor() int {
	var m int
	fmt.Sscanf(s.Config.DriverVersion, "%d", &m)
	return m
}

var initialized atomic.Bool

// MarkInitialized records that the driver was initialised (cuInit, or any runtime call).
func MarkInitialized() {
	if !initialized.Load() { // read first: a store on every call would bounce the cache line between threads
		initialized.Store(true)
		fastDriverReady()
	}
}

// Initialized reports whether cuInit (or the runtime) has run.
func Initialized() bool { return initialized.Load() }

// OrdinalByBusID finds the visible device at a PCI address in any common spelling, for
// cuDeviceGetByPCIBusId, cudaDeviceGetByPCIBusId and NVML alike.
func (s *State) OrdinalByBusID(id string) (int, bool) {
	for i, d := range s.Devices() {
		if d.MatchesBusID(id) {
			return i, true
		}
	}
	return -1, false
}

// devicesFrom rebuilds devices from their records.
func devicesFrom(recs []DeviceRecord) ([]*Device, error) {
	var out []*Device
	for i, r := range recs {
		d, err := r.Device(i)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}
