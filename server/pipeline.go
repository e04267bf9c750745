package server

import (
	"os"
	"runtime"
	"runtime/debug"
	"sync"

	"vgpu/shim"
)

// A session's posted launches can run on a thread of their own (VGPU_SERVE_PIPELINE=1): the
// session's thread reads, decodes and checks launch N+1 while the driver runs launch N, so a
// launch loop runs at the driver's rate rather than at the driver's plus the server's. Order
// is kept: every other request first waits until the launches before it have run, and a
// posted launch's failure is taken then, in the order the launches came.
var pipelineLaunches = os.Getenv("VGPU_SERVE_PIPELINE") == "1"

// pipeSlots launches may wait; argument blocks up to pipeArgs bytes are copied into the
// slot's own buffer (a larger one is launched on the session's thread, after a drain).
const (
	pipeSlots = 256
	pipeArgs  = 1024
)

type pipeJob struct {
	fn     uintptr
	params []shim.ParamInfo
	lc     shim.LaunchConfig
	args   []byte
	buf    [pipeArgs]byte
}

// launchPipe is one session's launch thread and its queue.
type launchPipe struct {
	cb      shim.CodeBackend
	mu      sync.Mutex
	cond    sync.Cond
	jobs    [pipeSlots]pipeJob
	head, n int         // next job to run, jobs queued (running included)
	idle    bool        // the launch thread waits for work
	waiting bool        // the session's thread waits for room or a drain
	err     shim.Status // the first failure since the last drain
	stopped bool
	faulted any // a panic on the launch thread: the session ends
	done    chan struct{}
}

func newLaunchPipe(cb shim.CodeBackend, owner uint64, view []*shim.Device) *launchPipe {
	p := &launchPipe{cb: cb, done: make(chan struct{})}
	p.cond.L = &p.mu
	go p.run(owner, view)
	return p
}

// submit queues a launch; false when it is not for the pipe (its arguments are too large, or
// the launch thread has faulted).
func (p *launchPipe) submit(fn uintptr, params []shim.ParamInfo, lc shim.LaunchConfig, args []byte) bool {
	if len(args) > pipeArgs {
		return false
	}
	p.mu.Lock()
	for p.n == pipeSlots && p.faulted == nil {
		// Full: wait until half has run, so that the two threads do not wake each other per launch.
		p.waiting = true
		p.cond.Wait()
	}
	if p.faulted != nil { // the launch thread is gone; the session ends at its next drain
		p.mu.Unlock()
		return false
	}
	j := &p.jobs[(p.head+p.n)%pipeSlots]
	j.fn, j.params, j.lc = fn, params, lc
	j.args = j.buf[:copy(j.buf[:], args)]
	p.n++
	wake := p.idle
	p.mu.Unlock()
	if wake {
		p.cond.Broadcast()
	}
	return true
}

// drain waits until every queued launch has run and returns the first failure among them
// (OK if none), and whether the launch thread faulted.
func (p *launchPipe) drain() (shim.Status, any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.n > 0 && p.faulted == nil {
		p.waiting = true
		p.cond.Wait()
	}
	st := p.err
	p.err = shim.OK
	return st, p.faulted
}

// stop drains and ends the launch thread.
func (p *launchPipe) stop() {
	p.drain()
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.cond.Broadcast()
	<-p.done
}

func (p *launchPipe) run(owner uint64, view []*shim.Device) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(p.done)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	shim.EnterClient(owner)
	defer shim.LeaveClient()
	if view != nil {
		shim.SetView(view)
	}
	slot := shim.NewCallSlot() // the launches are this session's calls in flight too
	defer slot.Close()
	defer func() {
		if r := recover(); r != nil {
			p.mu.Lock()
			p.faulted = r
			p.mu.Unlock()
			p.cond.Broadcast()
		}
	}()
	p.mu.Lock()
	for {
		for p.n == 0 && !p.stopped {
			p.idle = true
			p.cond.Wait()
			p.idle = false
		}
		if p.n == 0 && p.stopped {
			p.mu.Unlock()
			return
		}
		j := &p.jobs[p.head]
		p.mu.Unlock()
		slot.Enter()
		st := p.cb.LaunchPacked(j.fn, j.params, j.lc, j.args)
		slot.Leave()
		p.mu.Lock()
		if st != shim.OK && p.err == shim.OK {
			p.err = st
		}
		p.head = (p.head + 1) % pipeSlots
		p.n--
		if p.waiting && (p.n == 0 || p.n <= pipeSlots/2) {
			p.waiting = false
			p.cond.Broadcast()
		}
	}
}
