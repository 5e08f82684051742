package org.quant4j.eval.formats;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.core.io.ModelFileWriter;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.model.WeightTarget;
import org.quant4j.model.data.MnistDigits;
import org.quant4j.model.zoo.MnistMlp;
import org.quant4j.ptq.pipeline.GroupFallback;

/**
 * The main job of the README: on real MNIST digits, trains the MLP 784-1024-1024-10 in fp32, then for every
 * core format quantizes its weights (round to nearest), writes the model file, reads it back, loads the
 * dequantized weights into the network and measures test accuracy on the 2,000 held-out digits.
 * Writes {@code report.json}, {@code report.md} and {@code accuracy-vs-bits.png} into the output directory.
 */
public final class MnistFormatsDemo {
    /** One line of the report. */
    public record Row(String spec, double bitsPerWeight, long fileBytes, double accuracy, String note) {}

    /** The formats shown, by report label. */
    static Map<String, QuantSpec> specs() {
        Map<String, QuantSpec> s = new LinkedHashMap<>();
        s.put("int8 per-channel", QuantSpec.builder().bits(8).perChannel().build());
        s.put("fp8 e4m3 per-channel", QuantSpec.fp8E4M3());
        s.put("fp8 e5m2 per-channel", QuantSpec.fp8E5M2());
        s.put("int4 asym g16", QuantSpec.builder().bits(4).asymmetric().groupSize(16).build());
        s.put("int4 sym per-channel", QuantSpec.builder().bits(4).perChannel().build());
        s.put("nf4 (block 64)", QuantSpec.nf4(false));
        s.put("nf4 double-quant", QuantSpec.nf4(true));
        s.put("mxfp4 (block 32)", QuantSpec.mxfp4());
        s.put("nvfp4 (block 16)", QuantSpec.nvfp4());
        s.put("int3 asym g16", QuantSpec.builder().bits(3).asymmetric().groupSize(16).build());
        s.put("int2 asym g16", QuantSpec.builder().bits(2).asymmetric().groupSize(16).build());
        s.put("ternary b1.58 per-channel", QuantSpec.ternary().toBuilder().perChannel().build());
        return s;
    }

    private MnistFormatsDemo() {}

    public static List<Row> run(Path outDir, int epochs, long seed, PrintStream out) throws IOException {
        Files.createDirectories(outDir);
        MnistDigits digits = MnistDigits.load();
        out.printf("MNIST: %d train / %d test digits from %s%n", digits.train().size(), digits.test().size(),
                MnistDigits.defaultDirectory());
        MultiLayerNetwork net = MnistMlp.network(seed);
        for (int e = 1; e <= epochs; e++) {
            long t0 = System.nanoTime();
            net.fit(digits.train().shuffledIterator(64, seed + e));
            out.printf("fp32 training epoch %d/%d: loss %.4f (%.1f s)%n", e, epochs, net.score(),
                    (System.nanoTime() - t0) / 1e9);
        }
        double fp32 = accuracy(net, digits);
        List<Row> rows = new ArrayList<>();
        Dl4jNetwork view = Dl4jNetwork.of(net);
        long params = view.targets().stream().mapToLong(t -> view.weight(t).length()).sum();
        rows.add(new Row("fp32", 32, params * 4, fp32, ""));
        out.printf("%n%-28s %8s %12s %9s %8s  %s%n", "format", "bits/w", "file bytes", "accuracy", "delta", "note");
        print(out, rows.get(0), fp32);
        for (Map.Entry<String, QuantSpec> e : specs().entrySet()) {
            Row row = quantizeAndEvaluate(net, digits, e.getKey(), e.getValue(), outDir);
            rows.add(row);
            print(out, row, fp32);
        }
        DemoReport.write(outDir, rows, epochs, seed);
        out.printf("%nreport: %s, %s, %s%n", outDir.resolve("report.md"), outDir.resolve("report.json"),
                outDir.resolve("accuracy-vs-bits.png"));
        return rows;
    }

    private static Row quantizeAndEvaluate(MultiLayerNetwork trained, MnistDigits digits, String label, QuantSpec spec,
                                           Path outDir) throws IOException {
        Dl4jNetwork view = Dl4jNetwork.of(trained);
        QuantizedModel.Builder model = QuantizedModel.builder().sourceModel("MnistMlp 784-1024-1024-10 (fp32)")
                .metadata("format", label).metadata("spec", spec.toJson());
        List<String> notes = new ArrayList<>();
        long weightBits = 0;
        long weights = 0;
        for (WeightTarget t : view.targets()) {
            INDArray w = view.weight(t);
            QuantSpec fitted = GroupFallback.LARGEST_DIVISOR.fit(t.name(), spec, w.size(1));
            if (!fitted.equals(spec)) {
                notes.add(t.name() + " (" + w.size(1) + " columns): group " + spec.granularity().groupSize() + " -> "
                        + fitted.granularity().groupSize());
            }
            QuantizedTensor q = Quantizer.quantize(t.name(), w, fitted);
            model.addQuantized(t.name(), q);
            weightBits += q.storageBytes() * 8;
            weights += q.size();
        }
        for (Map.Entry<String, INDArray> p : view.otherParams().entrySet()) {
            model.addFloat(p.getKey(), new FloatTensor(p.getValue().shape(), p.getValue().dup('c').toFloatVector()));
        }
        Path file = outDir.resolve(label.replaceAll("[^A-Za-z0-9.]+", "-") + ".q4j");
        ModelFileWriter.write(file, model.build());

        QuantizedModel reloaded = ModelFileReader.read(file);
        MultiLayerNetwork net = trained.clone();
        Dl4jNetwork target = Dl4jNetwork.of(net);
        for (Map.Entry<String, QuantizedTensor> e : reloaded.quantizedTensors().entrySet()) {
            target.setWeight(target.target(e.getKey()), e.getValue().dequantize());
        }
        return new Row(label, (double) weightBits / weights, Files.size(file), accuracy(net, digits),
                String.join("; ", notes));
    }

    static double accuracy(MultiLayerNetwork net, MnistDigits digits) {
        return net.evaluate(digits.test().iterator(500)).accuracy();
    }

    private static void print(PrintStream out, Row r, double fp32) {
        out.printf(Locale.ROOT, "%-28s %8.3f %12d %8.2f%% %+7.2f  %s%n", r.spec(), r.bitsPerWeight(), r.fileBytes(),
                100 * r.accuracy(), 100 * (r.accuracy() - fp32), r.note());
    }

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args.length > 0 ? args[0] : "quant4j-demo");
        int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        run(out, epochs, 42, System.out);
        Nd4j.getMemoryManager().invokeGc();
    }
}
