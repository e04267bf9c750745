package cuda

import (
	"encoding/binary"
	"os"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

func up580(t *testing.T, profile string) {
	t.Helper()
	t.Setenv("VGPU_PROFILE", profile)
	shim.Reset()
	t.Cleanup(shim.Reset)
	require.Equal(t, Success, Init(0))
	var ctx uintptr
	require.Equal(t, Success, DevicePrimaryCtxRetain(unsafe.Pointer(&ctx), 0))
	require.Equal(t, Success, CtxSetCurrent(ctx))
}

func deviceResource(t *testing.T) [devResourceSize]byte {
	t.Helper()
	var r [devResourceSize]byte
	require.Equal(t, Success, DeviceGetDevResource(0, unsafe.Pointer(&r), resTypeSM))
	return r
}

func dryRun(res *[devResourceSize]byte, flags, minCount uint32) (uint32, Result) {
	var nb uint32
	r := DevSmResourceSplitByCount(nil, unsafe.Pointer(&nb), unsafe.Pointer(res), nil, flags, minCount)
	return nb, r
}

// A group's size follows the documented rule of the device's architecture: 7.x two SMs and
// a multiple of 2, 8.x four and a multiple of 2, 9.0 eight and a multiple of 8.
func TestSMGroupsFollowTheArchitecturesGranularity(t *testing.T) {
	lockThread(t)
	for _, c := range []struct {
		profile       string
		sms           uint32
		minCount      uint32
		groupSize     uint32
		ignoreCosched uint32 // the group size when co-scheduling is ignored
	}{
		{"t4", 40, 1, 2, 2},
		{"t4", 40, 3, 4, 4},
		{"a100", 108, 1, 4, 2},
		{"a100", 108, 5, 6, 6},
		{"h100", 132, 1, 8, 2},
		{"h100", 132, 9, 16, 10},
	} {
		up580(t, c.profile)
		res := deviceResource(t)
		assert.Equal(t, c.sms, binary.LittleEndian.Uint32(res[resOffSM:]), c.profile)
		nb, r := dryRun(&res, 0, c.minCount)
		assert.Equal(t, Success, r)
		assert.Equal(t, c.sms/c.groupSize, nb, "%s, at least %d SMs", c.profile, c.minCount)
		nb, r = dryRun(&res, splitIgnoreCoscheduling, c.minCount)
		assert.Equal(t, Success, r)
		assert.Equal(t, c.sms/c.ignoreCosched, nb, "%s, at least %d SMs, co-scheduling ignored", c.profile, c.minCount)
	}
}

// Groups are disjoint and the remainder holds exactly the SMs no group took.
func TestSplitGroupsAreDisjointAndTheRemainderIsTheRest(t *testing.T) {
	lockThread(t)
	up580(t, "h100")
	res := deviceResource(t)
	var groups [5][devResourceSize]byte
	var rest [devResourceSize]byte
	nb := uint32(5)
	require.Equal(t, Success, DevSmResourceSplitByCount(unsafe.Pointer(&groups), unsafe.Pointer(&nb), unsafe.Pointer(&res), unsafe.Pointer(&rest), 0, 24))
	require.Equal(t, uint32(5), nb)
	var seen smMask
	for i := range groups {
		g, r := getResource(unsafe.Pointer(&groups[i]))
		require.Equal(t, Success, r)
		assert.Equal(t, uint32(24), g.mask.count())
		assert.False(t, g.mask.overlaps(seen), "group %d shares an SM", i)
		for j := range seen {
			seen[j] |= g.mask[j]
		}
	}
	rm, r := getResource(unsafe.Pointer(&rest))
	require.Equal(t, Success, r)
	assert.False(t, rm.mask.overlaps(seen))
	assert.Equal(t, uint32(132-120), rm.mask.count())
}

// A CUdevResource is the caller's bytes: whatever it changes is refused, and nothing it
// names can reach past its device's SMs.
func TestForgedResourcesAreRefused(t *testing.T) {
	lockThread(t)
	up580(t, "h100")
	for name, forge := range map[string]func(b []byte){
		"another type":            func(b []byte) { b[0] = 2 },
		"no driver tag":           func(b []byte) { b[4] ^= 0xff },
		"an SM past the device":   func(b []byte) { b[resOffMask+16] |= 0x80 },
		"a count that disagrees":  func(b []byte) { binary.LittleEndian.PutUint32(b[resOffSM:], 7) },
		"a device that is not":    func(b []byte) { binary.LittleEndian.PutUint32(b[resOffDev:], 99) },
		"flags no split sets":     func(b []byte) { b[resOffFlags] = 0x80 },
		"every SM bit of the set": func(b []byte) { copy(b[resOffMask:resOffMask+32], make([]byte, 32)); b[resOffMask+31] = 0xff },
	} {
		res := deviceResource(t)
		forge(res[:])
		var desc uintptr
		r := DevResourceGenerateDesc(unsafe.Pointer(&desc), unsafe.Pointer(&res), 1)
		assert.NotEqual(t, Success, r, name)
		_, r2 := dryRun(&res, 0, 8)
		assert.NotEqual(t, Success, r2, name)
	}
}

// A server's clients: one's green context and descriptor are unknown to another.
func TestAnotherClientsGreenContextIsUnknown(t *testing.T) {
	lockThread(t)
	up580(t, "h100")
	var green, desc uintptr
	shim.AsClient(1, func() {
		res := deviceResource(t)
		require.Equal(t, Success, DevResourceGenerateDesc(unsafe.Pointer(&desc), unsafe.Pointer(&res), 1))
		require.Equal(t, Success, GreenCtxCreate(unsafe.Pointer(&green), desc, 0, 0))
	})
	shim.AsClient(2, func() {
		var id uint64
		var ctx, g uintptr
		assert.Equal(t, ErrorInvalidHandle, GreenCtxGetId(green, unsafe.Pointer(&id)))
		assert.Equal(t, ErrorInvalidHandle, CtxFromGreenCtx(unsafe.Pointer(&ctx), green))
		assert.Equal(t, ErrorInvalidHandle, GreenCtxDestroy(green))
		assert.Equal(t, ErrorInvalidValue, GreenCtxCreate(unsafe.Pointer(&g), desc, 0, 0), "client 1's descriptor")
	})
	shim.AsClient(1, func() {
		var id uint64
		assert.Equal(t, Success, GreenCtxGetId(green, unsafe.Pointer(&id)), "still client 1's")
		assert.Equal(t, Success, GreenCtxDestroy(green))
	})
}

// Descriptors cannot be destroyed through the API, so one client's are bounded, and they
// go with the client.
func TestDescriptorsOfOneClientAreBounded(t *testing.T) {
	lockThread(t)
	up580(t, "h100")
	shim.AsClient(7, func() {
		res := deviceResource(t)
		var desc uintptr
		for i := 0; i < maxDescsPerOwner; i++ {
			require.Equal(t, Success, DevResourceGenerateDesc(unsafe.Pointer(&desc), unsafe.Pointer(&res), 1))
		}
		assert.Equal(t, ErrorOutOfMemory, DevResourceGenerateDesc(unsafe.Pointer(&desc), unsafe.Pointer(&res), 1))
	})
	shim.ReleaseOwned(7)
	shim.AsClient(7, func() {
		res := deviceResource(t)
		var desc uintptr
		assert.Equal(t, Success, DevResourceGenerateDesc(unsafe.Pointer(&desc), unsafe.Pointer(&res), 1), "a new client starts afresh")
	})
}

// A hostile count asks for no more than the bound: more groups than SMs is only a smaller split.
func TestSplitWithAHugeGroupCountWritesOnlyTheGroupsMade(t *testing.T) {
	lockThread(t)
	up580(t, "t4")
	res := deviceResource(t)
	out := make([]byte, devResourceSize*21)
	for i := range out {
		out[i] = 0xAA
	}
	nb := uint32(21)
	require.Equal(t, Success, DevSmResourceSplitByCount(unsafe.Pointer(&out[0]), unsafe.Pointer(&nb), unsafe.Pointer(&res), nil, 0, 2))
	assert.Equal(t, uint32(20), nb, "40 SMs make 20 groups of two")
	assert.Equal(t, byte(0xAA), out[devResourceSize*20], "the 21st entry is untouched")
}

// Checkpoints belong to the calling process: a server's client names itself by the pid it
// gave, never the server's or another's, and its state is its own.
func TestCheckpointNamesOnlyTheCallersProcess(t *testing.T) {
	lockThread(t)
	up580(t, "h100")
	shim.SetClientPID(1, 4242)
	shim.SetClientPID(2, 4343)
	t.Cleanup(func() { shim.SetClientPID(1, 0); shim.SetClientPID(2, 0) })
	shim.AsClient(1, func() {
		assert.Equal(t, ErrorInvalidValue, CheckpointProcessLock(int32(os.Getpid()), nil), "the server's own pid")
		assert.Equal(t, ErrorInvalidValue, CheckpointProcessLock(4343, nil), "another client's pid")
		assert.Equal(t, Success, CheckpointProcessLock(4242, nil))
	})
	shim.AsClient(2, func() {
		var st int32 = -1
		assert.Equal(t, Success, CheckpointProcessGetState(4343, unsafe.Pointer(&st)))
		assert.Equal(t, int32(procRunning), st, "client 1's lock is not client 2's")
	})
	shim.ReleaseOwned(1)
	checkpointMu.Lock()
	_, kept := checkpoints[1]
	checkpointMu.Unlock()
	assert.False(t, kept, "a departed client's checkpoint state is gone")
}

// Between checkpoint and restore the device bytes are gone (released); restore brings them
// back bit for bit.
func TestCheckpointClearsDeviceMemoryAndRestoreBringsItBack(t *testing.T) {
	lockThread(t)
	up580(t, "h100")
	pid := int32(os.Getpid())
	const n = 4096
	var p uint64
	require.Equal(t, Success, MemAlloc(unsafe.Pointer(&p), n))
	want := make([]byte, n)
	for i := range want {
		want[i] = byte(i*13 + 1)
	}
	require.Equal(t, Success, MemcpyHtoD(p, uintptr(unsafe.Pointer(&want[0])), n))
	require.Equal(t, Success, CheckpointProcessLock(pid, nil))
	require.Equal(t, Success, CheckpointProcessCheckpoint(pid, nil))
	got := make([]byte, n)
	require.Equal(t, Success, MemcpyDtoH(uintptr(unsafe.Pointer(&got[0])), p, n))
	assert.Equal(t, make([]byte, n), got, "released while checkpointed")
	require.Equal(t, Success, CheckpointProcessRestore(pid, nil))
	require.Equal(t, Success, CheckpointProcessUnlock(pid, nil))
	require.Equal(t, Success, MemcpyDtoH(uintptr(unsafe.Pointer(&got[0])), p, n))
	assert.Equal(t, want, got)
	var st int32 = -1
	require.Equal(t, Success, CheckpointProcessGetState(pid, unsafe.Pointer(&st)))
	assert.Equal(t, int32(procRunning), st)
}

// Memory freed behind a checkpoint's back fails the restore instead of writing elsewhere.
func TestRestoreOfFreedMemoryFailsTheProcess(t *testing.T) {
	lockThread(t)
	up580(t, "h100")
	pid := int32(os.Getpid())
	var p uint64
	require.Equal(t, Success, MemAlloc(unsafe.Pointer(&p), 4096))
	require.Equal(t, Success, CheckpointProcessLock(pid, nil))
	require.Equal(t, Success, CheckpointProcessCheckpoint(pid, nil))
	require.Equal(t, Success, MemFree(p))
	assert.Equal(t, ErrorIllegalState, CheckpointProcessRestore(pid, nil))
	var st int32 = -1
	require.Equal(t, Success, CheckpointProcessGetState(pid, unsafe.Pointer(&st)))
	assert.Equal(t, int32(procFailed), st)
}

// Edge data other than the default edge is refused where the model holds only default edges.
func TestGraphEdgeDataMustBeTheDefaultEdge(t *testing.T) {
	lockThread(t)
	up580(t, "h100")
	var g, a, b uintptr
	require.Equal(t, Success, GraphCreate(unsafe.Pointer(&g), 0))
	require.Equal(t, Success, GraphAddEmptyNode(unsafe.Pointer(&a), g, nil, 0))
	params := make([]byte, 256)
	params[0] = nodeEmpty
	edge := [8]byte{1, 0, 1}
	assert.Equal(t, ErrorInvalidValue, GraphAddNode2(unsafe.Pointer(&b), g, unsafe.Pointer(&a), unsafe.Pointer(&edge), 1, unsafe.Pointer(&params[0])))
	params[5] = 1
	assert.Equal(t, ErrorInvalidValue, GraphAddNode2(unsafe.Pointer(&b), g, unsafe.Pointer(&a), nil, 1, unsafe.Pointer(&params[0])), "reserved bytes")
	params[5] = 0
	require.Equal(t, Success, GraphAddNode2(unsafe.Pointer(&b), g, unsafe.Pointer(&a), nil, 1, unsafe.Pointer(&params[0])))
	var deps [1]uintptr
	ed := [1]uint64{^uint64(0)}
	num := uint64(1)
	require.Equal(t, Success, GraphNodeGetDependencies2(b, unsafe.Pointer(&deps), unsafe.Pointer(&ed), unsafe.Pointer(&num)))
	assert.Equal(t, a, deps[0])
	assert.Zero(t, ed[0])
}

// A server's client cannot put its host function or kernel parameters into a graph through
// cuGraphAddNode_v2: they are addresses in its own process.
func TestServedClientsCannotAddHostOrKernelNodes(t *testing.T) {
	lockThread(t)
	up580(t, "h100")
	shim.AsClient(3, func() {
		var g, n, ctx uintptr
		require.Equal(t, Success, DevicePrimaryCtxRetain(unsafe.Pointer(&ctx), 0))
		require.Equal(t, Success, CtxSetCurrent(ctx))
		require.Equal(t, Success, GraphCreate(unsafe.Pointer(&g), 0))
		params := make([]byte, 256)
		for _, typ := range []byte{nodeHost, nodeKernel} {
			params[0] = typ
			binary.LittleEndian.PutUint64(params[16:], 0xdeadbeef)
			assert.Equal(t, ErrorNotSupported, GraphAddNode2(unsafe.Pointer(&n), g, nil, nil, 0, unsafe.Pointer(&params[0])), "type %d", typ)
		}
	})
}
