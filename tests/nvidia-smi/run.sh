#!/usr/bin/env bash
# NVIDIA's own nvidia-smi (Debian's non-free package, which dlopens libnvidia-ml.so.1) runs on
# vgpu's NVML and shows the same devices as `vgpu smi`: its plain table, -L and --query-gpu.
# The package is fetched once with apt from the machine's own Debian mirror, with the
# non-free component added. usage: run.sh LIBDIR
set -euo pipefail
LIBDIR=$1
. "$(dirname "$0")/../lib.sh"
suite nvidia-smi
clean_env
C=$CACHE/nvidia-smi
SMI=$C/root/usr/lib/nvidia/current/nvidia-smi
if [ ! -x "$SMI" ]; then
	command -v apt-get >/dev/null || { echo "nvidia-smi: SKIP (no apt-get on this machine)"; exit 0; }
	mkdir -p "$C/apt/lists/partial" "$C/apt/parts"
	# The machine's mirror and suite, with the non-free component.
	src=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
	uri=$(echo "$src" | awk '/^URIs:/ {print $2; exit}')
	suite=$(echo "$src" | awk '/^Suites:/ {print $2; exit}')
	if [ -z "$uri" ]; then
		read -r _ uri suite _ < <(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | head -1)
	fi
	printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" "$suite" >"$C/apt/parts/nonfree.sources"
	o=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$C/apt/parts" -o Dir::State::Lists="$C/apt/lists" -o Debug::NoLocking=1)
	apt-get "${o[@]}" -qq update
	(cd "$C" && apt-get "${o[@]}" -qq download nvidia-smi 2>/dev/null)
	dpkg -x "$C"/nvidia-smi_*.deb "$C/root"
fi
run() { env LD_LIBRARY_PATH="$LIBDIR" "$SMI" "$@"; }
Q=index,name,uuid,memory.total,memory.used,memory.free,pci.bus_id,compute_cap,driver_version
for n in 1 3; do
	export VGPU_DEVICES=$n
	diff <(run --query-gpu=$Q --format=csv,noheader,nounits) <("$VGPU" smi --query-gpu=$Q --format=csv,noheader,nounits) || fail "--query-gpu differs ($n devices)"
	diff <(run --query-gpu=name,memory.total --format=csv) <("$VGPU" smi --query-gpu=name,memory.total --format=csv) || fail "csv header ($n devices)"
	diff <(run -L) <("$VGPU" smi -L) || fail "-L differs ($n devices)"
	table=$(run)
	[ "$(echo "$table" | grep -c 'NVIDIA H100 80GB HBM3')" = $n ] || { echo "$table"; fail "plain table ($n devices)"; }
done
# -q reads most of NVML: every section answers, and the values are the model's.
q=$(VGPU_DEVICES=1 run -q) || fail "-q failed"
for want in 'Max Power Limit *: 700.00 W' 'GPU Shutdown T.Limit Temp *: 92 C' 'Current *: Disabled' 'Image Version *: G520' 'State *: Completed'; do
	echo "$q" | grep -q "$want" || { echo "$q"; fail "-q lacks '$want'"; }
done
echo "$table" | head -12
pass "$(basename "$(ls "$C"/nvidia-smi_*.deb 2>/dev/null | head -1)" .deb | cut -d_ -f2)"
