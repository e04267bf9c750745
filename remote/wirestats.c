// With VGPU_STATS=1 a remote client logs what its connection carried when the program exits
// (remote/wirestats.go); the destructor calls into Go only once armed.
extern void vgpuRemoteStatsAtExit(void);

static volatile int armed;

void vgpu_remote_stats_arm(void) { armed = 1; }

__attribute__((destructor)) static void vgpu_remote_stats_at_exit(void) {
	if (armed) vgpuRemoteStatsAtExit();
}
