package nvml

import (
	"crypto/sha256"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"vgpu/shim"
)

// Topology levels (nvmlGpuTopologyLevel_t).
const (
	topoInternal = 0
	topoNode     = 40
	topoSystem   = 50
)

// ancestor is the closest common PCIe ancestor of two devices: the devices of a vgpu host
// hang off one NUMA node's host bridges.
func ancestor(a, b *shim.Device) uint32 {
	if a == b {
		return topoInternal
	}
	return topoNode
}

// DeviceGetTopologyCommonAncestor is nvmlDeviceGetTopologyCommonAncestor.
func DeviceGetTopologyCommonAncestor(h1, h2 uintptr, out unsafe.Pointer) Return {
	a, r := dev(h1, out)
	if r != Success {
		return r
	}
	b, r := dev(h2)
	if r != Success {
		return r
	}
	w32(out, ancestor(a, b))
	return Success
}

func validLevel(l uint32) bool { return l%10 == 0 && l <= topoSystem && l != 0 || l == 0 }

// nearest fills a device list in NVML's style: with *count 0 it says how many there are.
func nearest(count, arr unsafe.Pointer, keep func(i int, d *shim.Device) bool) Return {
	var hs []uintptr
	for i, d := range devices() {
		if keep(i, d) {
			hs = append(hs, handleOf(i))
		}
	}
	if r32(count) == 0 {
		w32(count, uint32(len(hs)))
		return Success
	}
	if arr == nil {
		return InvalidArgument
	}
	n := min(int(r32(count)), len(hs))
	for i := 0; i < n; i++ {
		*(*uintptr)(unsafe.Add(arr, 8*i)) = hs[i]
	}
	w32(count, uint32(n))
	return Success
}

// DeviceGetTopologyNearestGpus is nvmlDeviceGetTopologyNearestGpus: the other devices whose
// common ancestor with this one is at most level.
func DeviceGetTopologyNearestGpus(h uintptr, level uint32, count, arr unsafe.Pointer) Return {
	self, r := dev(h, count)
	if r != Success {
		return r
	}
	if !validLevel(level) {
		return InvalidArgument
	}
	return nearest(count, arr, func(_ int, d *shim.Device) bool { return d != self && ancestor(self, d) <= level })
}

// cpus is the CPUs this process may run on: all of them are local to every device.
func cpus() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return []int{0}
	}
	var out []int
	for i := 0; i < 1024; i++ {
		if set.IsSet(i) {
			out = append(out, i)
		}
	}
	return out
}

// SystemGetTopologyGpuSet is nvmlSystemGetTopologyGpuSet: every device is near every CPU.
func SystemGetTopologyGpuSet(cpu uint32, count, arr unsafe.Pointer) Return {
	if r := nonNil(count); r != Success {
		return r
	}
	ok := false
	for _, c := range cpus() {
		ok = ok || uint32(c) == cpu
	}
	if !ok {
		return InvalidArgument
	}
	return nearest(count, arr, func(int, *shim.Device) bool { return true })
}

// fillMask sets the bits of ids in n unsigned longs at p.
func fillMask(p unsafe.Pointer, n uint32, ids []int) {
	b := zeroed(p, 8*int(n))
	for _, c := range ids {
		if c/64 < int(n) {
			b[c/8] |= 1 << (c % 8)
		}
	}
}

// DeviceGetCpuAffinity is nvmlDeviceGetCpuAffinity: the CPUs near the device.
func DeviceGetCpuAffinity(h uintptr, n uint32, set unsafe.Pointer) Return {
	if _, r := dev(h, set); r != Success {
		return r
	}
	if n == 0 {
		return InvalidArgument
	}
	fillMask(set, n, cpus())
	return Success
}

// DeviceGetCpuAffinityWithinScope is nvmlDeviceGetCpuAffinityWithinScope (NUMA node or socket).
func DeviceGetCpuAffinityWithinScope(h uintptr, n uint32, set unsafe.Pointer, scope uint32) Return {
	if scope > 1 {
		if _, r := dev(h, set); r != Success {
			return r
		}
		return InvalidArgument
	}
	return DeviceGetCpuAffinity(h, n, set)
}

// DeviceGetMemoryAffinity is nvmlDeviceGetMemoryAffinity: NUMA node 0.
func DeviceGetMemoryAffinity(h uintptr, n uint32, set unsafe.Pointer, scope uint32) Return {
	if _, r := dev(h, set); r != Success {
		return r
	}
	if n == 0 || scope > 1 {
		return InvalidArgument
	}
	fillMask(set, n, []int{0})
	return Success
}

// DeviceSetCpuAffinity is nvmlDeviceSetCpuAffinity: binds the calling thread to the CPUs
// near the device (answered in the caller's process, whose thread it is).
func DeviceSetCpuAffinity(h uintptr) Return {
	if r := localReady(); r != Success {
		return r
	}
	if _, r := lookup(h); r != Success {
		return r
	}
	var set unix.CPUSet
	for _, c := range cpus() {
		set.Set(c)
	}
	if unix.SchedSetaffinity(0, &set) != nil {
		return Unknown
	}
	return Success
}

// DeviceClearCpuAffinity is nvmlDeviceClearCpuAffinity: the thread may run anywhere again.
func DeviceClearCpuAffinity(h uintptr) Return { return DeviceSetCpuAffinity(h) }

// P2P status values (nvmlGpuP2PStatus_t).
const (
	p2pOK           = 0
	p2pNotSupported = 5
)

// DeviceGetP2PStatus is nvmlDeviceGetP2PStatus: distinct devices reach each other, as CUDA
// says; over NVLink only when both have links.
func DeviceGetP2PStatus(h1, h2 uintptr, index int32, out unsafe.Pointer) Return {
	a, r := dev(h1, out)
	if r != Success {
		return r
	}
	b, r := dev(h2)
	if r != Success {
		return r
	}
	if index < 0 || index > 5 {
		return InvalidArgument
	}
	st := uint32(p2pOK)
	if a == b || index == 5 || index == 2 && (a.Profile.NVLinks == 0 || b.Profile.NVLinks == 0) {
		st = p2pNotSupported
	}
	w32(out, st)
	return Success
}

// DeviceOnSameBoard is nvmlDeviceOnSameBoard: each modelled board carries one GPU.
func DeviceOnSameBoard(h1, h2 uintptr, out unsafe.Pointer) Return {
	a, r := dev(h1, out)
	if r != Success {
		return r
	}
	b, r := dev(h2)
	if r != Success {
		return r
	}
	*(*int32)(out) = int32(b2u(a == b))
	return Success
}

// link resolves an NVLink of a device: not supported without links, invalid past the last.
func link(h uintptr, l uint32, ptrs ...unsafe.Pointer) (*shim.Device, Return) {
	d, r := dev(h, ptrs...)
	if r != Success {
		return nil, r
	}
	if d.Profile.NVLinks == 0 {
		return nil, NotSupported
	}
	if l >= uint32(d.Profile.NVLinks) {
		return nil, InvalidArgument
	}
	return d, Success
}

// DeviceGetNvLinkState is nvmlDeviceGetNvLinkState: every link is up (to an NVSwitch).
func DeviceGetNvLinkState(h uintptr, l uint32, out unsafe.Pointer) Return {
	if _, r := link(h, l, out); r != Success {
		return r
	}
	w32(out, 1)
	return Success
}

// DeviceGetNvLinkVersion is nvmlDeviceGetNvLinkVersion.
func DeviceGetNvLinkVersion(h uintptr, l uint32, out unsafe.Pointer) Return {
	d, r := link(h, l, out)
	if r != Success {
		return r
	}
	w32(out, uint32(d.Profile.NVLinkVersion))
	return Success
}

// DeviceGetNvLinkCapability is nvmlDeviceGetNvLinkCapability: peer access and peer atomics
// through the switch, no system memory over NVLink (x86 hosts), no SLI bridge; the link is valid.
func DeviceGetNvLinkCapability(h uintptr, l uint32, c int32, out unsafe.Pointer) Return {
	if _, r := link(h, l, out); r != Success {
		return r
	}
	caps := map[int32]uint32{0: 1, 1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
	v, ok := caps[c]
	if !ok {
		return InvalidArgument
	}
	w32(out, v)
	return Success
}

// nvSwitch is the PCI id of the NVSwitch generation that matches the NVLink version.
func nvSwitch(d *shim.Device) uint32 {
	if d.Profile.NVLinkVersion >= 4 {
		return 0x22a3
	}
	return 0x1af1
}

// DeviceGetNvLinkRemotePciInfo is nvmlDeviceGetNvLinkRemotePciInfo(_v2): the NVSwitch at the
// other end; links spread over four switches, as on an HGX board.
func DeviceGetNvLinkRemotePciInfo(h uintptr, l uint32, out unsafe.Pointer) Return {
	d, r := link(h, l, out)
	if r != Success {
		return r
	}
	b := zeroed(out, 68)
	bus := 0xc0 + l*4/uint32(d.Profile.NVLinks)
	copy(b[0:15], fmt.Sprintf("%04X:%02X:00.0", 0, bus))
	shim.Le.PutUint32(b[20:], bus)
	shim.Le.PutUint32(b[28:], nvSwitch(d)<<16|0x10de)
	shim.Le.PutUint32(b[32:], nvSwitch(d)<<16|0x10de)
	copy(b[36:67], fmt.Sprintf("%08X:%02X:00.0", 0, bus))
	return Success
}

// DeviceGetNvLinkRemoteDeviceType is nvmlDeviceGetNvLinkRemoteDeviceType: a switch.
func DeviceGetNvLinkRemoteDeviceType(h uintptr, l uint32, out unsafe.Pointer) Return {
	if _, r := link(h, l, out); r != Success {
		return r
	}
	w32(out, 2)
	return Success
}

// DeviceGetNvLinkErrorCounter is nvmlDeviceGetNvLinkErrorCounter: replay, recovery, CRC
// and ECC counters, all zero.
func DeviceGetNvLinkErrorCounter(h uintptr, l uint32, c int32, out unsafe.Pointer) Return {
	if _, r := link(h, l, out); r != Success {
		return r
	}
	if c < 0 || c > 4 {
		return InvalidArgument
	}
	w64(out, 0)
	return Success
}

// DeviceResetNvLinkErrorCounters is nvmlDeviceResetNvLinkErrorCounters.
func DeviceResetNvLinkErrorCounters(h uintptr, l uint32) Return {
	d, r := link(h, l)
	if r != Success {
		return r
	}
	return change(d, func(*settings) Return { return Success })
}

// DeviceGetNvLinkUtilizationControl is nvmlDeviceGetNvLinkUtilizationControl: counter 0 or
// 1 counts bytes (units 2) of all packets (filter 0xff).
func DeviceGetNvLinkUtilizationControl(h uintptr, l, c uint32, out unsafe.Pointer) Return {
	if _, r := link(h, l, out); r != Success {
		return r
	}
	if c > 1 {
		return InvalidArgument
	}
	b := zeroed(out, 8)
	shim.Le.PutUint32(b, 2)
	shim.Le.PutUint32(b[4:], 0xff)
	return Success
}

// DeviceSetNvLinkUtilizationControl is nvmlDeviceSetNvLinkUtilizationControl.
func DeviceSetNvLinkUtilizationControl(h uintptr, l, c uint32, ctl unsafe.Pointer, reset uint32) Return {
	d, r := link(h, l, ctl)
	if r != Success {
		return r
	}
	if c > 1 {
		return InvalidArgument
	}
	return change(d, func(*settings) Return { return Success })
}

// DeviceGetNvLinkUtilizationCounter is nvmlDeviceGetNvLinkUtilizationCounter: idle links.
func DeviceGetNvLinkUtilizationCounter(h uintptr, l, c uint32, rx, tx unsafe.Pointer) Return {
	if _, r := link(h, l, rx, tx); r != Success {
		return r
	}
	if c > 1 {
		return InvalidArgument
	}
	w64(rx, 0)
	w64(tx, 0)
	return Success
}

// DeviceFreezeNvLinkUtilizationCounter is nvmlDeviceFreezeNvLinkUtilizationCounter.
func DeviceFreezeNvLinkUtilizationCounter(h uintptr, l, c uint32, freeze int32) Return {
	d, r := link(h, l)
	if r != Success {
		return r
	}
	if c > 1 || freeze < 0 || freeze > 1 {
		return InvalidArgument
	}
	return change(d, func(*settings) Return { return Success })
}

// DeviceResetNvLinkUtilizationCounter is nvmlDeviceResetNvLinkUtilizationCounter.
func DeviceResetNvLinkUtilizationCounter(h uintptr, l, c uint32) Return {
	d, r := link(h, l)
	if r != Success {
		return r
	}
	if c > 1 {
		return InvalidArgument
	}
	return change(d, func(*settings) Return { return Success })
}

// DeviceSetNvLinkDeviceLowPowerThreshold is nvmlDeviceSetNvLinkDeviceLowPowerThreshold.
func DeviceSetNvLinkDeviceLowPowerThreshold(h uintptr, info unsafe.Pointer) Return {
	d, r := link(h, 0, info)
	if r != Success {
		return r
	}
	return change(d, func(*settings) Return { return Success })
}

// SystemGetNvlinkBwMode is nvmlSystemGetNvlinkBwMode: full bandwidth.
func SystemGetNvlinkBwMode(out unsafe.Pointer) Return {
	if r := nonNil(out); r != Success {
		return r
	}
	w32(out, 0)
	return Success
}

// SystemSetNvlinkBwMode is nvmlSystemSetNvlinkBwMode.
func SystemSetNvlinkBwMode(mode uint32) Return {
	if r := ready(); r != Success {
		return r
	}
	if mode > 4 {
		return InvalidArgument
	}
	if !privileged() {
		return NoPermission
	}
	return Success
}

// DeviceGetGpuFabricInfo is nvmlDeviceGetGpuFabricInfo: NVLink parts have joined the
// fabric (state COMPLETED) of one cluster, whose UUID follows the configuration.
func DeviceGetGpuFabricInfo(h uintptr, out unsafe.Pointer) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	if d.Profile.NVLinks == 0 {
		return NotSupported
	}
	b := zeroed(out, 28)
	sum := sha256.Sum256([]byte("vgpu-fabric/" + shim.S().Config.UUIDSeed))
	copy(b, sum[:16])
	b[24] = 3
	return Success
}
