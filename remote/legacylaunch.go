package remote

import "vgpu/cuda"

// The legacy launches over the connection: the function's block shape, shared size and
// parameters are the client's (cuda/legacylaunch.go, {local} rows); the launch is
// cuLaunchKernel's, with the parameters as one packed buffer.

func legacyLauncher(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, stream uintptr, params, extra uintptr) cuda.Result {
	return cuda.Result(LaunchFunction(f, gx, gy, gz, bx, by, bz, shared, stream, params, extra))
}

// Launch is cuLaunch over the connection.
func Launch(f uintptr) int32 { return int32(cuda.LegacyLaunch(f, 1, 1, 0, legacyLauncher)) }

// LaunchGrid is cuLaunchGrid over the connection.
func LaunchGrid(f uintptr, gx, gy int32) int32 {
	return int32(cuda.LegacyLaunch(f, gx, gy, 0, legacyLauncher))
}

// LaunchGridAsync is cuLaunchGridAsync over the connection.
func LaunchGridAsync(f uintptr, gx, gy int32, stream uintptr) int32 {
	return int32(cuda.LegacyLaunch(f, gx, gy, stream, legacyLauncher))
}
