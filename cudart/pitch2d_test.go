package cudart

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The answers NVIDIA's CUDA 12.4 runtime gave on an H200 (tests/programs/symbols.cu).
func TestPitches2DOverRowsNeedPitchesCoveringTheWidth(t *testing.T) {
	lockThread(t)
	_, _, e := Pitches2D(4096, 512, 513, 2)
	assert.Equal(t, ErrorInvalidPitchValue, e)
	_, _, e = Pitches2D(512, 4096, 513, 2)
	assert.Equal(t, ErrorInvalidPitchValue, e)
	dp, sp, e := Pitches2D(4096, 512, 512, 2)
	assert.Equal(t, Success, e)
	assert.Equal(t, [2]uint64{4096, 512}, [2]uint64{dp, sp})
}

func TestPitches2DOneRowNarrowerThanItsPitchIsInvalidValue(t *testing.T) {
	lockThread(t)
	_, _, e := Pitches2D(4096, 512, 513, 1)
	assert.Equal(t, ErrorInvalidValue, e)
}

func TestPitches2DOneRowTakesAZeroPitchAsItsWidth(t *testing.T) {
	lockThread(t)
	dp, sp, e := Pitches2D(0, 0, 100, 1)
	assert.Equal(t, Success, e)
	assert.Equal(t, [2]uint64{100, 100}, [2]uint64{dp, sp})
}
