package shim

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:embed profiles/profiles.yaml
var profilesYAML []byte

// CUdevice_attribute numbers the model fills from profile fields. The runtime's
// cudaDeviceAttr uses the same numbers.
const (
	AttrMaxThreadsPerBlock        = 1
	AttrMaxBlockDimX              = 2
	AttrMaxGridDimX               = 5
	AttrMaxSharedMemoryPerBlock   = 8
	AttrTotalConstantMemory       = 9
	AttrWarpSize                  = 10
	AttrMaxPitch                  = 11
	AttrMaxRegistersPerBlock      = 12
	AttrClockRate                 = 13
	AttrTextureAlignment          = 14
	AttrGpuOverlap                = 15
	AttrMultiprocessorCount       = 16
	AttrKernelExecTimeout         = 17
	AttrIntegrated                = 18
	AttrCanMapHostMemory          = 19
	AttrComputeMode               = 20
	AttrSurfaceAlignment          = 30
	AttrConcurrentKernels         = 31
	AttrECCEnabled                = 32
	AttrPCIBusID                  = 33
	AttrPCIDeviceID               = 34
	AttrTCCDriver                 = 35
	AttrMemoryClockRate           = 36
	AttrGlobalMemoryBusWidth      = 37
	AttrL2CacheSize               = 38
	AttrMaxThreadsPerSM           = 39
	AttrAsyncEngineCount          = 40
	AttrUnifiedAddressing         = 41
	AttrPCIDomainID               = 50
	AttrTexturePitchAlignment     = 51
	AttrComputeCapabilityMajor    = 75
	AttrComputeCapabilityMinor    = 76
	AttrStreamPrioritiesSupport   = 78
	AttrGlobalL1CacheSupported    = 79
	AttrLocalL1CacheSupported     = 80
	AttrMaxSharedMemoryPerSM      = 81
	AttrMaxRegistersPerSM         = 82
	AttrManagedMemory             = 83
	AttrMultiGpuBoard             = 84
	AttrMultiGpuBoardGroupID      = 85
	AttrHostNativeAtomic          = 86
	AttrSingleToDoubleRatio       = 87
	AttrPageableMemoryAccess      = 88
	AttrConcurrentManagedAccess   = 89
	AttrComputePreemption         = 90
	AttrCanUseHostPtrForRegMem    = 91
	AttrCooperativeLaunch         = 95
	AttrCooperativeMultiDevice    = 96
	AttrMaxSharedMemPerBlockOptin = 97
	AttrHostRegisterSupported     = 99
	AttrPageableUsesHostPT        = 100
	AttrDirectManagedFromHost     = 101
	AttrVirtualMemoryManagement   = 102
	AttrMaxBlocksPerSM            = 106
	AttrMaxPersistingL2CacheSize  = 108
	AttrMaxAccessPolicyWindow     = 109
	AttrReservedSharedMemPerBlock = 111
	AttrSparseArraySupported      = 112
	AttrReadOnlyHostRegister      = 113
	AttrTimelineSemaphoreInterop  = 114
	AttrMemoryPoolsSupported      = 115
	AttrGPUDirectRDMASupported    = 116
	AttrGPUDirectRDMAFlushWrites  = 117
	AttrGPUDirectRDMAWritesOrder  = 118
	AttrMempoolHandleTypes        = 119
	AttrClusterLaunch             = 120
	AttrDeferredMappingArray      = 121
	AttrIPCEventSupported         = 125
	AttrUnifiedFunctionPointers   = 129
	AttrNumaConfig                = 130
	AttrNumaID                    = 131
	AttrMPSEnabled                = 133
	AttrHostNumaID                = 134
	AttrGPUPCIDeviceID            = 139
	AttrGPUPCISubsystemID         = 140
	AttrHostNumaMultinodeIPC      = 143
	// AttrMax is one past the highest attribute the model knows (CUDA 13.0).
	AttrMax = 148
)

// Profile is one product: its identity, its figures, and its full attribute vector.
type Profile struct {
	ID             string   `yaml:"id"`
	Aliases        []string `yaml:"aliases"`
	Name           string   `yaml:"name"`
	Arch           string   `yaml:"arch"`
	CC             [2]int   `yaml:"cc"`
	SMs            int      `yaml:"sms"`
	CoresPerSM     int      `yaml:"cores_per_sm"`
	Memory         uint64   `yaml:"memory"`
	NVMLReserved   uint64   `yaml:"nvml_reserved"`
	ClockMHz       int      `yaml:"clock_mhz"`
	MemClockMHz    int      `yaml:"mem_clock_mhz"`
	BusWidth       int      `yaml:"bus_width"`
	L2Bytes        int      `yaml:"l2_bytes"`
	PersistingL2   int      `yaml:"persisting_l2_bytes"`
	PCIDeviceID    uint16   `yaml:"pci_device_id"`
	PCISubsystemID uint16   `yaml:"pci_subsystem_id"`
	PCIe           [2]int   `yaml:"pcie"`
	PowerW         int      `yaml:"power_w"`
	VBIOS          string   `yaml:"vbios"`
	Brand          string   `yaml:"brand"`
	ECC            bool     `yaml:"ecc"`
	VMM            bool     `yaml:"vmm"`
	// NVML's view of the board: NVLink links and version (0 links: none), the media engines
	// [NVENC, NVDEC, NVJPG, OFA], whether MIG can be enabled, fans (0: passively cooled)
	// and the board part number.
	NVLinks       int            `yaml:"nvlinks"`
	NVLinkVersion int            `yaml:"nvlink_version"`
	Engines       [4]int         `yaml:"engines"`
	MIG           bool           `yaml:"mig"`
	Fans          int            `yaml:"fans"`
	PartNumber    string         `yaml:"part_number"`
	Overrides     map[int]int32  `yaml:"attrs"`
	Attrs         [AttrMax]int32 `yaml:"-"`
}

type archSpec struct {
	Base  string        `yaml:"base"`
	Attrs map[int]int32 `yaml:"attrs"`
}

type profileFile struct {
	Arch     map[string]archSpec `yaml:"arch"`
	Profiles []Profile           `yaml:"profiles"`
}

var (
	profilesOnce sync.Once
	profiles     []*Profile
	profilesErr  error
)

// Profiles returns every built-in profile, parsed once.
func Profiles() ([]*Profile, error) {
	profilesOnce.Do(func() { profiles, profilesErr = parseProfiles(profilesYAML) })
	return profiles, profilesErr
}

func parseProfiles(data []byte) ([]*Profile, error) {
	var f profileFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	var out []*Profile
	for i := range f.Profiles {
		p := &f.Profiles[i]
		if err := p.resolve(f.Arch); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (p *Profile) resolve(archs map[string]archSpec) error {
	var chain []archSpec
	for name, depth := p.Arch, 0; name != ""; depth++ {
		a, ok := archs[name]
		if !ok || depth > 8 {
			return fmt.Errorf("profile %s: unknown arch %q", p.ID, name)
		}
		chain = append(chain, a)
		name = a.Base
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if err := p.apply(chain[i].Attrs); err != nil {
			return err
		}
	}
	b2i := func(b bool) int32 {
		if b {
			return 1
		}
		return 0
	}
	derived := map[int]int32{
		AttrComputeCapabilityMajor:   int32(p.CC[0]),
		AttrComputeCapabilityMinor:   int32(p.CC[1]),
		AttrMultiprocessorCount:      int32(p.SMs),
		AttrClockRate:                int32(p.ClockMHz * 1000),
		AttrMemoryClockRate:          int32(p.MemClockMHz * 1000),
		AttrGlobalMemoryBusWidth:     int32(p.BusWidth),
		AttrL2CacheSize:              int32(p.L2Bytes),
		AttrMaxPersistingL2CacheSize: int32(p.PersistingL2),
		AttrECCEnabled:               b2i(p.ECC),
		AttrVirtualMemoryManagement:  b2i(p.VMM),
		AttrGPUPCIDeviceID:           int32(uint32(p.PCIDeviceID)<<16 | 0x10de),
		AttrGPUPCISubsystemID:        int32(uint32(p.PCISubsystemID)<<16 | 0x10de),
	}
	if err := p.apply(derived); err != nil {
		return err
	}
	if err := p.apply(p.Overrides); err != nil {
		return err
	}
	if p.Name == "" || p.SMs == 0 || p.Memory == 0 || p.CC[0] == 0 {
		return fmt.Errorf("profile %s: name, sms, memory and cc are required", p.ID)
	}
	return nil
}

func (p *Profile) apply(attrs map[int]int32) error {
	for k, v := range attrs {
		if k <= 0 || k >= AttrMax {
			return fmt.Errorf("profile %s: attribute %d out of range", p.ID, k)
		}
		p.Attrs[k] = v
	}
	return nil
}

// FindProfile looks a profile up by id or alias, case-insensitively.
func FindProfile(name string) (*Profile, error) {
	all, err := Profiles()
	if err != nil {
		return nil, err
	}
	want := strings.ToLower(strings.TrimSpace(name))
	for _, p := range all {
		if p.ID == want || strings.EqualFold(p.Name, want) {
			return p, nil
		}
		for _, a := range p.Aliases {
			if a == want {
				return p, nil
			}
		}
	}
	var ids []string
	for _, p := range all {
		ids = append(ids, p.ID)
	}
	sort.Strings(ids)
	return nil, fmt.Errorf("unknown profile %q (known: %s)", name, strings.Join(ids, ", "))
}

// NVMLTotal is the total memory NVML reports: what CUDA reports plus the driver's reserve.
func (p *Profile) NVMLTotal() uint64 { return p.Memory + p.NVMLReserved }
