package main

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// SIGTERM and SIGINT end `vgpu serve`, which then dies of the signal as a process without
// a handler does. What must happen first (its unix socket removed, a CPU profile written)
// registers here; one handler runs it all, so that nothing dies half done.
var fatal struct {
	mu    sync.Mutex
	hooks map[int]func()
	next  int
	once  sync.Once
}

// atFatalSignal runs f before the process dies of SIGTERM or SIGINT, until cancel.
func atFatalSignal(f func()) (cancel func()) {
	fatal.once.Do(func() {
		fatal.hooks = map[int]func(){}
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		go func() {
			s := (<-sigs).(syscall.Signal)
			fatal.mu.Lock()
			for _, h := range fatal.hooks {
				h()
			}
			fatal.mu.Unlock()
			signal.Reset(s)
			syscall.Kill(os.Getpid(), s)
			time.Sleep(time.Second)
			os.Exit(128 + int(s))
		}()
	})
	fatal.mu.Lock()
	defer fatal.mu.Unlock()
	id := fatal.next
	fatal.next++
	fatal.hooks[id] = f
	return func() {
		fatal.mu.Lock()
		delete(fatal.hooks, id)
		fatal.mu.Unlock()
	}
}
