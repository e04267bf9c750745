# Sourced by the GPU scripts. nvidia_lib_dir NAME prints the directory of NVIDIA's NAME.so.12
# or NAME.so.13 in the CUDA toolkit's usual homes, or nothing where there is none.
nvidia_lib_dir() {
	local f
	f=$(ls /usr/local/cuda/lib64/"$1".so.1[23] /usr/local/cuda*/targets/*/lib/"$1".so.1[23] 2>/dev/null | head -1)
	if [ -n "$f" ]; then dirname "$f"; fi
}
