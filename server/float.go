package server

import "math"

// f32 is a float argument the table's codec carried as its bits (remote's f32bits).
func f32(u uint64) float32 { return math.Float32frombits(uint32(u)) }
