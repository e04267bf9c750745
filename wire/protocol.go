package wire

import (
	"encoding/binary"

	"vgpu/shim"
)

// The protocol's own operations, beside the table-driven ones of shim/api/functions.txt:
// bulk moves of host memory, shipped device code, shared memory, and the few calls whose
// layout no table row can describe. The client (remote/) and the server (server/) both take
// them from here, so neither imports the other. Layouts are little-endian; "->" is the reply.
const (
	OpPut      = 0xF001 // u64 device address, then bytes: host -> device
	OpGet      = 0xF002 // u64 device address, u64 length: device -> host
	OpIsDevice = 0xF003 // u64 address: 1 if it is device memory
	OpCopyD2D  = 0xF004 // u64 dst, u64 src, u64 length: a copy that stays on the server
	// Device code: images are shipped once, kernels launched by handle.
	OpLoadModule = 0xF005 // image bytes -> status, u64 module
	OpFunction   = 0xF006 // u64 module, name -> status, u64 function, u32 count, (u32 offset, u32 size)...
	OpLaunch     = 0xF007 // u64 function, u32 grid[3], block[3], u64 shared, u64 stream, packed args -> status
	// What the server's driver says of a kernel: its attributes, or its occupancy.
	OpFuncQuery = 0xF008 // u64 function, u32 what (0 attributes, 1 occupancy), i32 block, u64 shared, u32 flags, i32 max dynamic shared -> status, i32 values...
	// A device-to-device copy in stream order, pipelined: it is captured like any async call.
	OpCopyD2DAsync = 0xF009 // u64 dst, u64 src, u64 length, u64 stream
	// Pitched copies.
	OpPut2D  = 0xF00A // u64 dst, u64 dpitch, u64 width, u64 rows, u64 stream, then rows*width bytes
	OpGet2D  = 0xF00B // u64 src, u64 spitch, u64 width, u64 rows -> status, rows*width bytes
	OpCopy2D = 0xF00C // u64 dst, u64 dpitch, u64 src, u64 spitch, u64 width, u64 rows, u64 stream: device to device
	// The shared-memory window of a client on the server's host.
	OpShmAttach = 0xF00D // u64 size; the frame carries the window's memfd (SCM_RIGHTS)
	OpPutShm    = 0xF00E // u64 dst, u64 offset, u64 length, u64 consumed-after: ring -> device
	OpGetShm    = 0xF00F // u64 src, u64 offset, u64 length: device -> download area
	// Pinned host memory shared with the server.
	OpHostShare   = 0xF010 // u64 client address, u64 size; the frame carries the memfd (SCM_RIGHTS); answer: status, u64 device address
	OpHostUnshare = 0xF011 // u64 client address: after the work before it, the server drops the mapping
	OpPutHost     = 0xF012 // u64 dst, u64 client address, u64 length: shared host memory -> device
	OpGetHost     = 0xF013 // u64 src, u64 client address, u64 length: device -> shared host memory
	// A shared file in place of a memfd (a VM's ivshmem region): u64 size, the nonce, the file's name.
	OpShmFileAttach = 0xF014
	// The rings of a client on the server's host (wire.RingConn): u64 the region's size; the
	// frame carries its memfd (SCM_RIGHTS). Or, in the client's shared file after its window:
	// u64 size, u64 offset, no descriptor. After the answer, which comes on the socket, both
	// sides' frames cross the rings.
	OpRingAttach = 0xF015
	// Pinned memory in the client's shared file, past its window (a VM guest's cudaMallocHost
	// carved from its ivshmem region): u64 client address, u64 size, u64 offset in the file;
	// answered as OpHostShare, undone by OpHostUnshare.
	OpHostShareFile = 0xF016
	// OpLaunch with launch attributes: the same header, then u32 count (at most
	// shim.MaxLaunchAttrs), count attributes as the program lays them out (u32 id, 4 bytes
	// padding, 64 bytes of value), then the packed arguments.
	OpLaunchAttrs = 0xF020
	// A module's __device__/__constant__ variable, resolved in the shipped image.
	OpGlobal = 0xF021 // u64 module, u64 size, u32 name length, name, initial bytes -> status, u64 address
	// cudaMemPoolGetAttribute / SetAttribute: the value's size depends on the attribute.
	OpPoolAttr = 0xF022 // u64 pool, i32 attr, u32 set, u64 value -> u32 cudaError_t, u64 value
	// A CUDA array's layout, for the caller's own arrays only.
	OpArrayLayout = 0xF023 // u64 array -> u32 cudaError_t, then u64 base, pitch, rows, depth, elem

	OpLast = 0xF0FF // the protocol's own ops are OpPut..OpLast

	Chunk          = 16 << 20 // bounds one frame of a bulk copy
	MaxShared      = 64 << 30 // one shared host allocation's bound: the server keeps its own mapping of it
	LaunchHeader   = 48       // the fixed part of an OpLaunch request
	ShmNonceOffset = 64       // in a shared file's header page, after the consumed counter
	ShmNonceLen    = 32
	MaxShmFileName = 64
)

// LaunchAttrsAt is where an OpLaunchAttrs request's arguments start, for n attributes.
func LaunchAttrsAt(n int) int { return LaunchHeader + 4 + n*shim.LaunchAttrSize }

// EncodeArrayLayout is the server's answer to OpArrayLayout: the status, then the layout
// when the status is 0.
func EncodeArrayLayout(status uint32, base, pitch, rows, depth, elem uint64) []byte {
	out := binary.LittleEndian.AppendUint32(nil, status)
	if status != 0 {
		return out
	}
	for _, v := range []uint64{base, pitch, rows, depth, elem} {
		out = binary.LittleEndian.AppendUint64(out, v)
	}
	return out
}

// Hello is a client's first frame.
type Hello struct {
	Version int    `json:"version"`
	Token   string `json:"token,omitempty"`
	PID     int    `json:"pid"`
	// Visible is the client's CUDA_VISIBLE_DEVICES, when set: the server shows it those of
	// its devices, numbered from 0, as NVIDIA's driver would.
	Visible *string `json:"visible,omitempty"`
}

// Welcome is the server's answer: the devices this client sees.
type Welcome struct {
	OK            bool                `json:"ok"`
	Error         string              `json:"error,omitempty"`
	DriverVersion string              `json:"driver_version"`
	CUDAVersion   int                 `json:"cuda_version"`
	Devices       []shim.DeviceRecord `json:"devices"`
}
