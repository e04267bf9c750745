#!/bin/bash
# Collects device facts on the lent GPU machine into $OUT/facts.tar.gz.
set -x
D=$(mktemp -d)
CUDA_HOME=${CUDA_HOME:-$(dirname $(dirname $(readlink -f $(which nvcc))))}
echo CUDA_HOME=$CUDA_HOME
python3 tools/devicefacts/extract.py $CUDA_HOME/include $D/facts.cu
NVML_LIB=$(ldconfig -p | awk '/libnvidia-ml.so.1 /{print $NF; exit}')
python3 tools/devicefacts/build.py $D/facts.cu $D/facts $( [ -n "$NVML_LIB" ] && echo -L$(dirname $NVML_LIB) -l:libnvidia-ml.so.1 ) > $D/build.log 2>&1; cat $D/build.log | tail -5
$D/facts > $D/facts.txt 2>&1; echo facts rc=$?
nvidia-smi > $D/smi.txt 2>&1
nvidia-smi -q > $D/smi-q.txt 2>&1
nvidia-smi --query-gpu=name,uuid,memory.total,memory.used,memory.free,memory.reserved,pci.bus_id,pci.device_id,pci.sub_device_id,compute_cap,driver_version,serial,vbios_version,clocks.max.sm,clocks.max.mem,power.limit,temperature.gpu,utilization.gpu --format=csv > $D/smi-csv.txt 2>&1
nvidia-smi --query-gpu=name,memory.total,pci.bus_id --format=csv,noheader,nounits >> $D/smi-csv.txt 2>&1
for args in "" "-q" "--query-gpu=name,uuid,memory.total,memory.used,memory.free,pci.bus_id,compute_cap,driver_version --format=csv" "-L"; do
  echo "=== nvidia-smi $args" >> $D/smi-syms.txt
  LD_DEBUG=symbols,bindings nvidia-smi $args 2>&1 >/dev/null | grep -oE "symbol=nvml[A-Za-z0-9_]*|binding file [^ ]*nvidia-ml[^ ]* .*symbol \`nvml[A-Za-z0-9_]*'" | sort -u >> $D/smi-syms.txt
done
ldd $(which nvidia-smi) > $D/libs.txt 2>&1
for l in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libnvidia-ml.so.1 libcuda.so.1; do
  p=$(ldconfig -p | awk -v l="$l" '$1==l{print $NF; exit}'); [ -z "$p" ] && p=$(find / -name "$l" -not -path '*/proc/*' 2>/dev/null | head -1)
  echo "=== $l $p" >> $D/libs.txt; readelf -V "$p" 2>/dev/null | grep -A3 'Version definition' | head -20 >> $D/libs.txt
  readelf -d "$p" | grep SONAME >> $D/libs.txt
  nm -D --defined-only "$p" 2>/dev/null | awk '{print $NF}' | sort -u > $D/syms-$l.txt
done
cp $D/facts.cu $D/build.log $D/ 2>/dev/null
tar czf $OUT/facts.tar.gz -C $D .
grep -c . $D/facts.txt; head -5 $D/facts.txt; grep -E '^(propname|memgetinfo|versions|granularity|nvml)' $D/facts.txt
