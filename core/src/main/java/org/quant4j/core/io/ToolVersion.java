package org.quant4j.core.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** The quant4j version recorded in written files, from a resource Maven filters with {@code ${project.version}}. */
final class ToolVersion {
    static final String RESOURCE = "quant4j-version.properties";
    static final String VERSION = load();

    private ToolVersion() {}

    private static String load() {
        try (InputStream in = ToolVersion.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + RESOURCE + " is missing beside " + ToolVersion.class.getName());
            }
            Properties p = new Properties();
            p.load(in);
            String version = p.getProperty("version", "").trim();
            if (version.isEmpty()) {
                throw new IllegalStateException("resource " + RESOURCE + " has no version");
            }
            return version;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + RESOURCE, e);
        }
    }
}
