/* A stand-in for a library Ollama bundles (libcudart, libcublas, libcublasLt): a real ELF
 * shared object with the right soname and none of the real functions, as cheap to ship in
 * CI as the real ones are not. */
int vgpu_standin_marker = 1;
