package shim

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap/zapcore"
)

// Logger is zap's core under the four levelled calls vgpu makes. Package zap itself would
// bring net/http and crypto/tls into every CUDA program that loads vgpu, and their
// initialisation into its first CUDA call.
type Logger struct {
	core zapcore.Core
}

func (l *Logger) Debugw(msg string, kv ...any) { l.log(zapcore.DebugLevel, msg, kv) }
func (l *Logger) Infow(msg string, kv ...any)  { l.log(zapcore.InfoLevel, msg, kv) }
func (l *Logger) Warnw(msg string, kv ...any)  { l.log(zapcore.WarnLevel, msg, kv) }
func (l *Logger) Errorw(msg string, kv ...any) { l.log(zapcore.ErrorLevel, msg, kv) }

// With is a logger that adds these key-value pairs to every entry.
func (l *Logger) With(kv ...any) *Logger { return &Logger{core: l.core.With(fields(kv))} }

func (l *Logger) log(level zapcore.Level, msg string, kv []any) {
	if level >= zapcore.WarnLevel {
		if h := logHook.Load(); h != nil {
			(*h)(level == zapcore.WarnLevel, msg)
		}
	}
	ent := zapcore.Entry{Level: level, Time: time.Now(), LoggerName: "vgpu", Message: msg}
	if ce := l.core.Check(ent, nil); ce != nil {
		ce.Write(fields(kv)...)
	}
}

// fields turns key-value pairs into typed zap fields.
func fields(kv []any) []zapcore.Field {
	out := make([]zapcore.Field, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		f := zapcore.Field{Key: fmt.Sprint(kv[i])}
		switch v := kv[i+1].(type) {
		case string:
			f.Type, f.String = zapcore.StringType, v
		case int:
			f.Type, f.Integer = zapcore.Int64Type, int64(v)
		case int32:
			f.Type, f.Integer = zapcore.Int64Type, int64(v)
		case int64:
			f.Type, f.Integer = zapcore.Int64Type, v
		case uint32:
			f.Type, f.Integer = zapcore.Uint64Type, int64(v)
		case uint64:
			f.Type, f.Integer = zapcore.Uint64Type, int64(v)
		case bool:
			f.Type = zapcore.BoolType
			if v {
				f.Integer = 1
			}
		case time.Duration:
			f.Type, f.Integer = zapcore.DurationType, int64(v)
		case error:
			f.Type, f.Interface = zapcore.ErrorType, v
		case fmt.Stringer:
			f.Type, f.Interface = zapcore.StringerType, v
		default:
			f.Type, f.Interface = zapcore.ReflectType, v
		}
		out = append(out, f)
	}
	return out
}

var logger atomic.Pointer[Logger]

// logHook sees every warning and error vgpu logs, whatever the level printed: the driver's
// error log (cuLogs*, cudaLogs*: cuda/logs.go) keeps them.
var logHook atomic.Pointer[func(warning bool, msg string)]

// SetLogHook installs the one hook.
func SetLogHook(h func(warning bool, msg string)) { logHook.Store(&h) }

func init() { logger.Store(&Logger{core: zapcore.NewNopCore()}) }

// Log is vgpu's logger: quiet (warnings only, to stderr) unless VGPU_LOG_LEVEL says otherwise.
func Log() *Logger { return logger.Load() }

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
	enc := zapcore.EncoderConfig{ // zap's development layout: time, level, name, message, fields
		TimeKey: "ts", LevelKey: "L", NameKey: "N", MessageKey: "M", StacktraceKey: "S",
		LineEnding: zapcore.DefaultLineEnding, EncodeLevel: zapcore.CapitalLevelEncoder,
		EncodeTime: zapcore.ISO8601TimeEncoder, EncodeDuration: zapcore.StringDurationEncoder,
	}
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), out, level)
	logger.Store(&Logger{core: core.With(fields([]any{"pid", os.Getpid()}))})
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
