#!/usr/bin/env bash
# Real client for `vgpu testmodel`: ggml's own GGUF reader (libggml-base.so from the npm ggml
# build that tests/ggml fetches) accepts the tiny model as f16 and as q8_0 and sees the counts,
# types and shapes we meant; the same flags give the same bytes; a damaged file is refused.
# usage: run.sh [LIBGGML_BASE]   (default: the npm build 3.22.1 in tests/cache)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
suite testmodel
BASE=${1:-$CACHE/npm/3.22.1/libggml-base.so}
if [ ! -f "$BASE" ] && [ $# = 0 ]; then
	(cd "$ROOT" && go run ./tests/ggml/fetch "$CACHE/npm")
fi
D=$CACHE/testmodel
mkdir -p "$D" "$CACHE/bin"
CHECK=$CACHE/bin/ggufcheck
${CC:-gcc} -O1 -Wall -o "$CHECK" "$HERE/ggufcheck.c" -ldl
fail=0
bad() { echo "FAIL $*"; fail=1; }

echo "--- libggml-base: $BASE"
for t in f16 q8_0; do
	f=$D/tiny-$t.gguf
	"$VGPU" testmodel --size tiny --type "$t" --seed 1 --modelfile -o "$f"
	echo "--- ggml reads tiny $t"
	# tiny: 2 layers, hidden 256, vocabulary 512
	"$CHECK" "$BASE" "$f" "$t" 2 256 512 || fail=1
	grep -q '^FROM ./tiny-'"$t"'.gguf$' "$D/tiny-$t.Modelfile" || bad "Modelfile of $t has no FROM line"

	"$VGPU" testmodel --size tiny --type "$t" --seed 1 -o "$D/again.gguf" >/dev/null
	cmp -s "$f" "$D/again.gguf" && echo "PASS $t: same flags, same bytes ($(sha256sum <"$f" | cut -c1-16))" ||
		bad "$t: two runs with the same flags differ"
	"$VGPU" testmodel --size tiny --type "$t" --seed 2 -o "$D/again.gguf" >/dev/null
	cmp -s "$f" "$D/again.gguf" && bad "$t: seed 2 gave the bytes of seed 1" || echo "PASS $t: another seed, other bytes"
done

# The checker must be able to fail: a cut file and a wrong magic.
head -c 100000 "$D/tiny-f16.gguf" >"$D/cut.gguf"
if "$CHECK" "$BASE" "$D/cut.gguf" f16 2 256 512 >"$D/cut.out" 2>&1; then
	bad "a file cut to 100000 bytes passed"
else
	echo "PASS a file cut to 100000 bytes is refused (expected: $(grep -m1 FAIL "$D/cut.out"))"
fi
{ printf 'GGUX'; tail -c +5 "$D/tiny-q8_0.gguf"; } >"$D/magic.gguf"
if "$CHECK" "$BASE" "$D/magic.gguf" q8_0 2 256 512 >/dev/null 2>&1; then
	bad "a file with a wrong magic passed"
else
	echo "PASS a file with a wrong magic is refused"
fi

"$VGPU" testmodel --list | tee "$D/list.out"
grep -q '^3b ' "$D/list.out" && grep -q '^qwen0.5b ' "$D/list.out" || bad "--list lacks a size"
rm -f "$D/again.gguf" "$D/cut.gguf" "$D/magic.gguf"
[ $fail = 0 ] && pass || { echo "testmodel: FAIL"; exit 1; }
