package org.quant4j.model.data;

import java.nio.file.Path;
import java.nio.file.Paths;

/** Where a data set the build fetched is cached: a system property, else an environment variable, else {@code ~/.cache/quant4j/<name>}. */
public final class CacheDirectory {
    private CacheDirectory() {}

    public static Path resolve(String property, String env, String name) {
        String dir = System.getProperty(property);
        if (dir == null || dir.isBlank()) {
            dir = System.getenv(env);
        }
        if (dir == null || dir.isBlank()) {
            return Paths.get(System.getProperty("user.home"), ".cache", "quant4j", name);
        }
        return Paths.get(dir);
    }
}
