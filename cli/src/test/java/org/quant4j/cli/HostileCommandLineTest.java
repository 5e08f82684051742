package org.quant4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.Quantizer;
import org.quant4j.core.io.ModelFileWriter;
import org.quant4j.core.io.NpyFile;

/**
 * The command line on conflicting options, bad output paths, hostile names and tiny weights, run in-process through
 * {@link Main}: each error is one line with the right exit code, and no output (or temporary) file appears.
 */
class HostileCommandLineTest {
    @TempDir
    Path dir;
    private Path weights;

    private static Launcher.Result run(String... args) {
        return Launcher.inProcess(args);
    }

    private static float[] gaussian(int n, double sigma) {
        Random r = new Random(1);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (float) (r.nextGaussian() * sigma);
        return w;
    }

    @BeforeEach
    void writeInput() throws IOException {
        weights = dir.resolve("fc.npy");
        NpyFile.write(weights, new long[] {8, 64}, gaussian(512, 0.05));
    }

    /** The error is one line naming all fragments, and the directory holds only the input files. */
    private void failsWith(Launcher.Result r, int code, String... fragments) throws IOException {
        assertThat(r.code()).as(r.err()).isEqualTo(code);
        assertThat(r.err().strip()).doesNotContain("\n").doesNotContain("Source:").contains(fragments);
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".npy") && !n.endsWith(".q4j")
                    && !n.equals("adir"))).isEmpty();
        }
    }

    @Test
    void repeatedConflictingOrAbbreviatedOptionsAreRefused() throws IOException {
        String out = dir.resolve("x.gguf").toString();
        failsWith(run("quantize-tensor", "--bits", "4", "--bits", "8", "-o", out, weights.toString()), 2,
                "--bits is given twice ('4' and '8')");
        failsWith(run("quantize-tensor", "--bit", "8", "-o", out, weights.toString()), 2, "Unrecognized option: --bit");
        failsWith(run("quantize-tensor", "--spec", "{\"bits\":8}", "--bits", "4", "-o", out, weights.toString()), 2,
                "give --spec or --bits, not both");
        failsWith(run("quantize-tensor", "--spec", "{bad", "-o", out, weights.toString()), 2,
                "cannot read quantization spec JSON: Unexpected character", "(line 1, column 2)");
    }

    @Test
    void outputAndInputPathProblemsNameTheRealProblemWithOneExitCode() throws IOException {
        Path missing = dir.resolve("nodir").resolve("m.q4j");
        failsWith(run("quantize-tensor", "-o", missing.toString(), weights.toString()), 1,
                "the directory " + missing.getParent() + " does not exist");
        Path adir = Files.createDirectory(dir.resolve("adir"));
        failsWith(run("quantize-tensor", "-o", adir.toString(), weights.toString()), 1, adir + ": is a directory");
        Path model = dir.resolve("m.q4j");
        assertThat(run("quantize-tensor", "-o", model.toString(), weights.toString()).code()).isZero();
        failsWith(run("export", "--in", model.toString(), "--out", adir.toString()), 1, adir + ": is a directory");
        failsWith(run("quantize-tensor", "-o", dir.resolve("y.q4j").toString(), adir.toString()), 1,
                adir + ": is a directory, not a .npy file");
        failsWith(run("inspect", adir.toString()), 1, adir + ": is a directory, not a quant4j model file");
    }

    @Test
    void tinyWeightsAreRefusedNamingTheScaleEncodingThatKeepsThem() throws IOException {
        Path tiny = dir.resolve("tiny.npy");
        NpyFile.write(tiny, new long[] {8, 64}, gaussian(512, 5e-9));
        failsWith(run("quantize-tensor", "-o", dir.resolve("t.q4j").toString(), tiny.toString()), 1,
                "tensor 'tiny'", "every value quantizes to 0", "store the scales as FP32 (--scale-encoding fp32)");
        assertThat(run("quantize-tensor", "--scale-encoding", "FP32", "-o", dir.resolve("t.q4j").toString(),
                tiny.toString()).code()).isZero();
    }

    @Test
    void anExportRefusalGivesTheCommandLineFix() throws IOException {
        Path model = dir.resolve("int3.q4j");
        assertThat(run("quantize-tensor", "--bits", "3", "--group-size", "32", "-o", model.toString(),
                weights.toString()).code()).isZero();
        failsWith(run("export", "--in", model.toString(), "--out", dir.resolve("m.gguf").toString()), 1,
                "tensor 'fc' (int3-sym-g32", "re-quantize it with --requantize q4_0");
        assertThat(run("export", "--in", model.toString(), "--out", dir.resolve("m.gguf").toString()).err())
                .doesNotContain("Options.requantize");
    }

    @Test
    void inspectEscapesNamesFromTheFileAndReportsAnEmptyTensorClearly() throws IOException {
        Path model = dir.resolve("hostile.q4j");
        ModelFileWriter.write(model, QuantizedModel.builder().sourceModel("src\u001b]0;pwned\u0007")
                .metadata("k\u001b[2J", "v\r\n")
                .addQuantized("w\u001b[H", Quantizer.quantize("w", gaussian(64, 0.1), new long[] {2, 32},
                        QuantSpec.builder().bits(4).build()))
                .addFloat("nothing", new FloatTensor(new long[] {0}, new float[0])).build());
        Launcher.Result r = run("inspect", model.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).doesNotContain("\u001b").doesNotContain("\u0007").doesNotContain("\r")
                .contains("w\\x1b[H", "src\\x1b]0;pwned\\x07", "k\\x1b[2J: v\\x0d\\x0a").doesNotContain("NaN");
        assertThat(r.out().lines().filter(l -> l.startsWith("nothing"))).singleElement().asString().contains(" empty ");

        Path none = dir.resolve("none.q4j");
        ModelFileWriter.write(none, QuantizedModel.builder().addFloat("e", new FloatTensor(new long[] {0}, new float[0]))
                .build());
        Launcher.Result empty = run("inspect", none.toString());
        assertThat(empty.code()).as(empty.err()).isZero();
        assertThat(empty.out()).contains("no weights").doesNotContain("NaN");
    }
}
