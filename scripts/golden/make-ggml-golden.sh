#!/usr/bin/env bash
# Makes the golden vectors of ggml's block formats in core/src/test/resources/ggml-golden/ with llama.cpp's own
# ggml/src/ggml-quants.c: compiles scripts/golden/ggml-golden.c against it with gcc and runs it once. The llama.cpp
# source comes from the npm package node-llama-cpp@3.21.1 (MIT), llama/gitRelease.bundle, commit $COMMIT. Run by
# hand (the tests only read the committed files):
#
#   scripts/golden/make-ggml-golden.sh [OUT_DIR]      default: core/src/test/resources/ggml-golden
#
# gcc -O2 -ffp-contract=off for x86-64 without -march: plain IEEE float arithmetic (SSE2, no FMA contraction, no
# x87 excess precision), as llama.cpp builds ggml-base (where ggml-quants.c lives; only the CPU backend gets -march).
set -euo pipefail
export LC_ALL=C
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/scripts/lib/npm-fetch.sh"
PACKAGE="node-llama-cpp@3.21.1"
TARBALL="node-llama-cpp-3.21.1.tgz"
COMMIT=80fb11ac73e66d89eae2c6a91d8a77428fa733ed
OUT="${1:-$ROOT/core/src/test/resources/ggml-golden}"

command -v gcc >/dev/null || { echo "gcc is needed (apt-get install gcc)" >&2; exit 1; }
npm_pack_into_workdir "$PACKAGE" "$ROOT/target/ggml-golden-src"
tar --no-same-owner -xzf "$WORK/$TARBALL" -C "$WORK" package/llama/gitRelease.bundle
git clone -q --no-checkout "$WORK/package/llama/gitRelease.bundle" "$WORK/llama.cpp"
head="$(git -C "$WORK/llama.cpp" rev-parse HEAD)"
[[ "$head" == "$COMMIT" ]] || { echo "the bundle holds llama.cpp $head, expected $COMMIT" >&2; exit 1; }
git -C "$WORK/llama.cpp" checkout -q "$COMMIT" -- ggml
G="$WORK/llama.cpp/ggml"
gcc -O2 -ffp-contract=off -std=gnu11 -DNDEBUG -w -I"$G/include" -I"$G/src" -I"$G/src/ggml-cpu" \
    "$ROOT/scripts/golden/ggml-golden.c" "$G/src/ggml-quants.c" -lm -o "$WORK/ggml-golden"
mkdir -p "$OUT"
rm -f "$OUT"/*.bin "$OUT"/*.f32 "$OUT"/MANIFEST.txt
"$WORK/ggml-golden" "$OUT"
{
  echo "package: $PACKAGE (npm), file llama/gitRelease.bundle"
  echo "llama.cpp commit: $COMMIT, ggml/src/ggml-quants.c"
  echo "compiler: $(gcc --version | head -1), gcc -O2 -ffp-contract=off -std=gnu11 -DNDEBUG, $(uname -m)"
  echo "made by: scripts/golden/make-ggml-golden.sh (harness scripts/golden/ggml-golden.c)"
} > "$OUT/SOURCE"
echo "Wrote the ggml golden vectors to $OUT"
