package org.quant4j.model.bert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.BitPacker;
import org.quant4j.core.ClaqTensor;
import org.quant4j.core.EncodedArray;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.Granularity;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;

/**
 * Loading a quantized MiniLM (RTN through core's Quantizer on the real weights, one target carrying an AWQ-style
 * input scale) back into a fresh encoder: its weights are the dequantized ones, the input scale is divided out,
 * float parameters are copied, and a model that does not fit is refused naming the tensor, leaving the encoder
 * as it was.
 */
class BertQuantizedWeightsTest {
    private static final String SCALED = "encoder.layer.2.intermediate.dense";
    private static final String CLAQ_TARGET = "encoder.layer.4.attention.self.value";
    private static final QuantSpec INT4_G128 = QuantSpec.integer(4, false, Granularity.perGroup(128));

    private static MiniLm fp32;
    private static QuantizedModel rtn;
    private static float[] scale;

    @BeforeAll
    static void quantize() {
        fp32 = MiniLm.load();
        BertEncoder e = fp32.encoder();
        scale = new float[e.target(SCALED).inFeatures()];
        for (int i = 0; i < scale.length; i++) {
            scale[i] = 0.5f + (i % 7) * 0.25f;
        }
        rtn = build(e);
    }

    /** Every target RTN int4 g128 (SCALED as W·diag(s) plus its input scale), every other parameter fp32. */
    private static QuantizedModel build(BertEncoder e) {
        QuantizedModel.Builder b = QuantizedModel.builder().sourceModel("all-MiniLM-L6-v2").metadata("method", "rtn");
        for (LinearTarget t : e.targets()) {
            INDArray w = e.weight(t.name());
            if (t.name().equals(SCALED)) {
                w = w.mulRowVector(Nd4j.create(scale));
            }
            b.addQuantized(t.name(), Quantizer.quantize(t.name(), w, INT4_G128));
        }
        b.addFloat(SCALED + BertQuantizedWeights.INPUT_SCALE_SUFFIX, new FloatTensor(new long[]{scale.length}, scale));
        for (String p : e.parameterNames()) {
            if (e.targets().stream().noneMatch(t -> t.weightName().equals(p))) {
                INDArray v = e.parameter(p);
                b.addFloat(p, new FloatTensor(v.shape(), v.dup('c').data().asFloat()));
            }
        }
        return b.build();
    }

    @Test
    void targetsGetTheDequantizedWeightsAndTheInputScaleIsDividedOut() {
        BertEncoder fresh = MiniLm.load().encoder();
        org.quant4j.model.ModelWeights.Applied applied = BertQuantizedWeights.apply(rtn, fresh);
        assertThat(applied.quantizedTargets()).isEqualTo(36);
        assertThat(applied.claqTargets()).isZero();
        assertThat(applied.inputScales()).isEqualTo(1);
        assertThat(applied.floatParameters()).isEqualTo(fresh.parameterNames().size() - 36);
        for (LinearTarget t : fresh.targets()) {
            float[] got = fresh.weight(t.name()).data().asFloat();
            float[] deq = rtn.quantizedTensors().get(t.name()).dequantizeToArray();
            if (t.name().equals(SCALED)) {
                int in = t.inFeatures();
                for (int k = 0; k < deq.length; k++) {
                    deq[k] /= scale[k % in];
                }
            }
            assertThat(firstDifference(got, deq)).as(t.name() + ": first index where the weight differs").isEqualTo(-1);
        }
        // the divided-out weight is close to the original one (the scale did not change the model)
        INDArray original = fp32.encoder().weight(SCALED);
        double rel = fresh.weight(SCALED).sub(original).norm2Number().doubleValue() / original.norm2Number().doubleValue();
        assertThat(rel).isBetween(1e-4, 0.2);
        assertThat(firstDifference(fresh.parameter("encoder.layer.3.output.LayerNorm.weight").data().asFloat(),
                fp32.encoder().parameter("encoder.layer.3.output.LayerNorm.weight").data().asFloat())).isEqualTo(-1);
        // and the reloaded model still embeds like fp32
        MiniLm reloaded = MiniLm.of(fp32.tokenizer(), fresh);
        INDArray a = fp32.embed(TestSentences.ALL.subList(0, 8));
        INDArray q = reloaded.embed(TestSentences.ALL.subList(0, 8));
        double minCos = a.mul(q).sum(1).minNumber().doubleValue();
        assertThat(minCos).isBetween(0.9, 0.99999);

        // a CLAQ tensor in place of one target is dequantized likewise
        ClaqTensor claq = twoBitColumns(fp32.encoder().weight(CLAQ_TARGET));
        QuantizedModel withClaq = copy(CLAQ_TARGET, null, null, null).addClaq(CLAQ_TARGET, claq).build();
        org.quant4j.model.ModelWeights.Applied appliedClaq = BertQuantizedWeights.apply(withClaq, fresh);
        assertThat(appliedClaq.claqTargets()).isEqualTo(1);
        assertThat(appliedClaq.quantizedTargets()).isEqualTo(35);
        assertThat(firstDifference(fresh.weight(CLAQ_TARGET).data().asFloat(), claq.dequantizeToArray())).isEqualTo(-1);
    }

    /**
     * A valid CLAQ tensor (not the CLAQ algorithm, which lives in module ptq): per column 4 evenly spaced FP16
     * levels between the column's extremes, each weight coded by its nearest level, the largest-magnitude weight
     * of each column kept as an FP16 outlier.
     */
    private static ClaqTensor twoBitColumns(INDArray weight) {
        int rows = weight.rows();
        int cols = weight.columns();
        float[] w = weight.dup('c').data().asFloat();
        float[] levels = new float[4 * cols];
        byte[] packed = new byte[(int) ClaqTensor.columnCodeBytes(rows, 2) * cols];
        int[] start = new int[cols + 1];
        int[] outlierRows = new int[cols];
        float[] outliers = new float[cols];
        byte[] codes = new byte[rows];
        for (int j = 0; j < cols; j++) {
            float lo = Float.MAX_VALUE;
            float hi = -Float.MAX_VALUE;
            int big = 0;
            for (int r = 0; r < rows; r++) {
                float v = w[r * cols + j];
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
                big = Math.abs(v) > Math.abs(w[big * cols + j]) ? r : big;
            }
            for (int k = 0; k < 4; k++) {
                levels[4 * j + k] = NumberEncodings.round(NumberEncoding.FP16, lo + (hi - lo) * k / 3);
            }
            for (int r = 0; r < rows; r++) {
                codes[r] = (byte) Math.round((w[r * cols + j] - lo) / (hi - lo) * 3);
            }
            BitPacker.pack(codes, 0, rows, 2, packed, j * (int) ClaqTensor.columnCodeBytes(rows, 2));
            outlierRows[j] = big;
            outliers[j] = NumberEncodings.round(NumberEncoding.FP16, w[big * cols + j]);
            start[j + 1] = j + 1;
        }
        return new ClaqTensor(new long[]{rows, cols}, filled(cols, (byte) 2), EncodedArray.encode(NumberEncoding.FP16, 16,
                levels), packed, start, outlierRows, EncodedArray.encode(NumberEncoding.FP16, 16, outliers));
    }

    private static byte[] filled(int n, byte value) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, value);
        return b;
    }

    @Test
    void aModelThatDoesNotFitIsRefusedNamingTheTensorAndTheEncoderIsUnchanged() {
        BertEncoder encoder = fp32.encoder(); // a refused model must leave it as it is
        float[] before = encoder.weight("encoder.layer.0.attention.self.query").data().asFloat();
        QuantizedTensor outputDense = rtn.quantizedTensors().get("encoder.layer.0.output.dense");
        float[] badScale = scale.clone();
        badScale[17] = 0;
        FloatTensor zeroScale = new FloatTensor(new long[]{badScale.length}, badScale);

        assertRefused(copy("encoder.layer.5.attention.self.query", null, null, null), encoder,
                "encoder.layer.5.attention.self.query");
        assertRefused(copy(null, "encoder.layer.1.output.dense.bias", null, null), encoder,
                "encoder.layer.1.output.dense.bias");
        assertRefused(copy(null, null, null, null).addFloat("pooler.dense.bias", new FloatTensor(new long[]{1},
                new float[1])), encoder, "pooler.dense.bias");
        assertRefused(copy(null, null, null, null).addQuantized("encoder.layer.9.output.dense", outputDense), encoder,
                "encoder.layer.9.output.dense");
        assertRefused(copy(null, null, "encoder.layer.0.attention.self.key", outputDense), encoder,
                "encoder.layer.0.attention.self.key");
        assertRefused(copy(null, null, null, null).addClaq("encoder.layer.0.attention.self", twoBitColumns(
                encoder.weight("encoder.layer.0.attention.self.key"))), encoder, "encoder.layer.0.attention.self");
        assertRefused(copy(null, SCALED + "/input_scale", null, null).addFloat(SCALED + "/input_scale", zeroScale),
                encoder, SCALED + "/input_scale");

        assertThat(firstDifference(encoder.weight("encoder.layer.0.attention.self.query").data().asFloat(), before))
                .isEqualTo(-1);
    }

    /** rtn's tensors without {@code dropQuantized} and {@code dropFloat}, and with {@code replaced} swapped for {@code by}. */
    private static QuantizedModel.Builder copy(String dropQuantized, String dropFloat, String replaced, QuantizedTensor by) {
        QuantizedModel.Builder b = QuantizedModel.builder();
        rtn.quantizedTensors().forEach((n, t) -> {
            if (!n.equals(dropQuantized)) b.addQuantized(n, n.equals(replaced) ? by : t);
        });
        rtn.floatTensors().forEach((n, t) -> {
            if (!n.equals(dropFloat)) b.addFloat(n, t);
        });
        return b;
    }

    private static void assertRefused(QuantizedModel.Builder model, BertEncoder encoder, String tensor) {
        assertThatThrownBy(() -> BertQuantizedWeights.apply(model.build(), encoder))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("'" + tensor + "'");
    }

    /** The first index where the arrays differ (bitwise, with a message of both values), -1 when equal. */
    private static int firstDifference(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToIntBits(a[i]) != Float.floatToIntBits(b[i])) {
                System.out.println("differs at " + i + ": " + a[i] + " vs " + b[i]);
                return i;
            }
        }
        return -1;
    }
}
