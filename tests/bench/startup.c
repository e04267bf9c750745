/* The smallest C program: its run time, with and without LD_PRELOAD of vgpu, is the
 * start-up cost vgpu adds to every process. */
int main(void) { return 0; }
