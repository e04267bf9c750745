package shim

import "sync"

// Interprocess events on a real GPU. An exported event is also a driver event made
// interprocess in the exporter's process, whose driver IPC handle its registry record
// carries; another process opens that with the driver, so a record in one process orders the
// waits and answers the queries of the other, as NVIDIA's interprocess events do. Only the
// client that made (or opened) the driver event uses it; another client of the same process
// sharing the model's event keeps the model's semantics.

// IPCEventDriver is a backend whose interprocess events are the driver's.
type IPCEventDriver interface {
	// IPCEventExport makes an interprocess driver event in the caller's context on dev.
	IPCEventExport(dev int) (uintptr, [IPCHandleSize]byte, Status)
	// IPCEventImport is cuIpcOpenEventHandle in the caller's context on dev.
	IPCEventImport(h [IPCHandleSize]byte, dev int) (uintptr, Status)
	IPCEventRecord(ev uintptr, dev int) Status
	IPCEventWait(ev uintptr, dev int) Status
	// IPCEventQuery is OK once reached, ErrNotReady before; wait blocks until reached.
	IPCEventQuery(ev uintptr, dev int, wait bool) Status
	IPCEventFree(owner uint64, ev uintptr, dev int)
}

// drvEvent is the driver event behind a model event, and the client whose it is.
type drvEvent struct {
	ev    uintptr
	dev   int
	owner uint64
}

var drvEvents sync.Map // *Event -> *drvEvent

// callerDevice is the calling thread's current device index (0 with no context).
func callerDevice() int {
	if c := CurrentContext(); c != nil && c.Dev != nil {
		return c.Dev.Index
	}
	return 0
}

// ipcEventExport gives e a driver event of the caller's and returns its driver handle; ok is
// false where the backend has none (the opener then gets an event of its own).
func ipcEventExport(e *Event) (h [IPCHandleSize]byte, ok bool) {
	drv, isDrv := S().Backend.(IPCEventDriver)
	if !isDrv {
		return h, false
	}
	dev := callerDevice()
	ev, h, st := drv.IPCEventExport(dev)
	if st != OK {
		Log().Warnw("no driver event for an interprocess event: other processes get one of their own", "status", st)
		return h, false
	}
	drvEvents.Store(e, &drvEvent{ev: ev, dev: dev, owner: CallerOwner()})
	return h, true
}

// ipcEventImport opens another process's driver event for the caller as a new event with
// flags; ok is false where the driver refused or the backend has none.
func ipcEventImport(h [IPCHandleSize]byte, flags uint32) (*Event, bool) {
	drv, isDrv := S().Backend.(IPCEventDriver)
	if !isDrv {
		return nil, false
	}
	dev := callerDevice()
	ev, st := drv.IPCEventImport(h, dev)
	if st != OK {
		return nil, false
	}
	e := NewEvent(flags)
	drvEvents.Store(e, &drvEvent{ev: ev, dev: dev, owner: CallerOwner()})
	return e, true
}

// driverEvent is e's driver event when the caller may use it on device dev (-1: any).
func driverEvent(e *Event, dev int) (*drvEvent, IPCEventDriver) {
	v, ok := drvEvents.Load(e)
	if !ok {
		return nil, nil
	}
	d := v.(*drvEvent)
	drv, isDrv := S().Backend.(IPCEventDriver)
	if !isDrv || d.owner != CallerOwner() || (dev >= 0 && dev != d.dev) {
		return nil, nil
	}
	return d, drv
}

// ipcEventRecorded records e's driver event on the caller's stream on dev too.
func ipcEventRecorded(e *Event, dev *Device) Status {
	if dev == nil {
		return OK
	}
	if d, drv := driverEvent(e, dev.Index); d != nil {
		return drv.IPCEventRecord(d.ev, d.dev)
	}
	return OK
}

// ipcEventWaited makes the caller's work on dev wait for e's driver event.
func ipcEventWaited(e *Event, dev *Device) Status {
	if dev == nil {
		return OK
	}
	if d, drv := driverEvent(e, dev.Index); d != nil {
		return drv.IPCEventWait(d.ev, d.dev)
	}
	return OK
}

// ipcEventQuery is the driver event's answer for e, when e has one the caller may use.
func ipcEventQuery(e *Event, wait bool) (Status, bool) {
	if d, drv := driverEvent(e, -1); d != nil {
		return drv.IPCEventQuery(d.ev, d.dev, wait), true
	}
	return OK, false
}

// ipcEventDestroyed frees e's driver event when the caller is its client.
func ipcEventDestroyed(e *Event) {
	if d, drv := driverEvent(e, -1); d != nil {
		drvEvents.Delete(e)
		drv.IPCEventFree(d.owner, d.ev, d.dev)
	}
}
