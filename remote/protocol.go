package remote

import "vgpu/wire"

// The protocol's own operations and types live in wire/ (protocol.go), shared with the
// server; these names keep the client's code short.
const (
	OpPut           = wire.OpPut
	OpGet           = wire.OpGet
	OpIsDevice      = wire.OpIsDevice
	OpCopyD2D       = wire.OpCopyD2D
	OpLoadModule    = wire.OpLoadModule
	OpFunction      = wire.OpFunction
	OpLaunch        = wire.OpLaunch
	OpFuncQuery     = wire.OpFuncQuery
	OpCopyD2DAsync  = wire.OpCopyD2DAsync
	OpPut2D         = wire.OpPut2D
	OpGet2D         = wire.OpGet2D
	OpCopy2D        = wire.OpCopy2D
	OpShmAttach     = wire.OpShmAttach
	OpPutShm        = wire.OpPutShm
	OpGetShm        = wire.OpGetShm
	OpHostShare     = wire.OpHostShare
	OpHostUnshare   = wire.OpHostUnshare
	OpPutHost       = wire.OpPutHost
	OpGetHost       = wire.OpGetHost
	OpShmFileAttach = wire.OpShmFileAttach
	OpRingAttach    = wire.OpRingAttach
	OpHostShareFile = wire.OpHostShareFile
	OpLaunchAttrs   = wire.OpLaunchAttrs
	OpGlobal        = wire.OpGlobal
	OpPoolAttr      = wire.OpPoolAttr
	OpArrayLayout   = wire.OpArrayLayout
	OpLast          = wire.OpLast
	Chunk           = wire.Chunk
	MaxShared       = wire.MaxShared
	LaunchHeader    = wire.LaunchHeader
	ShmNonceOffset  = wire.ShmNonceOffset
	ShmNonceLen     = wire.ShmNonceLen
	MaxShmFileName  = wire.MaxShmFileName
)

type (
	Hello   = wire.Hello
	Welcome = wire.Welcome
)

// LaunchAttrsAt is wire.LaunchAttrsAt.
func LaunchAttrsAt(n int) int { return wire.LaunchAttrsAt(n) }
