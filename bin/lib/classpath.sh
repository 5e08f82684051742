# Sourced by bin/quant4j and bin/example: prints the runtime classpath of a module (its jar first), building the
# module first when its build is missing or older than the sources.
# Usage: module_classpath ROOT MODULE
module_classpath() {
  local root="$1" module="$2"
  local cpfile="$root/$module/target/classpath.txt"
  local stale=0
  if [ ! -f "$cpfile" ]; then
    stale=1
  elif [ -n "$(find "$root" -path "$root/*/target" -prune -o \( -name pom.xml -o -path '*/src/main/*' \) -newer "$cpfile" -print -quit)" ]; then
    stale=1
  fi
  if [ "$stale" = 1 ]; then
    echo "quant4j: building $module (first run or sources changed)..." >&2
    (cd "$root" && mvn -B -q -pl "$module" -am -DskipTests package dependency:build-classpath \
        -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime >&2) || {
      echo "quant4j: error: the build failed (run 'mvn -pl $module -am package' in $root to see why)" >&2
      return 1
    }
    local jar
    jar=$(ls "$root/$module"/target/quant4j-"$module"-*.jar | head -1)
    printf '%s:%s' "$jar" "$(cat "$cpfile")" > "$cpfile.tmp" && mv "$cpfile.tmp" "$cpfile"
  fi
  cat "$cpfile"
}
