package shim

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

var logger atomic.Pointer[zap.SugaredLogger]

func init() { logger.Store(zap.NewNop().Sugar()) }

// Log is vgpu's logger: quiet (warnings only, to stderr) unless VGPU_LOG_LEVEL says otherwise.
func Log() *zap.SugaredLogger { return logger.Load() }

func initLog(c Config) {
	level := zapcore.WarnLevel
	if err := level.Set(strings.ToLower(c.LogLevel)); err != nil {
		level = zapcore.WarnLevel
	}
	if c.Trace && level > zapcore.InfoLevel {
		level = zapcore.InfoLevel
	}
	out := zapcore.Lock(os.Stderr)
	if c.LogFile != "" {
		if f, err := os.OpenFile(c.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
			out = zapcore.Lock(f)
		}
	}
	enc := zap.NewDevelopmentEncoderConfig()
	enc.TimeKey = "ts"
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), out, level)
	logger.Store(zap.New(core).Named("vgpu").With(zap.Int("pid", os.Getpid())).Sugar())
}

var onceMessages sync.Map

// WarnOnce logs a warning the first time key is seen in this process.
func WarnOnce(key, msg string, kv ...any) {
	if _, loaded := onceMessages.LoadOrStore(key, true); !loaded {
		Log().Warnw(msg, kv...)
	}
}

// Unimplemented answers an entry point listed as a stub: logged once (at info: tools such as
// nvidia-smi -q probe many optional ones), then code.
func Unimplemented(name string, code ...int32) int32 {
	if _, loaded := onceMessages.LoadOrStore("stub:"+name, true); !loaded {
		Log().Infow("entry point not implemented by vgpu", "function", name)
	}
	if len(code) > 0 {
		return code[0]
	}
	return 0
}

// Tracing reports whether VGPU_TRACE is on. Generated exports check it before anything else.
func Tracing() bool {
	if !tracing.Load() {
		S() // make sure the config has been read once
		return tracing.Load()
	}
	return true
}

// TraceBegin starts timing one call.
func TraceBegin() time.Time { return time.Now() }

// TraceBeginIf is TraceBegin when on, else nothing: forwarded calls trace only when asked.
func TraceBeginIf(on bool) time.Time {
	if !on {
		return time.Time{}
	}
	return time.Now()
}

// TraceEnd logs one call: opcode, name, result, arguments and duration.
func TraceEnd(start time.Time, op int, name string, result any, args ...any) {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('(')
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		switch v := a.(type) {
		case uintptr:
			fmt.Fprintf(&b, "%#x", v)
		default:
			fmt.Fprintf(&b, "%v", v)
		}
	}
	b.WriteByte(')')
	Log().Infow("trace", "op", op, "call", b.String(), "result", result, "ns", time.Since(start).Nanoseconds())
}

// DebugOnce logs at debug level the first time key is seen in this process.
func DebugOnce(key, msg string, kv ...any) {
	if _, loaded := onceMessages.LoadOrStore(key, true); !loaded {
		Log().Debugw(msg, kv...)
	}
}
