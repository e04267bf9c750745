package cuda

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// The driver API answers a second client's probes of the first's memory and context as it
// answers wild values: cuMemGetAddressRange finds nothing, cuPointerGetAttribute knows nothing,
// and A's contexts and streams cannot be made current, used or destroyed.
func TestDriverAPIRefusesAnotherClientsValues(t *testing.T) {
	lockThread(t)
	shim.Reset()
	t.Cleanup(shim.Reset)
	require.Equal(t, Success, Init(0))
	const n = 1 << 20
	var ptr uint64
	var ctx, primary, stream uintptr
	shim.AsClient(1, func() {
		require.Equal(t, Success, CtxCreate(unsafe.Pointer(&ctx), 0, 0))
		require.Equal(t, Success, MemAlloc(unsafe.Pointer(&ptr), n))
		require.Equal(t, Success, StreamCreate(unsafe.Pointer(&stream), 0))
		require.Equal(t, Success, DevicePrimaryCtxRetain(unsafe.Pointer(&primary), 0))
	})
	var wildPtr uint64
	var wildCtx, wildStream uintptr
	shim.AsClient(2, func() {
		require.Equal(t, Success, CtxCreate(unsafe.Pointer(&wildCtx), 0, 0))
		require.Equal(t, Success, MemAlloc(unsafe.Pointer(&wildPtr), n))
		require.Equal(t, Success, MemFree(wildPtr))
		require.Equal(t, Success, StreamCreate(unsafe.Pointer(&wildStream), 0))
		require.Equal(t, Success, StreamDestroy(wildStream))
	})
	shim.AsClient(2, func() {
		require.Equal(t, Success, CtxDestroy(wildCtx))
		var base, size, word uint64
		for _, off := range []uint64{0, 4096, n - 1} {
			want := MemGetAddressRange(unsafe.Pointer(&base), unsafe.Pointer(&size), wildPtr+off)
			assert.Equal(t, ErrorNotFound, want)
			assert.Equal(t, want, MemGetAddressRange(unsafe.Pointer(&base), unsafe.Pointer(&size), ptr+off), "probe at +%d", off)
			assert.Zero(t, base+size, "nothing of A's allocation was written out")
		}
		for _, attr := range []int32{ptrAttrContext, ptrAttrMemoryType, ptrAttrRangeStart, ptrAttrRangeSize} {
			want := PointerGetAttribute(unsafe.Pointer(&word), attr, wildPtr)
			assert.Equal(t, want, PointerGetAttribute(unsafe.Pointer(&word), attr, ptr), "attribute %d", attr)
		}
		assert.Equal(t, MemFree(wildPtr), MemFree(ptr))
		assert.Equal(t, MemsetD8(wildPtr, 0, n), MemsetD8(ptr, 0, n))
		for _, c := range []uintptr{ctx, primary} {
			assert.Equal(t, CtxPushCurrent(wildCtx), CtxPushCurrent(c))
			assert.Equal(t, CtxSetCurrent(wildCtx), CtxSetCurrent(c))
			assert.Equal(t, CtxDestroy(wildCtx), CtxDestroy(c))
			var id uint64
			assert.Equal(t, CtxGetId(wildCtx, unsafe.Pointer(&id)), CtxGetId(c, unsafe.Pointer(&id)))
		}
		assert.Equal(t, ErrorInvalidHandle, StreamDestroy(stream))
		assert.Equal(t, StreamSynchronize(wildStream), StreamSynchronize(stream))
		// B's primary context is its own: releasing or resetting it leaves A's alone.
		var mine uintptr
		require.Equal(t, Success, DevicePrimaryCtxRetain(unsafe.Pointer(&mine), 0))
		assert.NotEqual(t, primary, mine)
		require.Equal(t, Success, DevicePrimaryCtxRelease(0))
		assert.Equal(t, ErrorInvalidContext, DevicePrimaryCtxRelease(0), "A's retain is not B's to release")
		require.Equal(t, Success, DevicePrimaryCtxReset(0))
	})
	shim.AsClient(1, func() {
		var base, size uint64
		require.Equal(t, Success, MemGetAddressRange(unsafe.Pointer(&base), unsafe.Pointer(&size), ptr+4096))
		assert.Equal(t, ptr, base)
		assert.Equal(t, uint64(n), size)
		var flags uint32
		var active int32
		require.Equal(t, Success, DevicePrimaryCtxGetState(0, unsafe.Pointer(&flags), unsafe.Pointer(&active)))
		assert.Equal(t, int32(1), active, "A's primary context is still retained")
		assert.Equal(t, Success, CtxPushCurrent(ctx))
		assert.Equal(t, Success, StreamSynchronize(stream))
		assert.Equal(t, Success, StreamDestroy(stream))
		assert.Equal(t, Success, MemFree(ptr))
		assert.Equal(t, Success, CtxDestroy(ctx))
	})
}
