package remote

import (
	"encoding/binary"
	"time"

	"vgpu/shim"
	"vgpu/wire"
)

// PingResult is what a fresh connection to a server shows: for `vgpu doctor`.
type PingResult struct {
	Devices   []shim.DeviceRecord
	RoundTrip time.Duration // the median of a few small requests
}

// Ping connects to server on its own connection (not the process's), checked as sec says,
// says hello, and times a few round trips.
func Ping(server, token string, sec Secure) (PingResult, error) {
	var r PingResult
	network, addr, err := ParseAddr(server)
	if err != nil {
		return r, err
	}
	c, err := dial(network, addr, sec)
	if err != nil {
		return r, err
	}
	defer c.Close()
	w, err := greet(c, token)
	if err != nil {
		return r, err
	}
	r.Devices = w.Devices
	var times []time.Duration
	for i := uint32(1); i <= 9; i++ {
		t := time.Now()
		if err := wire.WriteFrame(c, wire.Header{Kind: wire.KindRequest, Op: OpIsDevice, Seq: i}, binary.LittleEndian.AppendUint64(nil, 0)); err != nil {
			return r, err
		}
		if _, _, err := wire.ReadFrame(c); err != nil {
			return r, err
		}
		times = append(times, time.Since(t))
	}
	for i := range times { // the median of nine: sorted by insertion, few enough
		for j := i + 1; j < len(times); j++ {
			if times[j] < times[i] {
				times[i], times[j] = times[j], times[i]
			}
		}
	}
	r.RoundTrip = times[len(times)/2]
	return r, nil
}
