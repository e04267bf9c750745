package shim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A value a GPU backend's driver chose resolves only for the client that made it and only
// as its own kind; a texture and a surface may share a value; it is released once.
func TestHandlesAtTheDriversValuesAreOwnerAwareAndKindAware(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	tex, surf := &Texture{}, &Surface{}
	AsClient(1, func() {
		require.True(t, NewHandleAt(KindTexture, 3, tex))
		require.True(t, NewHandleAt(KindSurface, 3, surf), "another kind, the same value")
		assert.False(t, NewHandleAt(KindTexture, 3, tex), "live already")
		assert.False(t, NewHandleAt(KindTexture, 0, tex), "0 is no object")
		got, ok := LookupTexture(3)
		require.True(t, ok)
		assert.Same(t, tex, got)
		gs, ok := LookupSurface(3)
		require.True(t, ok)
		assert.Same(t, surf, gs)
	})
	AsClient(2, func() {
		_, ok := LookupTexture(3)
		assert.False(t, ok, "client 1's texture")
		assert.False(t, DestroyTexture(3))
		assert.False(t, Release(KindSurface, 3))
		assert.False(t, NewHandleAt(KindTexture, 3, &Texture{}), "a value live for client 1 is not handed to client 2")
	})
	AsClient(1, func() {
		assert.True(t, DestroyTexture(3))
		assert.False(t, DestroyTexture(3), "once")
		_, ok := LookupSurface(3)
		assert.True(t, ok, "the surface of the same value stays")
	})
	assert.Equal(t, 1, ReleaseOwned(1), "the client's surface goes with it")
}
