// Tools (vgpu doctor) recognise vgpu by this exported symbol, whatever name the file has.
const char vgpu_build_info[] = "vgpu 0.1 (sim backend)";
