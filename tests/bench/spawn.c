/* Times N runs of a program (posix_spawn to exit) and prints the median in microseconds.
 * usage: spawn N PROGRAM [NAME=VALUE ...]   (the NAME=VALUE pairs are its whole environment) */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
	if (argc < 3) { fprintf(stderr, "usage: spawn N PROGRAM [ENV...]\n"); return 2; }
	int n = atoi(argv[1]);
	double *t = calloc(n, sizeof *t);
	char *args[] = {argv[2], NULL};
	for (int i = 0; i < n; i++) {
		struct timespec a, b; pid_t pid; int st;
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (posix_spawn(&pid, argv[2], NULL, NULL, args, argv + 3) != 0) { perror("posix_spawn"); return 1; }
		waitpid(pid, &st, 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "run %d failed\n", i); return 1; }
		t[i] = (b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3;
	}
	qsort(t, n, sizeof *t, cmp);
	printf("%.0f\n", t[n / 2]);
	return 0;
}
