// NVIDIA's nvidia-smi asks NVML for a private export table before anything else and refuses
// to run without one ("Mismatch in versions between nvidia-smi and NVML"). The table starts
// with its size in bytes, and every caller checks an entry's offset against that size before
// using it. vgpu answers with a table that holds no entries: nvidia-smi then takes its
// documented-API paths for everything it shows.
#include <stdint.h>

static const uint64_t vgpu_nvml_empty_table[1] = {sizeof(vgpu_nvml_empty_table)};

const void *vgpu_nvml_export_table(void) { return vgpu_nvml_empty_table; }
