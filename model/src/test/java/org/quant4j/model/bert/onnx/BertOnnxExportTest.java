package org.quant4j.model.bert.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.IntStream;
import onnx.Onnx;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.BitPacker;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.Granularity;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.model.bert.BertEncoder;
import org.quant4j.model.bert.BertQuantizedWeights;
import org.quant4j.model.bert.LinearTarget;
import org.quant4j.model.bert.MiniLm;
import org.quant4j.model.bert.OnnxQuantizedWeights;
import org.quant4j.model.bert.SentenceEncoder;
import org.quant4j.model.onnx.OnnxExportException;
import org.quant4j.model.onnx.OnnxGraphEditor;

/**
 * all-MiniLM-L6-v2 quantized with round-to-nearest (core's Quantizer on the real weights: no calibration needed),
 * exported as ONNX and run by ONNX Runtime: its last_hidden_state matches our forward of the dequantized model within
 * the export check's 1e-4 for 4-bit groups (MatMulNBits, asymmetric and symmetric), act-order groups (g_idx), AWQ
 * input scales and int8 per channel (DequantizeLinear), with quantized word embeddings; CLAQ and specs ONNX Runtime
 * cannot run are refused naming the tensor, and no file is written.
 */
class BertOnnxExportTest {
    private static final QuantSpec INT4_G128_ASYM = QuantSpec.integer(4, false, Granularity.perGroup(128));
    private static final QuantSpec INT4_G128_SYM = QuantSpec.integer(4, true, Granularity.perGroup(128));
    private static final QuantSpec INT8_CHANNEL = QuantSpec.integer(8, true, Granularity.perChannel());
    private static final QuantSpec INT8_CHANNEL_ASYM = QuantSpec.integer(8, false, Granularity.perChannel());

    private static SentenceEncoder minilm;
    private static int fp32Bytes;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() {
        minilm = MiniLm.load().sentenceEncoder();
        fp32Bytes = minilm.onnxFile().length;
    }

    @Test
    void int4GroupsRunAsMatMulNBitsAndMatchOurDequantizedForward() throws Exception {
        Path out = dir.resolve("int4.onnx");
        BertOnnxExport.Exported asym = BertOnnxExport.write(minilm, rtn(t -> INT4_G128_ASYM), out,
                BertOnnxExport.Options.defaults().withEmbeddings(BertOnnxExport.embeddingSpec("int4-asym")));
        assertThat(asym.matMulNBits()).isEqualTo(36);
        assertThat(asym.check().hiddenMaxAbsDiff()).isLessThanOrEqualTo(1e-4);
        assertThat(asym.check().embeddingMaxAbsDiff()).isLessThanOrEqualTo(1e-5);
        assertThat(Files.size(out)).isEqualTo(asym.onnx().length).isLessThan(fp32Bytes / 6);
        Onnx.ModelProto m = OnnxGraphEditor.parse(Files.readAllBytes(out), "int4.onnx");
        assertThat(m.getGraph().getNodeList()).filteredOn(n -> n.getOpType().equals("MatMulNBits")).hasSize(36)
                .allMatch(n -> n.getDomain().equals("com.microsoft"));
        assertThat(m.getGraph().getNodeList()).filteredOn(n -> n.getOpType().equals("MatMul")).hasSize(12); // attention

        BertOnnxExport.Exported sym = BertOnnxExport.export(minilm, rtn(t -> INT4_G128_SYM),
                BertOnnxExport.Options.defaults().withEmbeddings(BertOnnxExport.embeddingSpec("int4")));
        System.out.println("int4 g128 sym + int4 embeddings: " + sym + "; " + sym.check());
        System.out.println("int4 g128 asym: " + asym + "; " + asym.check());
        assertThat(sym.matMulNBits()).isEqualTo(36);
        assertThat(sym.check().hiddenMaxAbsDiff()).isLessThanOrEqualTo(1e-4);
        assertThat(sym.onnx().length).isLessThan(15_000_000);
        OnnxQuantizedWeights census = OnnxQuantizedWeights.count(sym.onnx(), "int4 sym");
        assertThat(census.weightOps()).containsEntry("MatMulNBits", 36).containsEntry("GatherBlockQuantized", 2);
        assertThat(census.matMulBitsPerWeight()).isEqualTo(4 + 32.0 / 128); // fp32 scales, no zero points
        assertThat(OnnxQuantizedWeights.count(asym.onnx(), "int4 asym").matMulBitsPerWeight())
                .isCloseTo(4.25 + 8448 * 8.0 / 1_769_472, within(1e-9)); // per layer 8,448 zero-point bytes (3 blocks
        // of a 384-wide row take 2 bytes) for 1,769,472 weights
    }

    @Test
    void int8PerChannelRunsAsDequantizeLinearWithInt8Embeddings() {
        // asymmetric on the FFN, symmetric elsewhere: both DequantizeLinear forms
        BertOnnxExport.Exported e = BertOnnxExport.export(minilm,
                rtn(t -> t.name().contains("dense") ? INT8_CHANNEL_ASYM : INT8_CHANNEL),
                BertOnnxExport.Options.defaults().withEmbeddings(BertOnnxExport.embeddingSpec("int8-tensor")));
        System.out.println("int8 per channel + int8 embeddings: " + e + "; " + e.check());
        assertThat(e.dequantizeLinear()).isEqualTo(36);
        assertThat(e.check().hiddenMaxAbsDiff()).isLessThanOrEqualTo(1e-4);
        assertThat(e.onnx().length).isLessThan(22_972_370); // ONNX Runtime's own int8 model
        OnnxQuantizedWeights census = OnnxQuantizedWeights.count(e.onnx(), "int8");
        assertThat(census.weightOps()).containsOnly(entry("DequantizeLinear", 36 + 2));
        assertThat(census.matMulWeights()).isEqualTo(36);
        assertThat(census.matMulBitsPerWeight()).isBetween(8.0, 8.1);
    }

    @Test
    void actOrderGroupsAndAwqInputScalesMatch() {
        // act-order written on reordered inputs (the default): any width, 8 bits included
        QuantSpec int8G128 = QuantSpec.integer(8, false, Granularity.perGroup(128));
        BertOnnxExport.Exported x = BertOnnxExport.export(minilm, actOrderAndAwq(t -> t.layer() == 4 ? int8G128
                : t.layer() == 0 ? INT4_G128_SYM : INT4_G128_ASYM), BertOnnxExport.Options.defaults());
        assertThat(x.inputScales()).isEqualTo(18);
        assertThat(x.matMulNBits()).isEqualTo(36);
        assertThat(x.check().hiddenMaxAbsDiff()).isLessThanOrEqualTo(1e-4);
        Onnx.ModelProto m = OnnxGraphEditor.parse(x.onnx(), "act-order");
        assertThat(m.getGraph().getNodeList()).filteredOn(n -> n.getName().endsWith("_Gather")).hasSize(18);
        assertThat(m.getGraph().getNodeList()).filteredOn(n -> n.getOpType().equals("MatMulNBits"))
                .allMatch(n -> n.getInputCount() == 4); // no g_idx input

        // with MatMulNBits' g_idx instead: 4 bits only
        BertOnnxExport.Options gIdx = BertOnnxExport.Options.defaults().withGroupIndex(true);
        BertOnnxExport.Exported y = BertOnnxExport.export(minilm, actOrderAndAwq(t -> t.layer() == 0 ? INT4_G128_SYM
                : INT4_G128_ASYM), gIdx);
        assertThat(y.check().hiddenMaxAbsDiff()).isLessThanOrEqualTo(1e-4);
        assertThat(OnnxGraphEditor.parse(y.onnx(), "g_idx").getGraph().getNodeList())
                .filteredOn(n -> n.getOpType().equals("MatMulNBits") && n.getInputCount() == 5).hasSize(18);
        assertThatThrownBy(() -> BertOnnxExport.export(minilm, actOrderAndAwq(t -> int8G128), gIdx))
                .isInstanceOf(OnnxExportException.class)
                .hasMessageContaining("'encoder.layer.0.attention.self.query'").hasMessageContaining("4-bit weights only");
    }

    /** Even layers GPTQ act-order layout with {@code spec(target)}, odd layers AWQ-style int4 with input scales. */
    private static QuantizedModel actOrderAndAwq(Function<LinearTarget, QuantSpec> spec) {
        BertEncoder e = minilm.encoder();
        QuantizedModel.Builder b = floats(QuantizedModel.builder());
        Random random = new Random(17);
        for (LinearTarget t : e.targets()) {
            INDArray w = e.weight(t.name());
            if (t.layer() % 2 == 1) { // AWQ: W·diag(s) stored, s kept as <target>/input_scale
                float[] s = new float[t.inFeatures()];
                for (int i = 0; i < s.length; i++) {
                    s[i] = 0.5f + random.nextFloat();
                }
                b.addQuantized(t.name(), Quantizer.quantize(t.name(), w.mulRowVector(Nd4j.create(s)), INT4_G128_ASYM));
                b.addFloat(t.name() + BertQuantizedWeights.INPUT_SCALE_SUFFIX, new FloatTensor(new long[]{s.length}, s));
            } else {
                b.addQuantized(t.name(), actOrder(t.name(), w, spec.apply(t), random));
            }
        }
        return b.build();
    }

    @Test
    void claqAndSpecsOnnxRuntimeCannotRunAreRefusedWithoutAFile() {
        Path out = dir.resolve("refused.onnx");
        String claqTarget = "encoder.layer.3.output.dense";
        QuantizedModel claq = QuantizedModel.builder().addClaq(claqTarget, tinyClaq()).build();
        assertThatThrownBy(() -> BertOnnxExport.write(minilm, claq, out, BertOnnxExport.Options.defaults()))
                .isInstanceOf(OnnxExportException.class)
                .hasMessageContaining("'" + claqTarget + "' is CLAQ").hasMessageContaining("no kernel");

        QuantSpec int3 = QuantSpec.integer(3, false, Granularity.perGroup(128));
        assertThatThrownBy(() -> BertOnnxExport.write(minilm, rtn(t -> t.layer() == 2 ? int3 : INT4_G128_ASYM), out,
                BertOnnxExport.Options.defaults()))
                .isInstanceOf(OnnxExportException.class)
                .hasMessageContaining("'encoder.layer.2.attention.self.query'").hasMessageContaining("4- and 8-bit");
        QuantSpec g96 = QuantSpec.integer(4, false, Granularity.perGroup(96));
        assertThatThrownBy(() -> BertOnnxExport.write(minilm, rtn(t -> g96), out, BertOnnxExport.Options.defaults()))
                .isInstanceOf(OnnxExportException.class).hasMessageContaining("power of two >= 16, not 96");
        assertThatThrownBy(() -> BertOnnxExport.write(minilm, rtn(t -> QuantSpec.nf4(false)), out,
                BertOnnxExport.Options.defaults()))
                .isInstanceOf(OnnxExportException.class).hasMessageContaining("no kernel for NF4");
        QuantSpec oddBlocks = QuantSpec.integer(4, false, Granularity.perGroup(128)); // 3 blocks per 384-wide row
        assertThatThrownBy(() -> BertOnnxExport.write(minilm, rtn(t -> INT4_G128_SYM), out,
                BertOnnxExport.Options.defaults().withEmbeddings(oddBlocks)))
                .isInstanceOf(OnnxExportException.class)
                .hasMessageContaining("'embeddings.word_embeddings.weight'").hasMessageContaining("odd number of blocks");
        assertThat(out).doesNotExist();
        assertThat(dir).isEmptyDirectory(); // no temporary file left either
    }

    /** Every target round-to-nearest with {@code spec(target)}, every other parameter fp32. */
    private static QuantizedModel rtn(Function<LinearTarget, QuantSpec> spec) {
        BertEncoder e = minilm.encoder();
        QuantizedModel.Builder b = floats(QuantizedModel.builder().sourceModel(MiniLm.NAME));
        for (LinearTarget t : e.targets()) {
            b.addQuantized(t.name(), Quantizer.quantize(t.name(), e.weight(t.name()), spec.apply(t)));
        }
        return b.build();
    }

    private static QuantizedModel.Builder floats(QuantizedModel.Builder b) {
        BertEncoder e = minilm.encoder();
        for (String p : e.parameterNames()) {
            if (e.targets().stream().noneMatch(t -> t.weightName().equals(p))) {
                INDArray v = e.parameter(p);
                b.addFloat(p, new FloatTensor(v.shape(), v.dup('c').data().asFloat()));
            }
        }
        return b;
    }

    /**
     * A GPTQ act-order layout (not the GPTQ algorithm, which lives in ptq): groups of 128 formed over a random
     * column order, so each column's group is given by the group index, not by its position.
     */
    private static QuantizedTensor actOrder(String name, INDArray w, QuantSpec spec, Random random) {
        int rows = w.rows();
        int cols = w.columns();
        List<Integer> order = new ArrayList<>(IntStream.range(0, cols).boxed().toList());
        Collections.shuffle(order, random);
        int[] perm = order.stream().mapToInt(Integer::intValue).toArray();
        INDArray permuted = Nd4j.create(w.dataType(), rows, cols);
        for (int j = 0; j < cols; j++) {
            permuted.putColumn(j, w.getColumn(perm[j]));
        }
        QuantizedTensor p = Quantizer.quantize(name, permuted, spec);
        byte[] codes = new byte[rows * cols];
        BitPacker.unpack(p.codes(), codes.length, spec.bits(), codes);
        byte[] original = new byte[codes.length];
        int[] groupIndex = new int[cols];
        for (int j = 0; j < cols; j++) {
            groupIndex[perm[j]] = j / spec.granularity().groupSize();
            for (int r = 0; r < rows; r++) {
                original[r * cols + perm[j]] = codes[r * cols + j];
            }
        }
        return new QuantizedTensor(spec, p.shape(), BitPacker.pack(original, original.length, spec.bits()), p.scales(),
                p.zeros(), 1f, groupIndex);
    }

    /** A valid 4×1 CLAQ tensor: two-bit codes over four FP16 levels, no outliers. */
    private static ClaqTensor tinyClaq() {
        return new ClaqTensor(new long[]{4, 1}, new byte[]{2},
                EncodedArray.encode(NumberEncoding.FP16, 16, new float[]{0f, 0.25f, 0.5f, 1f}),
                new byte[(int) ClaqTensor.columnCodeBytes(4, 2)], new int[]{0, 0}, new int[0],
                EncodedArray.encode(NumberEncoding.FP16, 16, new float[0]));
    }
}
