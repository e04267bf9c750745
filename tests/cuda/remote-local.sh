#!/usr/bin/env bash
# On a GPU machine (no Go needed: carry build/): `vgpu serve --backend local` runs on the real
# GPU; a remote client on the same machine, which loads only vgpu, moves bytes through it.
# usage: tests/cuda/remote-local.sh   (from the repository root, with build/ present)
set -uo pipefail
ROOT=$PWD
OUTDIR=${OUT:-/tmp}
gcc -O1 -o /tmp/vgpu-client tests/remote/client.c -ldl || exit 1
SOCK=/tmp/vgpu-local.sock; rm -f $SOCK
VGPU_LOG_LEVEL=info build/bin/vgpu serve --listen unix://$SOCK --backend local > $OUTDIR/server.log 2>&1 & SERVER=$!
sleep 1
remote() { env LD_LIBRARY_PATH=$ROOT/build/lib VGPU_BACKEND=remote VGPU_SERVER=unix://$SOCK "$@"; }
echo "== the devices the client sees come from the real GPU"
remote build/bin/vgpu smi --query-gpu=index,name,uuid,memory.total,memory.free,pci.bus_id,compute_cap --format=csv
nvidia-smi --query-gpu=index,name,uuid,memory.total,pci.bus_id,compute_cap --format=csv
echo "== host -> device -> host round trips through the real GPU"
for mib in 1 64 1024; do remote /tmp/vgpu-client roundtrip $mib; done
echo "== pitched (2D) copies every way: NVIDIA's runtime, then remote"
. tests/cuda/nvidia-libs.sh
CUDART_DIR=$(nvidia_lib_dir libcudart)
native=$(env LD_LIBRARY_PATH=$CUDART_DIR /tmp/vgpu-client copy2d); rem=$(remote /tmp/vgpu-client copy2d)
echo "native: $native"; echo "remote: $rem"
[ "$native" = "$rem" ] && echo "copy2d: IDENTICAL" || echo "copy2d: DIFFER"
native=$(env LD_LIBRARY_PATH=$CUDART_DIR /tmp/vgpu-client copy3d); rem=$(remote /tmp/vgpu-client copy3d)
echo "native: $native"; echo "remote: $rem"
[ "$native" = "$rem" ] && echo "copy3d: IDENTICAL" || echo "copy3d: DIFFER"
echo "== the client touches no NVIDIA device node and maps no NVIDIA library"
remote /tmp/vgpu-client hold 2048 6 > /tmp/hold.out & H=$!
sleep 2
echo "client pid $H: /dev/nvidia* fds: $(ls -l /proc/$H/fd 2>/dev/null | grep -c /dev/nvidia); NVIDIA libraries mapped: $(grep -c -E 'nvidia/lib|libcuda.so.5' /proc/$H/maps)"
grep -E 'libvgpu|libcuda' /proc/$H/maps | awk '{print $6}' | sort -u
echo "server pid $SERVER: NVIDIA libraries mapped: $(grep -c -E 'libcuda.so.5' /proc/$SERVER/maps)"
nvidia-smi --query-compute-apps=pid,used_memory --format=csv
wait $H
echo "== after the client: the server freed its memory"
nvidia-smi --query-compute-apps=pid,used_memory --format=csv
kill $SERVER
tail -5 $OUTDIR/server.log
echo "== a server capping each client at 8 GiB: the real GPU behind it, the cap in front"
VGPU_LOG_LEVEL=info build/bin/vgpu serve --listen unix://$SOCK --backend local --client-memory 8GiB --device-name "H100 slice" > $OUTDIR/server-quota.log 2>&1 & SERVER=$!
sleep 1
remote /tmp/vgpu-client quota
remote build/bin/vgpu smi --query-gpu=name,memory.total,memory.free --format=csv,noheader
kill $SERVER
