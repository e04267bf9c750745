package smi

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/probe"
)

var sys = &probe.System{Driver: "580.95.05", CUDAVersion: 13000, GPUs: []probe.GPU{
	{Index: 0, Name: "NVIDIA H100 80GB HBM3", UUID: "GPU-1", BusID: "00000000:18:00.0", MemTotal: 81559 << 20, MemUsed: 480 << 20,
		MemFree: 81079 << 20, CCMajor: 9, PowerLimitMW: 700000, PCIDeviceID: 0x233010de},
}}

func TestQueryFormats(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, Query(&b, sys, "name,memory.total,compute_cap,power.limit,pci.device_id", "csv"))
	assert.Equal(t, "name, memory.total [MiB], compute_cap, power.limit [W], pci.device_id\n"+
		"NVIDIA H100 80GB HBM3, 81559 MiB, 9.0, 700.00 W, 0x233010DE\n", b.String())
	b.Reset()
	require.NoError(t, Query(&b, sys, "memory.free,utilization.gpu", "csv,noheader"))
	assert.Equal(t, "81079 MiB, 0 %\n", b.String())
	b.Reset()
	require.NoError(t, Query(&b, sys, "gpu_name, memory.used", "csv,noheader,nounits"))
	assert.Equal(t, "NVIDIA H100 80GB HBM3, 480\n", b.String())
	assert.Error(t, Query(&b, sys, "name,flux.capacitor", "csv"))
	assert.Error(t, Query(&b, sys, "name", "json"))
}

func TestList(t *testing.T) {
	var b bytes.Buffer
	List(&b, sys)
	assert.Equal(t, "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)\n", b.String())
}
