package local

import (
	"testing"

	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// A mark is a driver event recorded on the context's stream: its query is the driver's
// cuEventQuery (600 not ready, a fault what the work ran into), the stream's is the driver's
// cuStreamQuery, and unmarking destroys the event.
func TestMarksAreDriverEventsOnTheClientsStream(t *testing.T) {
	cc := useFakeDriver()
	b := &Backend{}
	made0, freed0 := fakeEvents()
	id, st := markIn(cc, nil)
	require.Equal(t, shim.OK, st)
	made, _ := fakeEvents()
	require.Equal(t, made0+1, made, "one driver event per mark")

	setFakePending(600)
	require.Equal(t, shim.ErrNotReady, b.Reached(id))
	require.Equal(t, shim.ErrNotReady, busyIn([]*cctxT{cc}))
	setFakePending(0)
	require.Equal(t, shim.OK, b.Reached(id))
	require.Equal(t, shim.OK, busyIn([]*cctxT{cc}))
	setFakePending(700) // the work faulted
	require.Equal(t, shim.ErrLaunchFailure, b.Reached(id))
	setFakePending(0)

	b.Unmark(id)
	_, freed := fakeEvents()
	require.Equal(t, freed0+1, freed, "unmarking destroys the driver event")
	require.Equal(t, shim.OK, b.Reached(id), "a mark no longer known is complete")
}
