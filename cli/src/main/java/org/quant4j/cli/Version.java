package org.quant4j.cli;

/** The tool version, from the jar manifest (Maven's project version) when packaged. */
final class Version {
    private Version() {}

    static String get() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
