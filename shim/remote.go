package shim

import "fmt"

// DeviceRecord is how a server describes one of its devices to a client.
type DeviceRecord struct {
	Profile   string   `json:"profile"`
	Name      string   `json:"name"`
	Memory    uint64   `json:"memory"`
	Reserved  uint64   `json:"reserved"`
	UUID      [16]byte `json:"uuid"`
	Serial    string   `json:"serial"`
	PCIDomain int      `json:"pci_domain"`
	PCIBus    int      `json:"pci_bus"`
	PCIDev    int      `json:"pci_device"`
	Attrs     []int32  `json:"attrs"`
}

// RemoteDevices connects to the configured server and returns its devices. Package remote
// sets it; the shim cannot import the client.
var RemoteDevices = func(*Config) ([]DeviceRecord, error) {
	return nil, fmt.Errorf("this build has no remote client")
}

// Record describes d for a client.
func (d *Device) Record() DeviceRecord {
	return DeviceRecord{Profile: d.Profile.ID, Name: d.Name, Memory: d.Memory, Reserved: d.Reserved, UUID: d.UUID,
		Serial: d.Serial, PCIDomain: d.PCIDomain, PCIBus: d.PCIBus, PCIDev: d.PCIDev, Attrs: append([]int32(nil), d.Attrs[:]...)}
}

// Device rebuilds a server's device on the client.
func (r DeviceRecord) Device(idx int) (*Device, error) {
	p, err := FindProfile(r.Profile)
	if err != nil {
		return nil, err
	}
	d := &Device{Index: idx, Profile: p, Name: r.Name, Memory: r.Memory, Reserved: r.Reserved, UUID: r.UUID,
		Serial: r.Serial, PCIDomain: r.PCIDomain, PCIBus: r.PCIBus, PCIDev: r.PCIDev}
	copy(d.Attrs[:], r.Attrs)
	return d, nil
}

// LocalSidecar starts a private `vgpu serve --backend local` for this process and connects
// to it: how a program's library (which has no driver code of its own) runs VGPU_BACKEND=local.
// Package remote sets it.
var LocalSidecar func(*Config) ([]DeviceRecord, error)

// HasLocal is set by package local: this binary runs the real driver in-process.
var HasLocal bool

// LocalDevices loads the machine's real driver and returns its devices and the backend
// that runs on them. Package local sets it; only the server links it.
var LocalDevices = func(*Config) ([]DeviceRecord, Backend, error) {
	return nil, nil, fmt.Errorf("this build has no local backend (use vgpu serve --backend local)")
}
