package main

import "strings"

// The C types of driver 580's additions (green contexts, device resources, async
// notifications, checkpoints), kept apart from the main lists so that parallel edits of
// those lists do not collide: handles travel as void*, enumerations as int.
func init() {
	handles = append(handles, strings.Fields(`CUgreenCtx CUdevResourceDesc CUasyncCallbackHandle`)...)
	enums = append(enums, strings.Fields(`CUdevResourceType CUprocessState`)...)
}
