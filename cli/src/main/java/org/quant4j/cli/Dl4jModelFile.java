package org.quant4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.quant4j.core.io.CorruptFileException;
import org.quant4j.model.Dl4jNetwork;

/**
 * A DL4J model zip as written by {@link ModelSerializer}: a {@link MultiLayerNetwork} or a {@link ComputationGraph},
 * told apart by its {@code configuration.json} (a graph's configuration lists {@code vertices}).
 */
final class Dl4jModelFile {
    private final Model model;

    private Dl4jModelFile(Model model) {
        this.model = model;
    }

    /**
     * @throws NoSuchFileException  when the file does not exist
     * @throws CorruptFileException when it is not a DL4J model zip
     */
    static Dl4jModelFile read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString());
        }
        boolean graph;
        try (ZipFile zip = new ZipFile(file.toFile())) {
            ZipEntry conf = zip.getEntry("configuration.json");
            if (conf == null) {
                throw new CorruptFileException(file + ": not a DL4J model zip (it has no configuration.json)");
            }
            try (InputStream in = zip.getInputStream(conf)) {
                graph = new String(in.readAllBytes(), StandardCharsets.UTF_8).contains("\"vertices\"");
            }
        } catch (ZipException e) {
            throw new CorruptFileException(file + ": not a DL4J model zip (" + e.getMessage() + ")", e);
        }
        try {
            return new Dl4jModelFile(graph ? ModelSerializer.restoreComputationGraph(file.toFile(), false)
                    : ModelSerializer.restoreMultiLayerNetwork(file.toFile(), false));
        } catch (RuntimeException e) {
            throw new CorruptFileException(file + ": cannot restore the DL4J " + (graph ? "ComputationGraph" : "MultiLayerNetwork")
                    + ": " + e.getMessage(), e);
        }
    }

    /** Writes {@code model} (without updater state) to a temporary file beside {@code file}, then moves it into place. */
    static void write(Model model, Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            ModelSerializer.writeModel(model, tmp.toFile(), false);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    boolean isGraph() {
        return model instanceof ComputationGraph;
    }

    MultiLayerNetwork network() {
        return (MultiLayerNetwork) model;
    }

    ComputationGraph graph() {
        return (ComputationGraph) model;
    }

    Dl4jNetwork view() {
        return isGraph() ? Dl4jNetwork.of(graph()) : Dl4jNetwork.of(network());
    }

    String kind() {
        return isGraph() ? "ComputationGraph" : "MultiLayerNetwork";
    }

    /** Accuracy of {@code model} (a network or graph) on labelled batches. */
    static double accuracy(Model model, DataSetIterator data) {
        return model instanceof ComputationGraph g ? g.evaluate(data).accuracy()
                : ((MultiLayerNetwork) model).evaluate(data).accuracy();
    }

    Model model() {
        return model;
    }
}
