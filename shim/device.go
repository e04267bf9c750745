package shim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"sync/atomic"
)

// Device is one virtual GPU. Its identity is derived from the config, so every process
// with the same config sees the same UUIDs and PCI addresses.
type Device struct {
	Index     int // physical index, before CUDA_VISIBLE_DEVICES
	Profile   *Profile
	Name      string
	UUID      [16]byte
	Serial    string
	PCIDomain int
	PCIBus    int
	PCIDev    int
	Memory    uint64 // totalGlobalMem
	Reserved  uint64 // what NVML adds for the driver
	Attrs     [AttrMax]int32

	used atomic.Uint64 // bytes allocated on this device
}

// NewDevice builds physical device idx from its config entry.
func NewDevice(idx int, dc DeviceConfig, c *Config) (*Device, error) {
	p, err := FindProfile(dc.Profile)
	if err != nil {
		return nil, err
	}
	d := &Device{Index: idx, Profile: p, Name: p.Name, Memory: p.Memory, Reserved: p.NVMLReserved, Attrs: p.Attrs}
	if dc.Name != "" {
		if len(dc.Name) > 95 {
			return nil, fmt.Errorf("device %d: name longer than 95 bytes", idx)
		}
		d.Name = dc.Name
	}
	if dc.Memory != "" {
		if d.Memory, err = ParseSize(dc.Memory); err != nil {
			return nil, fmt.Errorf("device %d: %w", idx, err)
		}
	}
	// UUID and serial: a hash of seed, index and product, so they are stable and distinct.
	sum := sha256.Sum256([]byte(fmt.Sprintf("vgpu/%s/%d/%s", c.UUIDSeed, idx, p.ID)))
	copy(d.UUID[:], sum[:16])
	d.UUID[6] = d.UUID[6]&0x0f | 0x40 // RFC 4122 version 4 layout, as the real ones look
	d.UUID[8] = d.UUID[8]&0x3f | 0x80
	d.Serial = fmt.Sprintf("%013d", binary.BigEndian.Uint64(sum[16:24])%1e13)
	d.PCIBus = c.PCIBusBase + idx
	if d.PCIBus > 0xff {
		return nil, fmt.Errorf("device %d: PCI bus %#x out of range; lower pci_bus_base", idx, d.PCIBus)
	}
	d.Attrs[AttrPCIDomainID] = int32(d.PCIDomain)
	d.Attrs[AttrPCIBusID] = int32(d.PCIBus)
	d.Attrs[AttrPCIDeviceID] = int32(d.PCIDev)
	d.Attrs[AttrMultiGpuBoardGroupID] = int32(idx)
	return d, nil
}

// UUIDString is the form NVML and CUDA_VISIBLE_DEVICES use: GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
func (d *Device) UUIDString() string {
	u := d.UUID
	return fmt.Sprintf("GPU-%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// PCIBusID is the CUDA form, 0000:18:00.0.
func (d *Device) PCIBusID() string {
	return fmt.Sprintf("%04x:%02x:%02x.0", d.PCIDomain, d.PCIBus, d.PCIDev)
}

// NVMLBusID is NVML's eight-digit-domain, upper-case form, 00000000:1A:00.0.
func (d *Device) NVMLBusID() string {
	return fmt.Sprintf("%08X:%02X:%02X.0", d.PCIDomain, d.PCIBus, d.PCIDev)
}

// NVMLLegacyBusID is NVML's busIdLegacy, 0000:1A:00.0.
func (d *Device) NVMLLegacyBusID() string {
	return fmt.Sprintf("%04X:%02X:%02X.0", d.PCIDomain, d.PCIBus, d.PCIDev)
}

// MatchesBusID reports whether s names this device's PCI address in any common spelling.
func (d *Device) MatchesBusID(s string) bool {
	var dom, bus, dev, fn int
	s = strings.TrimSpace(s)
	if n, _ := fmt.Sscanf(s, "%x:%x:%x.%x", &dom, &bus, &dev, &fn); n == 4 {
		return dom == d.PCIDomain && bus == d.PCIBus && dev == d.PCIDev && fn == 0
	}
	if n, _ := fmt.Sscanf(s, "%x:%x.%x", &bus, &dev, &fn); n == 3 {
		return d.PCIDomain == 0 && bus == d.PCIBus && dev == d.PCIDev && fn == 0
	}
	return false
}

// Used is the memory allocated on the device.
func (d *Device) Used() uint64 { return d.used.Load() }

// Free is what cudaMemGetInfo, cuMemGetInfo and NVML all report as free: what the device
// has left, within the calling client's cap.
func (d *Device) Free() uint64 {
	free := d.Memory - d.used.Load()
	if q := callerQuota(); q != nil {
		free = min(free, q.limit-q.used.Load())
	}
	return free
}

// Charge accounts n bytes against the device, failing when they do not fit.
func (d *Device) Charge(n uint64) bool { return chargeWithin(&d.used, d.Memory, n) }

// Refund returns n bytes charged earlier.
func (d *Device) Refund(n uint64) { d.used.Add(^(n - 1)) }

// PCIDeviceID is the chip's PCI id, e.g. 0x2330.
func (d *Device) PCIDeviceID() uint16 { return d.Profile.PCIDeviceID }
