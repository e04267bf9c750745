package cudart

import (
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
)

// The runtime's capture-dependency and capture-info calls, its cudaLibrary* (the driver's
// cuLibrary*, cuda/library.go, with the runtime's initialisation and codes) and
// cudaGetExportTable (the driver's tables, as NVIDIA's runtime forwards them).

// StreamUpdateCaptureDependencies is cudaStreamUpdateCaptureDependencies: flags
// cudaStreamAddCaptureDependencies (0) or cudaStreamSetCaptureDependencies (1); the nodes
// must be the capture graph's.
func StreamUpdateCaptureDependencies(h uintptr, deps unsafe.Pointer, n uint64, flags uint32) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
	}
	return From(cuda.UpdateCaptureDependencies(s, deps, n, flags))
}

// StreamUpdateCaptureDependenciesPtsz is cudaStreamUpdateCaptureDependencies_ptsz.
func StreamUpdateCaptureDependenciesPtsz(h uintptr, deps unsafe.Pointer, n uint64, flags uint32) Error {
	return StreamUpdateCaptureDependencies(ptsz(h), deps, n, flags)
}

// StreamGetCaptureInfo12Ptsz is CUDA 12's cudaStreamGetCaptureInfo_ptsz: status and id.
func StreamGetCaptureInfo12Ptsz(h uintptr, status, id unsafe.Pointer) Error {
	return StreamGetCaptureInfo12(ptsz(h), status, id)
}

// StreamGetCaptureInfo13 is CUDA 13's cudaStreamGetCaptureInfo: status, and while capturing
// the capture's id and graph; the model records a capture in issue order, so the stream's
// dependency set is reported empty. Every output but the status is optional.
func StreamGetCaptureInfo13(h uintptr, status, id, graph, deps, edges, numDeps unsafe.Pointer) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
	}
	if status == nil {
		return ErrorInvalidValue
	}
	c := s.Capturing()
	if c == nil {
		shim.PutI32(status, 0) // cudaStreamCaptureStatusNone: the other outputs are left alone
		return Success
	}
	v := int32(1)
	if c.Invalidated {
		v = 2
	}
	shim.PutI32(status, v)
	shim.PutU64(id, c.ID)
	shim.PutPtr(graph, c.Graph.Handle)
	shim.PutPtr(deps, 0)
	shim.PutPtr(edges, 0)
	shim.PutU64(numDeps, 0)
	return Success
}

// StreamGetCaptureInfo13Ptsz is CUDA 13's cudaStreamGetCaptureInfo_ptsz.
func StreamGetCaptureInfo13Ptsz(h uintptr, status, id, graph, deps, edges, numDeps unsafe.Pointer) Error {
	return StreamGetCaptureInfo13(ptsz(h), status, id, graph, deps, edges, numDeps)
}

// libraryCall runs a driver library call after the runtime's initialisation.
func libraryCall(call func() cuda.Result) Error {
	if _, e := begin(); e != Success {
		return e
	}
	r := call()
	if r == cuda.ErrorInvalidHandle {
		return ErrorInvalidResourceHandle
	}
	return fromDriver(r)
}

// LibraryLoadData is cudaLibraryLoadData.
func LibraryLoadData(out, code, jitOpts, jitVals uintptr, nJit uint32, libOpts, libVals uintptr, nLib uint32) Error {
	return libraryCall(func() cuda.Result {
		return cuda.LibraryLoadData(unsafe.Pointer(out), code, jitOpts, jitVals, nJit, libOpts, libVals, nLib)
	})
}

// LibraryLoadFromFile is cudaLibraryLoadFromFile: the file is read in this process.
func LibraryLoadFromFile(out uintptr, name unsafe.Pointer, jitOpts, jitVals uintptr, nJit uint32, libOpts, libVals uintptr, nLib uint32) Error {
	return libraryCall(func() cuda.Result {
		return cuda.LibraryLoadFromFile(unsafe.Pointer(out), name, jitOpts, jitVals, nJit, libOpts, libVals, nLib)
	})
}

// LibraryUnload is cudaLibraryUnload.
func LibraryUnload(h uintptr) Error {
	return libraryCall(func() cuda.Result { return cuda.LibraryUnload(h) })
}

// LibraryGetKernel is cudaLibraryGetKernel.
func LibraryGetKernel(out, h uintptr, name unsafe.Pointer) Error {
	// A name the library does not define is cudaErrorSymbolNotFound (500, the driver's
	// CUDA_ERROR_NOT_FOUND), as NVIDIA's runtime answers on a GPU (tests/programs/library.cu).
	return libraryCall(func() cuda.Result { return cuda.LibraryGetKernel(unsafe.Pointer(out), h, name) })
}

// LibraryGetKernelCount is cudaLibraryGetKernelCount.
func LibraryGetKernelCount(count, h uintptr) Error {
	return libraryCall(func() cuda.Result { return cuda.LibraryGetKernelCount(unsafe.Pointer(count), h) })
}

// LibraryEnumerateKernels is cudaLibraryEnumerateKernels.
func LibraryEnumerateKernels(out uintptr, n uint32, h uintptr) Error {
	return libraryCall(func() cuda.Result { return cuda.LibraryEnumerateKernels(unsafe.Pointer(out), n, h) })
}

// LibraryGetUnifiedFunction is cudaLibraryGetUnifiedFunction.
func LibraryGetUnifiedFunction(out, h uintptr, name unsafe.Pointer) Error {
	return libraryCall(func() cuda.Result { return cuda.LibraryGetUnifiedFunction(unsafe.Pointer(out), h, name) })
}

// GetExportTable is cudaGetExportTable: the driver's export tables, by the same UUIDs.
func GetExportTable(table, id uintptr) Error {
	if table == 0 || id == 0 {
		return ErrorInvalidValue
	}
	return fromDriver(cuda.GetExportTable(unsafe.Pointer(table), unsafe.Pointer(id)))
}

// The runtime's error log is the driver's (cuda/logs.go); the codes are the same numbers.

// LogsRegisterCallback is cudaLogsRegisterCallback.
func LogsRegisterCallback(fn, data, out uintptr) Error {
	return fromDriver(cuda.LogsRegisterCallback(fn, data, out))
}

// LogsUnregisterCallback is cudaLogsUnregisterCallback.
func LogsUnregisterCallback(h uintptr) Error { return fromDriver(cuda.LogsUnregisterCallback(h)) }

// LogsCurrent is cudaLogsCurrent.
func LogsCurrent(it uintptr, flags uint32) Error { return fromDriver(cuda.LogsCurrent(it, flags)) }

// LogsDumpToFile is cudaLogsDumpToFile: written by this process.
func LogsDumpToFile(it, path uintptr, flags uint32) Error {
	return fromDriver(cuda.LogsDumpToFile(it, path, flags))
}

// LogsDumpToMemory is cudaLogsDumpToMemory.
func LogsDumpToMemory(it, buf, size uintptr, flags uint32) Error {
	return fromDriver(cuda.LogsDumpToMemory(it, buf, size, flags))
}

// RtLibraryGetManaged is cudaLibraryGetManaged: a managed variable's address and size.
func RtLibraryGetManaged(dptr, size unsafe.Pointer, h uintptr, name unsafe.Pointer) Error {
	return libraryCall(func() cuda.Result { return cuda.LibraryGetManaged(dptr, size, h, name) })
}

// RtLibraryGetGlobal is cudaLibraryGetGlobal: cuLibraryGetGlobal with runtime codes.
func RtLibraryGetGlobal(dptr, size unsafe.Pointer, h uintptr, name unsafe.Pointer) Error {
	return libraryCall(func() cuda.Result { return cuda.LibraryGetGlobal(dptr, size, h, name) })
}

// DeviceGetHostAtomicCapabilities is cudaDeviceGetHostAtomicCapabilities (cuda/streammisc.go).
func DeviceGetHostAtomicCapabilities(caps, ops unsafe.Pointer, count uint32, dev int32) Error {
	if _, e := begin(); e != Success {
		return e
	}
	return fromDriver(cuda.DeviceGetHostAtomicCapabilities(caps, ops, count, dev))
}

// DeviceGetP2PAtomicCapabilities is cudaDeviceGetP2PAtomicCapabilities.
func DeviceGetP2PAtomicCapabilities(caps, ops unsafe.Pointer, count uint32, src, dst int32) Error {
	if _, e := begin(); e != Success {
		return e
	}
	return fromDriver(cuda.DeviceGetP2PAtomicCapabilities(caps, ops, count, src, dst))
}
