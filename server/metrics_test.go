package server

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, url, token string) (int, string) {
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMetricsListenOnLoopbackUnlessAHostIsGiven(t *testing.T) {
	assert.Equal(t, "127.0.0.1:9400", MetricsAddr(":9400"))
	assert.Equal(t, "127.0.0.1:9400", MetricsAddr("9400"))
	assert.Equal(t, "0.0.0.0:9400", MetricsAddr("0.0.0.0:9400"), "an explicit host is the operator's choice")
	a, err := ListenMetrics(":0", MetricsOptions{})
	require.NoError(t, err)
	assert.True(t, a.(*net.TCPAddr).IP.IsLoopback(), "bound %s", a)
}

// A taken address is an error returned at once, for vgpu serve to stop on.
func TestMetricsBindFailureIsReturned(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, err = ListenMetrics(ln.Addr().String(), MetricsOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "address already in use")
}

func TestMetricsShowNoPIDsUnlessAsked(t *testing.T) {
	stats.client(900001, 4242, true)
	defer stats.client(900001, 0, false)
	for _, pids := range []bool{false, true} {
		a, err := ListenMetrics("127.0.0.1:0", MetricsOptions{PIDs: pids})
		require.NoError(t, err)
		code, body := get(t, "http://"+a.String()+"/metrics", "")
		require.Equal(t, 200, code)
		assert.Contains(t, body, `vgpu_client_memory_bytes{client="900001"`)
		assert.Equal(t, pids, strings.Contains(body, `pid="4242"`), "pids=%v:\n%s", pids, body)
		assert.Equal(t, pids, strings.Contains(body, "4242"), "the PID appears nowhere unless asked")
	}
}

func TestMetricsTokenIsRequiredWhenSet(t *testing.T) {
	a, err := ListenMetrics("127.0.0.1:0", MetricsOptions{Token: "m-secret"})
	require.NoError(t, err)
	url := "http://" + a.String() + "/metrics"
	for token, want := range map[string]int{"": 401, "wrong": 401, "m-secret2": 401, "m-secre": 401, "m-secret": 200} {
		code, body := get(t, url, token)
		assert.Equal(t, want, code, "token %q", token)
		assert.Equal(t, want == 200, strings.Contains(body, "vgpu_clients"), "token %q", token)
	}
}
