// Shared by tests/programs/*.cu: how a program reports. Every line is deterministic (no
// pointers, timings, device names or sizes of this particular GPU), so outputs diff byte for
// byte between NVIDIA's stack and vgpu. A line that depends on a kernel having really run
// starts with "k " (the CI sim runs kernels as no-ops and drops those lines); every other line
// must read the same under the sim. A failed check prints a "FAIL" line (after "k " when it
// depends on a kernel) and the program goes on; it always ends with "<name>: done" and exit 0.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cuda_runtime.h>

static const char *g_name = "program";
static int g_fails = 0;

// OK(call): a call that must succeed; a failure prints its line and status name.
#define OK(call) ok_((call), #call, __LINE__)
static inline bool ok_(cudaError_t e, const char *what, int line)
{
	if (e == cudaSuccess) return true;
	printf("FAIL line %d: %s: %s\n", line, what, cudaGetErrorName(e));
	g_fails++;
	return false;
}

// STATUS(label, call): an error path; prints the status NVIDIA's runtime answers, so the
// comparison with native output is the check. The call's last-error is cleared after it.
#define STATUS(label, call) status_(label, (call))
static inline cudaError_t status_(const char *label, cudaError_t e)
{
	printf("%s: %s\n", label, cudaGetErrorName(e));
	cudaGetLastError();
	return e;
}

// CHECK(cond, label): a fact that holds without a kernel having run.
#define CHECK(cond, label) check_((cond), label, "")
// KCHECK(cond, label): a fact that holds only once a kernel ran ("k " line).
#define KCHECK(cond, label) check_((cond), label, "k ")
static inline bool check_(bool ok, const char *label, const char *prefix)
{
	if (ok) printf("%s%s: yes\n", prefix, label);
	else { printf("%sFAIL %s\n", prefix, label); g_fails++; }
	return ok;
}

// LAUNCHED(label): after a kernel launch: the launch's status (every mode answers it).
#define LAUNCHED(label) do { cudaError_t e_ = cudaGetLastError(); if (e_ != cudaSuccess) { printf("FAIL launch %s: %s\n", label, cudaGetErrorName(e_)); g_fails++; } } while (0)

static inline int done()
{
	printf("%s: done\n", g_name);
	fflush(stdout);
	return 0;
}

// A small deterministic generator for test data (the same on every machine).
static inline unsigned lcg(unsigned &s) { s = s * 1664525u + 1013904223u; return s >> 8; }
