// Graphs built by hand: memset, kernel, 1D memcpy, host, empty, event-record and child-graph
// nodes with dependencies; instantiate, upload, launch; the executable graph's parameters
// changed in place (cudaGraphExec{Kernel,Memset,Host,Memcpy}NodeSetParams*) and from an edited
// graph by cudaGraphExecUpdate, which refuses a changed topology.
#include "common.h"

__global__ void axpb(float *x, float a, float b, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) x[i] = a * x[i] + b;
}

struct HostRec { const float *src; float first, last; int n; int calls; int tag; };
static void CUDART_CB host_a(void *p) { HostRec *r = (HostRec *)p; r->first = r->src[0]; r->last = r->src[r->n - 1]; r->calls++; r->tag = 1; }
static void CUDART_CB host_b(void *p) { HostRec *r = (HostRec *)p; r->first = r->src[0]; r->last = r->src[r->n - 1]; r->calls++; r->tag = 2; }

static const char *type_name(cudaGraphNodeType t)
{
	switch (t) {
	case cudaGraphNodeTypeKernel: return "kernel";
	case cudaGraphNodeTypeMemcpy: return "memcpy";
	case cudaGraphNodeTypeMemset: return "memset";
	case cudaGraphNodeTypeHost: return "host";
	case cudaGraphNodeTypeGraph: return "graph";
	case cudaGraphNodeTypeEmpty: return "empty";
	case cudaGraphNodeTypeWaitEvent: return "wait-event";
	case cudaGraphNodeTypeEventRecord: return "event-record";
	default: return "other";
	}
}

int main()
{
	g_name = "graphs";
	const int n = 4096;
	float *d, *h, *h2;
	OK(cudaMalloc(&d, n * sizeof(float)));
	OK(cudaMallocHost(&h, n * sizeof(float)));
	OK(cudaMallocHost(&h2, n * sizeof(float)));
	memset(h, 0, n * sizeof(float));
	memset(h2, 0, n * sizeof(float));
	cudaEvent_t ev;
	OK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));

	cudaGraph_t g, child;
	OK(cudaGraphCreate(&g, 0));
	OK(cudaGraphCreate(&child, 0));

	cudaGraphNode_t mset, k1, cp, host, empty, rec, sub, cp2;
	cudaMemsetParams mp;
	memset(&mp, 0, sizeof mp);
	mp.dst = d; mp.pitch = 0; mp.value = 0; mp.elementSize = 4; mp.width = n; mp.height = 1;
	OK(cudaGraphAddMemsetNode(&mset, g, nullptr, 0, &mp));

	float a = 1.0f, b = 2.0f;
	int nn = n;
	void *args[] = {&d, &a, &b, &nn};
	cudaKernelNodeParams kp;
	memset(&kp, 0, sizeof kp);
	kp.func = (void *)axpb; kp.gridDim = dim3(n / 256); kp.blockDim = dim3(256); kp.sharedMemBytes = 0; kp.kernelParams = args; kp.extra = nullptr;
	OK(cudaGraphAddKernelNode(&k1, g, &mset, 1, &kp));
	OK(cudaGraphAddMemcpyNode1D(&cp, g, &k1, 1, h, d, n * sizeof(float), cudaMemcpyDeviceToHost));
	HostRec rec1 = {h, -1, -1, n, 0, 0};
	cudaHostNodeParams hp;
	memset(&hp, 0, sizeof hp);
	hp.fn = host_a; hp.userData = &rec1;
	OK(cudaGraphAddHostNode(&host, g, &cp, 1, &hp));
	OK(cudaGraphAddEmptyNode(&empty, g, &host, 1));
	OK(cudaGraphAddEventRecordNode(&rec, g, &empty, 1, ev));
	// The child doubles every element.
	float a2 = 2.0f, b2 = 0.0f;
	void *args2[] = {&d, &a2, &b2, &nn};
	cudaKernelNodeParams kp2 = kp;
	kp2.kernelParams = args2;
	cudaGraphNode_t ck;
	OK(cudaGraphAddKernelNode(&ck, child, nullptr, 0, &kp2));
	OK(cudaGraphAddChildGraphNode(&sub, g, &rec, 1, child));
	OK(cudaGraphAddMemcpyNode1D(&cp2, g, &sub, 1, h2, d, n * sizeof(float), cudaMemcpyDeviceToHost));

	size_t count = 0;
	OK(cudaGraphGetNodes(g, nullptr, &count));
	printf("nodes: %zu\n", count);
	cudaGraphNode_t mine[] = {mset, k1, cp, host, empty, rec, sub, cp2};
	printf("types:");
	for (auto nd : mine) { cudaGraphNodeType t; if (OK(cudaGraphNodeGetType(nd, &t))) printf(" %s", type_name(t)); }
	printf("\n");
	size_t ndeps = 0;
#if CUDART_VERSION >= 13000 // CUDA 13 added the edge data argument
	OK(cudaGraphNodeGetDependentNodes(k1, nullptr, nullptr, &ndeps));
#else
	OK(cudaGraphNodeGetDependentNodes(k1, nullptr, &ndeps));
#endif
	printf("kernel node's dependents: %zu\n", ndeps);
	cudaKernelNodeParams got;
	memset(&got, 0, sizeof got);
	OK(cudaGraphKernelNodeGetParams(k1, &got));
	CHECK(got.func == (void *)axpb && got.blockDim.x == 256 && got.gridDim.x == n / 256, "kernel node's parameters read back");

	cudaGraphExec_t exec;
	OK(cudaGraphInstantiate(&exec, g, 0));
	cudaStream_t s;
	OK(cudaStreamCreate(&s));
	OK(cudaGraphUpload(exec, s));
	OK(cudaGraphLaunch(exec, s));
	OK(cudaStreamSynchronize(s));
	printf("host node calls %d tag %d\n", rec1.calls, rec1.tag);
	printf("k host node saw %.1f %.1f, after child %.1f %.1f\n", rec1.first, rec1.last, h2[0], h2[n - 1]);
	STATUS("event recorded by the graph", cudaEventQuery(ev));
	for (int i = 0; i < 3; i++) OK(cudaGraphLaunch(exec, s));
	OK(cudaStreamSynchronize(s));
	printf("host node calls after 3 more launches: %d\n", rec1.calls);

	// In-place changes to the executable graph.
	float b5 = 5.0f;
	void *args5[] = {&d, &a, &b5, &nn};
	cudaKernelNodeParams kp5 = kp;
	kp5.kernelParams = args5;
	OK(cudaGraphExecKernelNodeSetParams(exec, k1, &kp5));
	cudaMemsetParams mp1 = mp;
	mp1.value = 0x3f800000; // 1.0f
	OK(cudaGraphExecMemsetNodeSetParams(exec, mset, &mp1));
	HostRec rec2 = {h, -1, -1, n, 0, 0};
	cudaHostNodeParams hp2 = {host_b, &rec2};
	OK(cudaGraphExecHostNodeSetParams(exec, host, &hp2));
	float *h3;
	OK(cudaMallocHost(&h3, n * sizeof(float)));
	memset(h3, 0, n * sizeof(float));
	OK(cudaGraphExecMemcpyNodeSetParams1D(exec, cp2, h3, d, n * sizeof(float), cudaMemcpyDeviceToHost));
	OK(cudaGraphLaunch(exec, s));
	OK(cudaStreamSynchronize(s));
	printf("after exec set-params: old host node calls %d, new %d tag %d\n", rec1.calls, rec2.calls, rec2.tag);
	printf("k new host node saw %.1f, new copy target %.1f, old target %.1f\n", rec2.first, h3[n - 1], h2[n - 1]);
	// The template graph is unchanged by exec set-params.
	OK(cudaGraphKernelNodeGetParams(k1, &got));
	CHECK(got.kernelParams != nullptr, "template kernel node still readable");

	// cudaGraphExecUpdate from the edited template: same topology, new kernel argument.
	float b7 = 7.0f;
	void *args7[] = {&d, &a, &b7, &nn};
	cudaKernelNodeParams kp7 = kp;
	kp7.kernelParams = args7;
	OK(cudaGraphKernelNodeSetParams(k1, &kp7));
	cudaGraphExecUpdateResultInfo info;
	memset(&info, 0, sizeof info);
	STATUS("exec update, same topology", cudaGraphExecUpdate(exec, g, &info));
	printf("update result: %d\n", (int)info.result);
	OK(cudaGraphLaunch(exec, s));
	OK(cudaStreamSynchronize(s));
	printf("k after update: host node saw %.1f\n", rec1.first);
	printf("host node calls after update: first %d, second %d\n", rec1.calls, rec2.calls);
	// A node more: the topology changed.
	cudaGraphNode_t extra;
	OK(cudaGraphAddEmptyNode(&extra, g, &cp2, 1));
	memset(&info, 0, sizeof info);
	STATUS("exec update, topology changed", cudaGraphExecUpdate(exec, g, &info));
	printf("update result: %d\n", (int)info.result);

	// A clone instantiates and runs on its own.
	cudaGraph_t clone;
	OK(cudaGraphClone(&clone, g));
	size_t ccount = 0;
	OK(cudaGraphGetNodes(clone, nullptr, &ccount));
	printf("clone nodes: %zu\n", ccount);
	cudaGraphExec_t cexec;
	OK(cudaGraphInstantiate(&cexec, clone, 0));
	OK(cudaGraphLaunch(cexec, s));
	OK(cudaStreamSynchronize(s));
	printf("host node calls after the clone ran: %d\n", rec1.calls);

	// Bad input.
	cudaGraphNode_t bad;
	STATUS("kernel node without a function", (kp.func = nullptr, cudaGraphAddKernelNode(&bad, g, nullptr, 0, &kp)));
	STATUS("dependency on a node of another graph", cudaGraphAddEmptyNode(&bad, g, &ck, 1));
	STATUS("memset node element size 3", (mp.elementSize = 3, cudaGraphAddMemsetNode(&bad, g, nullptr, 0, &mp)));
	cudaGraphExec_t badexec;
	STATUS("instantiate with unknown flag", cudaGraphInstantiate(&badexec, g, 0x4000));

	cudaGraphExecDestroy(exec); cudaGraphExecDestroy(cexec);
	cudaGraphDestroy(g); cudaGraphDestroy(child); cudaGraphDestroy(clone);
	cudaEventDestroy(ev);
	cudaFree(d); cudaFreeHost(h); cudaFreeHost(h2); cudaFreeHost(h3);
	cudaStreamDestroy(s);
	return done();
}
