package nvml

import (
	"time"
	"unsafe"

	"vgpu/shim"
)

// minClockMHz is the lowest graphics clock a modelled part runs at (P0's floor).
const minClockMHz = 210

// Clock types (nvmlClockType_t) and ids (nvmlClockId_t).
const (
	clockGraphics = 0
	clockSM       = 1
	clockMem      = 2
	clockVideo    = 3

	clockIDCurrent    = 0
	clockIDAppTarget  = 1
	clockIDAppDefault = 2
	clockIDBoostMax   = 3
)

// maxClock is the highest clock of a type, false for an unknown type.
func maxClock(d *shim.Device, t int32) (uint32, bool) {
	switch t {
	case clockGraphics, clockSM:
		return uint32(d.Profile.ClockMHz), true
	case clockMem:
		return uint32(d.Profile.MemClockMHz), true
	case clockVideo:
		return uint32(d.Profile.ClockMHz) * 78 / 100, true
	}
	return 0, false
}

// currentClock is the running clock: the maximum (the model runs at full clocks), capped by
// a locked range a privileged caller set.
func currentClock(d *shim.Device, t int32) (uint32, bool) {
	v, ok := maxClock(d, t)
	if !ok {
		return 0, false
	}
	lock := read(d, func(s *settings) [2]uint32 {
		if t == clockMem {
			return s.memLocked
		}
		return s.gpuLocked
	})
	if lock[1] != 0 && t != clockVideo {
		v = min(v, lock[1])
	}
	return v, true
}

// appClock is the applications clock of a type: what a privileged caller set, else the default
// (the maximum, as on the H100 and H200).
func appClock(d *shim.Device, t int32, deflt bool) (uint32, bool) {
	v, ok := maxClock(d, t)
	if !ok || deflt || t == clockVideo {
		return v, ok
	}
	set := read(d, func(s *settings) [2]uint32 { return s.appClocks })
	switch {
	case t == clockMem && set[0] != 0:
		v = set[0]
	case t != clockMem && set[1] != 0:
		v = set[1]
	}
	return v, true
}

func clockQuery(h uintptr, t int32, out unsafe.Pointer, f func(d *shim.Device, t int32) (uint32, bool)) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	v, ok := f(d, t)
	if !ok {
		return InvalidArgument
	}
	w32(out, v)
	return Success
}

// DeviceGetClockInfo is nvmlDeviceGetClockInfo: the current clock.
func DeviceGetClockInfo(h uintptr, t int32, out unsafe.Pointer) Return {
	return clockQuery(h, t, out, currentClock)
}

// DeviceGetMaxClockInfo is nvmlDeviceGetMaxClockInfo.
func DeviceGetMaxClockInfo(h uintptr, t int32, out unsafe.Pointer) Return {
	return clockQuery(h, t, out, maxClock)
}

// DeviceGetApplicationsClock is nvmlDeviceGetApplicationsClock.
func DeviceGetApplicationsClock(h uintptr, t int32, out unsafe.Pointer) Return {
	return clockQuery(h, t, out, func(d *shim.Device, t int32) (uint32, bool) { return appClock(d, t, false) })
}

// DeviceGetDefaultApplicationsClock is nvmlDeviceGetDefaultApplicationsClock.
func DeviceGetDefaultApplicationsClock(h uintptr, t int32, out unsafe.Pointer) Return {
	return clockQuery(h, t, out, func(d *shim.Device, t int32) (uint32, bool) { return appClock(d, t, true) })
}

// DeviceGetMaxCustomerBoostClock is nvmlDeviceGetMaxCustomerBoostClock.
func DeviceGetMaxCustomerBoostClock(h uintptr, t int32, out unsafe.Pointer) Return {
	return clockQuery(h, t, out, maxClock)
}

// DeviceGetClock is nvmlDeviceGetClock: a clock type by clock id.
func DeviceGetClock(h uintptr, t, id int32, out unsafe.Pointer) Return {
	var f func(d *shim.Device, t int32) (uint32, bool)
	switch id {
	case clockIDCurrent:
		f = currentClock
	case clockIDAppTarget:
		f = func(d *shim.Device, t int32) (uint32, bool) { return appClock(d, t, false) }
	case clockIDAppDefault:
		f = func(d *shim.Device, t int32) (uint32, bool) { return appClock(d, t, true) }
	case clockIDBoostMax:
		f = maxClock
	default:
		if _, r := dev(h, out); r != Success {
			return r
		}
		return InvalidArgument
	}
	return clockQuery(h, t, out, f)
}

// graphicsClocks is the supported graphics clocks, highest first, in 15 MHz steps.
func graphicsClocks(d *shim.Device) []uint32 {
	var out []uint32
	for c := uint32(d.Profile.ClockMHz); c >= minClockMHz; c -= 15 {
		out = append(out, c)
	}
	return out
}

// DeviceGetSupportedMemoryClocks is nvmlDeviceGetSupportedMemoryClocks: HBM and GDDR parts
// run their memory at one clock.
func DeviceGetSupportedMemoryClocks(h uintptr, count, clocks unsafe.Pointer) Return {
	d, r := dev(h, count)
	if r != Success {
		return r
	}
	return countedList(count, clocks, 1, func() { w32(clocks, uint32(d.Profile.MemClockMHz)) })
}

// DeviceGetSupportedGraphicsClocks is nvmlDeviceGetSupportedGraphicsClocks.
func DeviceGetSupportedGraphicsClocks(h uintptr, mem uint32, count, clocks unsafe.Pointer) Return {
	d, r := dev(h, count)
	if r != Success {
		return r
	}
	if mem != uint32(d.Profile.MemClockMHz) {
		return NotFound
	}
	cs := graphicsClocks(d)
	return countedList(count, clocks, uint32(len(cs)), func() {
		for i, c := range cs {
			w32(unsafe.Add(clocks, 4*i), c)
		}
	})
}

// DeviceGetMinMaxClockOfPState is nvmlDeviceGetMinMaxClockOfPState: the model has P0 only.
func DeviceGetMinMaxClockOfPState(h uintptr, t, pstate int32, lo, hi unsafe.Pointer) Return {
	d, r := dev(h, lo, hi)
	if r != Success {
		return r
	}
	top, ok := maxClock(d, t)
	if !ok || pstate < 0 || pstate > 15 {
		return InvalidArgument
	}
	if pstate != 0 {
		return NotSupported
	}
	bottom := uint32(minClockMHz)
	if t == clockMem {
		bottom = top
	}
	w32(lo, bottom)
	w32(hi, top)
	return Success
}

// DeviceGetSupportedPerformanceStates is nvmlDeviceGetSupportedPerformanceStates: size is
// in bytes, room for NVML_MAX_GPU_PERF_PSTATES (16); unused slots are NVML_PSTATE_UNKNOWN.
func DeviceGetSupportedPerformanceStates(h uintptr, states unsafe.Pointer, size uint32) Return {
	if _, r := dev(h, states); r != Success {
		return r
	}
	if size < 16*4 {
		return InsufficientSize
	}
	for i := 0; i < 16; i++ {
		w32(unsafe.Add(states, 4*i), 32)
	}
	w32(states, 0)
	return Success
}

// DeviceGetPowerState is the deprecated nvmlDeviceGetPowerState: the performance state.
func DeviceGetPowerState(h uintptr, out unsafe.Pointer) Return {
	return DeviceGetPerformanceState(h, out)
}

// Clock event (throttle) reasons: idle, applications clocks, SW power cap, HW slowdown,
// sync boost, SW thermal, HW thermal, HW power brake. Display clocks do not apply headless.
const supportedClockReasons = 0xff

// DeviceGetSupportedClocksEventReasons is nvmlDeviceGetSupportedClocksEventReasons (and the
// older ...ThrottleReasons name).
func DeviceGetSupportedClocksEventReasons(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	w64(out, supportedClockReasons)
	return Success
}

// DeviceGetViolationStatus is nvmlDeviceGetViolationStatus: the model never throttles, so
// the violation time is zero against a reference time of now (ns).
func DeviceGetViolationStatus(h uintptr, policy int32, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	if policy < 0 || policy > 5 && policy != 10 && policy != 11 {
		return InvalidArgument
	}
	b := zeroed(out, 16)
	shim.Le.PutUint64(b, uint64(time.Now().UnixNano()))
	return Success
}

// DeviceGetDynamicPstatesInfo is nvmlDeviceGetDynamicPstatesInfo: the GPU, framebuffer,
// video and bus domains, idle, with the driver's thresholds for moving up and down.
func DeviceGetDynamicPstatesInfo(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	b := zeroed(out, 4+8*16)
	for i := 0; i < 4; i++ {
		e := b[4+16*i:]
		shim.Le.PutUint32(e, 1)      // present
		shim.Le.PutUint32(e[8:], 30) // increase threshold
		shim.Le.PutUint32(e[12:], 15)
	}
	return Success
}

// DeviceGetClkMonStatus is nvmlDeviceGetClkMonStatus: no clock-monitor faults, an empty
// fault list (whose entries are not touched).
func DeviceGetClkMonStatus(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	zeroed(out, 8)
	return Success
}

// DeviceGetAdaptiveClockInfoStatus is nvmlDeviceGetAdaptiveClockInfoStatus: enabled on
// Ampere and later.
func DeviceGetAdaptiveClockInfoStatus(h uintptr, out unsafe.Pointer) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	w32(out, b2u(ccAtLeast(d, 8, 0)))
	return Success
}

// vfOffset answers the clock offset queries, which only GeForce boards offer.
func vfOffset(h uintptr, vals []int32, outs ...unsafe.Pointer) Return {
	d, r := dev(h, outs...)
	if r != Success {
		return r
	}
	if !geforce(d) {
		return NotSupported
	}
	for i, p := range outs {
		*(*int32)(p) = vals[i]
	}
	return Success
}

// DeviceGetGpcClkVfOffset is nvmlDeviceGetGpcClkVfOffset.
func DeviceGetGpcClkVfOffset(h uintptr, off unsafe.Pointer) Return {
	return vfOffset(h, []int32{0}, off)
}

// DeviceGetMemClkVfOffset is nvmlDeviceGetMemClkVfOffset.
func DeviceGetMemClkVfOffset(h uintptr, off unsafe.Pointer) Return {
	return vfOffset(h, []int32{0}, off)
}

// DeviceGetGpcClkMinMaxVfOffset is nvmlDeviceGetGpcClkMinMaxVfOffset.
func DeviceGetGpcClkMinMaxVfOffset(h uintptr, lo, hi unsafe.Pointer) Return {
	return vfOffset(h, []int32{-1000, 1000}, lo, hi)
}

// DeviceGetMemClkMinMaxVfOffset is nvmlDeviceGetMemClkMinMaxVfOffset.
func DeviceGetMemClkMinMaxVfOffset(h uintptr, lo, hi unsafe.Pointer) Return {
	return vfOffset(h, []int32{-1000, 1500}, lo, hi)
}

// DeviceSetGpcClkVfOffset is nvmlDeviceSetGpcClkVfOffset.
func DeviceSetGpcClkVfOffset(h uintptr, off int32) Return { return setVfOffset(h, off, 1000) }

// DeviceSetMemClkVfOffset is nvmlDeviceSetMemClkVfOffset.
func DeviceSetMemClkVfOffset(h uintptr, off int32) Return { return setVfOffset(h, off, 1500) }

func setVfOffset(h uintptr, off, hi int32) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	if !geforce(d) {
		return NotSupported
	}
	if off < -1000 || off > hi {
		return InvalidArgument
	}
	return change(d, func(*settings) Return { return Success })
}

// DeviceSetApplicationsClocks is nvmlDeviceSetApplicationsClocks: a supported pair only.
func DeviceSetApplicationsClocks(h uintptr, mem, graphics uint32) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	ok := false
	for _, c := range graphicsClocks(d) {
		ok = ok || c == graphics
	}
	if mem != uint32(d.Profile.MemClockMHz) || !ok {
		return InvalidArgument
	}
	return change(d, func(s *settings) Return { s.appClocks = [2]uint32{mem, graphics}; return Success })
}

// DeviceResetApplicationsClocks is nvmlDeviceResetApplicationsClocks.
func DeviceResetApplicationsClocks(h uintptr) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	return change(d, func(s *settings) Return { s.appClocks = [2]uint32{}; return Success })
}

func lockClocks(h uintptr, lo, hi uint32, mem bool) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	floor, top := uint32(minClockMHz), uint32(d.Profile.ClockMHz)
	if mem {
		floor, top = uint32(d.Profile.MemClockMHz), uint32(d.Profile.MemClockMHz)
	}
	if lo > hi || lo < floor || hi > top {
		return InvalidArgument
	}
	return change(d, func(s *settings) Return {
		if mem {
			s.memLocked = [2]uint32{lo, hi}
		} else {
			s.gpuLocked = [2]uint32{lo, hi}
		}
		return Success
	})
}

// DeviceSetGpuLockedClocks is nvmlDeviceSetGpuLockedClocks.
func DeviceSetGpuLockedClocks(h uintptr, lo, hi uint32) Return { return lockClocks(h, lo, hi, false) }

// DeviceSetMemoryLockedClocks is nvmlDeviceSetMemoryLockedClocks.
func DeviceSetMemoryLockedClocks(h uintptr, lo, hi uint32) Return { return lockClocks(h, lo, hi, true) }

// DeviceResetGpuLockedClocks is nvmlDeviceResetGpuLockedClocks.
func DeviceResetGpuLockedClocks(h uintptr) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	return change(d, func(s *settings) Return { s.gpuLocked = [2]uint32{}; return Success })
}

// DeviceResetMemoryLockedClocks is nvmlDeviceResetMemoryLockedClocks.
func DeviceResetMemoryLockedClocks(h uintptr) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	return change(d, func(s *settings) Return { s.memLocked = [2]uint32{}; return Success })
}

// AutoBoostNotSupported answers the auto-boost calls: data-centre parts since Volta and
// current GeForce boards have no user-controllable auto boost.
func AutoBoostNotSupported(h uintptr, a, b unsafe.Pointer) Return {
	if _, r := dev(h, a, b); r != Success {
		return r
	}
	return NotSupported
}

// SetAutoBoost answers nvmlDeviceSetAutoBoostedClocksEnabled and its default variant.
func SetAutoBoost(h uintptr, enabled int32) Return {
	if _, r := dev(h); r != Success {
		return r
	}
	return NotSupported
}
