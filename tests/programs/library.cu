// nvcc-flags: -lcuda
// nvcc-fatbin: fatbin/library_kernels.cu
// cuda-min: 12050 (cudaLibrary* came with CUDA 12.5)
// Context-independent loading: a fat binary the build makes with `nvcc -fatbin` (placed next
// to this program as library_kernels.fatbin; argv[1] overrides) loaded with the runtime's
// cudaLibraryLoadFromFile/LoadData and the driver's cuLibraryLoadData; kernels found by name
// (cudaLibraryGetKernel, cuLibraryGetKernel, cuKernelGetFunction, cuLibraryGetModule) and
// launched through both APIs; globals read and written (cudaLibraryGetGlobal,
// cuLibraryGetGlobal); kernel attributes, names and count; errors for unknown names.
#include "common.h"
#include <cuda.h>
#include <string>
#include <vector>
#include <algorithm>
#include <unistd.h>

#define DOK(call) dok_((call), #call, __LINE__)
static bool dok_(CUresult r, const char *what, int line)
{
	if (r == CUDA_SUCCESS) return true;
	const char *name = "?";
	cuGetErrorName(r, &name);
	printf("FAIL line %d: %s: %s\n", line, what, name);
	g_fails++;
	return false;
}
static void dstatus(const char *label, CUresult r)
{
	const char *name = "?";
	cuGetErrorName(r, &name);
	printf("%s: %s\n", label, name);
}

static std::string fatbin_path(int argc, char **argv)
{
	if (argc > 1) return argv[1];
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0) return "library_kernels.fatbin";
	exe[n] = 0;
	std::string s(exe);
	return s.substr(0, s.rfind('/') + 1) + "library_kernels.fatbin";
}

int main(int argc, char **argv)
{
	g_name = "library";
	std::string path = fatbin_path(argc, argv);
	FILE *f = fopen(path.c_str(), "rb");
	if (!f) { printf("FAIL no fat binary next to the program (library_kernels.fatbin)\n"); return done(); }
	std::vector<char> image;
	char buf[65536];
	size_t got;
	while ((got = fread(buf, 1, sizeof buf, f)) > 0) image.insert(image.end(), buf, buf + got);
	fclose(f);

	// The runtime's side.
	cudaLibrary_t lib, lib2;
	OK(cudaLibraryLoadFromFile(&lib, path.c_str(), nullptr, nullptr, 0, nullptr, nullptr, 0));
	OK(cudaLibraryLoadData(&lib2, image.data(), nullptr, nullptr, 0, nullptr, nullptr, 0));
	cudaKernel_t kscale, kcount, knone;
	OK(cudaLibraryGetKernel(&kscale, lib, "scale"));
	OK(cudaLibraryGetKernel(&kcount, lib, "count"));
	STATUS("runtime: kernel that does not exist", cudaLibraryGetKernel(&knone, lib, "nope"));
	void *dcounter = nullptr, *dscale = nullptr, *dtable = nullptr;
	size_t bytes = 0;
	OK(cudaLibraryGetGlobal(&dcounter, &bytes, lib, "counter"));
	printf("counter bytes: %zu\n", bytes);
	OK(cudaLibraryGetGlobal(&dscale, &bytes, lib, "cscale"));
	printf("cscale bytes: %zu\n", bytes);
	OK(cudaLibraryGetGlobal(&dtable, &bytes, lib, "table"));
	printf("table bytes: %zu\n", bytes);
	float sc = 0;
	int tab[4] = {0};
	OK(cudaMemcpy(&sc, dscale, sizeof sc, cudaMemcpyDeviceToHost));
	OK(cudaMemcpy(tab, dtable, sizeof tab, cudaMemcpyDeviceToHost));
	printf("initial cscale %.2f, table %d %d %d %d\n", sc, tab[0], tab[1], tab[2], tab[3]);
	STATUS("runtime: global that does not exist", cudaLibraryGetGlobal(&dscale, &bytes, lib, "nope"));
	void *other = nullptr;
	OK(cudaLibraryGetGlobal(&other, &bytes, lib2, "counter"));
	CHECK(other != dcounter, "a second load has globals of its own");

	const int n = 1000;
	float *x, hx[n];
	for (int i = 0; i < n; i++) hx[i] = (float)i;
	OK(cudaMalloc(&x, sizeof hx));
	OK(cudaMemcpy(x, hx, sizeof hx, cudaMemcpyHostToDevice));
	int nn = n;
	void *args[] = {&x, &nn};
	OK(cudaLaunchKernel((const void *)kscale, dim3((n + 127) / 128), dim3(128), args, 0, 0));
	OK(cudaMemcpy(hx, x, sizeof hx, cudaMemcpyDeviceToHost));
	printf("k runtime launch: %.1f %.1f %.1f\n", hx[0], hx[1], hx[999]);
	int zero = 0, v = 7;
	OK(cudaMemcpy(dcounter, &zero, sizeof zero, cudaMemcpyHostToDevice));
	void *cargs[] = {&v};
	OK(cudaLaunchKernel((const void *)kcount, dim3(4), dim3(32), cargs, 0, 0));
	int hc = -1;
	OK(cudaMemcpy(&hc, dcounter, sizeof hc, cudaMemcpyDeviceToHost));
	printf("k counter after count(7) x 128: %d\n", hc);

	// The driver's side, on the runtime's primary context.
	CUlibrary cl;
	DOK(cuLibraryLoadData(&cl, image.data(), nullptr, nullptr, 0, nullptr, nullptr, 0));
	CUkernel ck;
	DOK(cuLibraryGetKernel(&ck, cl, "scale"));
	CUkernel cnone;
	dstatus("driver: kernel that does not exist", cuLibraryGetKernel(&cnone, cl, "nope"));
	unsigned kc = 0;
	DOK(cuLibraryGetKernelCount(&kc, cl));
	printf("kernels in the library: %u\n", kc);
	std::vector<CUkernel> ks(kc);
	std::vector<std::string> names;
	if (kc && DOK(cuLibraryEnumerateKernels(ks.data(), kc, cl)))
		for (auto k : ks) { const char *nm = nullptr; if (DOK(cuKernelGetName(&nm, k))) names.push_back(nm); }
	std::sort(names.begin(), names.end());
	printf("kernel names:");
	for (auto &s : names) printf(" %s", s.c_str());
	printf("\n");
	CUdevice dev;
	DOK(cuDeviceGet(&dev, 0));
	int maxthr = 0, nregs = 0;
	DOK(cuKernelGetAttribute(&maxthr, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, ck, dev));
	DOK(cuKernelGetAttribute(&nregs, CU_FUNC_ATTRIBUTE_NUM_REGS, ck, dev));
	CHECK(maxthr > 0 && maxthr <= 1024 && nregs > 0, "kernel attributes in range");
	CUfunction fn, fn2;
	DOK(cuKernelGetFunction(&fn, ck));
	CUmodule mod;
	DOK(cuLibraryGetModule(&mod, cl));
	DOK(cuModuleGetFunction(&fn2, mod, "scale"));
	CHECK(fn == fn2, "the kernel's function is the module's");
	CUdeviceptr gp;
	size_t gb = 0;
	DOK(cuLibraryGetGlobal(&gp, &gb, cl, "table"));
	int newtab[4] = {0, 0, 0, 100};
	DOK(cuMemcpyHtoD(gp, newtab, sizeof newtab));
	for (int i = 0; i < n; i++) hx[i] = (float)i;
	OK(cudaMemcpy(x, hx, sizeof hx, cudaMemcpyHostToDevice));
	void *dargs[] = {&x, &nn};
	DOK(cuLaunchKernel(fn, (n + 127) / 128, 1, 1, 128, 1, 1, 0, nullptr, dargs, nullptr));
	DOK(cuCtxSynchronize());
	OK(cudaMemcpy(hx, x, sizeof hx, cudaMemcpyDeviceToHost));
	printf("k driver launch with the new table: %.1f %.1f %.1f\n", hx[0], hx[3], hx[999]);
	// A CUkernel passed as a CUfunction.
	DOK(cuLaunchKernel((CUfunction)ck, (n + 127) / 128, 1, 1, 128, 1, 1, 0, nullptr, dargs, nullptr));
	DOK(cuCtxSynchronize());
	OK(cudaMemcpy(hx, x, sizeof hx, cudaMemcpyDeviceToHost));
	printf("k launch by CUkernel: %.1f %.1f\n", hx[1], hx[3]);

	DOK(cuLibraryUnload(cl));
	OK(cudaLibraryUnload(lib));
	OK(cudaLibraryUnload(lib2));
	STATUS("runtime: load of garbage", cudaLibraryLoadData(&lib, "not a fat binary", nullptr, nullptr, 0, nullptr, nullptr, 0));
	cudaFree(x);
	return done();
}
