package shim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// DeviceConfig describes one virtual device.
type DeviceConfig struct {
	Profile string `yaml:"profile"`
	Name    string `yaml:"name"`   // overrides the profile's product name
	Memory  string `yaml:"memory"` // overrides totalGlobalMem: bytes or "16GiB", "80GB"
}

// Config is everything that shapes the virtual devices. Sources, later ones winning:
// built-in defaults, the YAML file named by VGPU_CONFIG, then VGPU_* environment variables.
type Config struct {
	Backend       string         `yaml:"backend"`             // sim (default) or remote; local comes later
	Server        string         `yaml:"server"`              // remote: unix:///path or tcp://host:port
	Token         string         `yaml:"token"`               // remote: shared secret for TCP servers
	ServerCA      string         `yaml:"server_ca"`           // remote: PEM file of the CA (or the certificate) a tcp:// server's TLS certificate must chain to
	ServerPin     string         `yaml:"server_fingerprint"`  // remote: sha256:HEX of the server's TLS certificate, as `vgpu serve` prints it
	MemoryLimit   string         `yaml:"memory_limit"`        // local: device memory this process may hold, e.g. 8GiB
	DeviceName    string         `yaml:"device_name"`         // local: the name this process sees
	Profile       string         `yaml:"profile"`             // profile of every device when devices is empty
	Count         int            `yaml:"count"`               // number of devices when devices is empty
	Devices       []DeviceConfig `yaml:"devices"`             // explicit per-device list
	DriverVersion string         `yaml:"driver_version"`      // NVIDIA driver, as NVML reports it
	CUDAVersion   int            `yaml:"cuda_driver_version"` // cuDriverGetVersion, e.g. 13000
	UUIDSeed      string         `yaml:"uuid_seed"`           // UUIDs and serials derive from it
	PCIBusBase    int            `yaml:"pci_bus_base"`        // PCI bus of device 0; device i is on base+i
	SimLaunch     string         `yaml:"sim_launch"`          // error (default) or noop
	LogLevel      string         `yaml:"log_level"`           // debug, info, warn (default), error
	LogFile       string         `yaml:"log_file"`            // default stderr
	Trace         bool           `yaml:"trace"`               // log every API call
}

// DefaultConfig is one H100 80GB HBM3 on a 580-series driver with CUDA 13.0.
func DefaultConfig() Config {
	return Config{
		Backend:       "sim",
		Profile:       "h100-sxm-80gb",
		Count:         1,
		DriverVersion: "580.95.05",
		CUDAVersion:   13000,
		UUIDSeed:      "vgpu",
		PCIBusBase:    0x18,
		SimLaunch:     "error",
		LogLevel:      "warn",
	}
}

// LoadConfig reads the file named by VGPU_CONFIG (if any) and then the environment.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	if path := getenv("VGPU_CONFIG"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("VGPU_CONFIG: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true) // a misspelt key is an error, not a silent default
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("VGPU_CONFIG %s: %w", path, err)
		}
	}
	str := func(key string, dst *string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	str("VGPU_BACKEND", &c.Backend)
	str("VGPU_SERVER", &c.Server)
	str("VGPU_TOKEN", &c.Token)
	str("VGPU_SERVER_CA", &c.ServerCA)
	str("VGPU_SERVER_FINGERPRINT", &c.ServerPin)
	str("VGPU_MEMORY_LIMIT", &c.MemoryLimit)
	str("VGPU_DEVICE_NAME", &c.DeviceName)
	str("VGPU_DRIVER_VERSION", &c.DriverVersion)
	str("VGPU_UUID_SEED", &c.UUIDSeed)
	str("VGPU_SIM_LAUNCH", &c.SimLaunch)
	str("VGPU_LOG_LEVEL", &c.LogLevel)
	str("VGPU_LOG_FILE", &c.LogFile)
	if v := getenv("VGPU_PROFILE"); v != "" {
		c.Profile = v
		for i := range c.Devices {
			c.Devices[i].Profile = v
		}
	}
	if v := getenv("VGPU_DEVICES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 64 {
			return c, fmt.Errorf("VGPU_DEVICES=%q: want a count from 0 to 64", v)
		}
		c.Count, c.Devices = n, nil
	}
	if v := getenv("VGPU_MEMORY"); v != "" {
		if _, err := ParseSize(v); err != nil {
			return c, fmt.Errorf("VGPU_MEMORY: %w", err)
		}
		if len(c.Devices) == 0 {
			for i := 0; i < c.Count; i++ {
				c.Devices = append(c.Devices, DeviceConfig{Profile: c.Profile})
			}
		}
		for i := range c.Devices {
			c.Devices[i].Memory = v
		}
	}
	if v := getenv("VGPU_CUDA_VERSION"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("VGPU_CUDA_VERSION=%q: want e.g. 13000", v)
		}
		c.CUDAVersion = n
	}
	if v := getenv("VGPU_TRACE"); v != "" && v != "0" && v != "false" {
		c.Trace = true
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	switch c.Backend {
	case "sim":
	case "remote":
		if c.Server == "" {
			return fmt.Errorf("backend remote needs a server (VGPU_SERVER=unix:///path or tcp://host:port)")
		}
	case "local": // needs the real driver: the server links it (vgpu serve --backend local)
	default:
		return fmt.Errorf("unknown backend %q (sim, remote, local)", c.Backend)
	}
	switch c.SimLaunch {
	case "error", "noop":
	default:
		return fmt.Errorf("sim_launch %q: want error or noop", c.SimLaunch)
	}
	if c.CUDAVersion < 11000 || c.CUDAVersion%10 != 0 {
		return fmt.Errorf("cuda_driver_version %d: want e.g. 12080 or 13000", c.CUDAVersion)
	}
	if parts := strings.Split(c.DriverVersion, "."); len(parts) < 2 {
		return fmt.Errorf("driver_version %q: want e.g. 580.95.05", c.DriverVersion)
	}
	if c.Count < 0 || c.Count > 64 || len(c.Devices) > 64 {
		return fmt.Errorf("at most 64 devices")
	}
	if c.MemoryLimit != "" {
		if _, err := ParseSize(c.MemoryLimit); err != nil {
			return fmt.Errorf("memory_limit (VGPU_MEMORY_LIMIT): %w", err)
		}
	}
	for i, d := range c.Devices {
		if d.Memory != "" {
			if _, err := ParseSize(d.Memory); err != nil {
				return fmt.Errorf("devices[%d].memory: %w", i, err)
			}
		}
	}
	return nil
}

// DeviceList expands Count/Profile into one entry per device.
func (c *Config) DeviceList() []DeviceConfig {
	if len(c.Devices) > 0 {
		out := make([]DeviceConfig, len(c.Devices))
		for i, d := range c.Devices {
			if d.Profile == "" {
				d.Profile = c.Profile
			}
			out[i] = d
		}
		return out
	}
	out := make([]DeviceConfig, c.Count)
	for i := range out {
		out[i].Profile = c.Profile
	}
	return out
}

// MaxSize is the largest size ParseSize takes: 1 PiB, far above any device, far below
// where byte counts overflow.
const MaxSize = 1 << 50

// ParseSize reads a byte count: digits, or a decimal number (an exponent of at most two
// digits allowed) with KB/MB/GB/TB (powers of 1000), KiB/MiB/GiB/TiB (powers of 1024) or B.
// The count must be finite, positive and a whole number of bytes once the unit applies
// (1.5KiB is 1536 bytes; 0.5 and 1e-9GiB are no whole byte), at most MaxSize. Errors quote
// s as given.
func ParseSize(s string) (uint64, error) {
	bad := func(why string) (uint64, error) { return 0, fmt.Errorf("bad size %q: %s", s, why) }
	num := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	if !decimal(num) { // NaN, Inf, signs, hex and fractions a/b never get this far
		return bad("want a positive number of bytes, such as 4096, 8GiB or 1.5GB")
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return bad("want a positive number of bytes, such as 4096, 8GiB or 1.5GB")
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	switch {
	case r.Sign() <= 0:
		return bad("not positive")
	case !r.IsInt():
		return bad("not a whole number of bytes")
	case r.Cmp(new(big.Rat).SetInt64(MaxSize)) > 0:
		return bad("more than 1 PiB")
	}
	return r.Num().Uint64(), nil
}

// decimal reports whether s is digits, optionally a fraction, optionally an exponent of one
// or two digits: exact for big.Rat, and never a huge power of ten to compute.
func decimal(s string) bool {
	digits := func(s string) (rest string, n int) {
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		return s[n:], n
	}
	s, n := digits(s)
	if n == 0 {
		return false
	}
	if strings.HasPrefix(s, ".") {
		if s, n = digits(s[1:]); n == 0 {
			return false
		}
	}
	if strings.HasPrefix(s, "e") || strings.HasPrefix(s, "E") {
		s = s[1:]
		if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
			s = s[1:]
		}
		if s, n = digits(s); n == 0 || n > 2 {
			return false
		}
	}
	return s == ""
}
