package org.quant4j.ptq.awq;

import org.quant4j.model.AwqFolding;
import org.quant4j.ptq.OutputError;
import org.quant4j.ptq.RangeSearch;
import org.quant4j.ptq.GridSolver;
import org.quant4j.ptq.gptq.Gptq;
import org.quant4j.ptq.rtn.Rtn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.quant4j.ptq.awq.AwqTest.IN;
import static org.quant4j.ptq.awq.AwqTest.LAYER;
import static org.quant4j.ptq.awq.AwqTest.OUT;
import static org.quant4j.ptq.awq.AwqTest.STATS;
import static org.quant4j.ptq.awq.AwqTest.g128;
import static org.quant4j.ptq.awq.AwqTest.heldOutError;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calibration.LayerStats;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizedTensor;

/**
 * AWQ's scales followed by GPTQ on {@code W·diag(s)}: quality against AWQ, RTN and GPTQ; the scaled Hessian (on
 * {@link AwqTest}'s synthetic layer).
 */
class AwqGptqTest {
    private static Gptq tuned() {
        return Gptq.builder().actOrder(true).range(RangeSearch.mse()).build();
    }

    private static double plainError(GridSolver solver, QuantSpec spec) {
        return LAYER.relativeOutputError(solver.solve("fc", LAYER.weight(), STATS, spec).dequantize());
    }

    @ParameterizedTest(name = "int{0} asym g128")
    @ValueSource(ints = {4, 3})
    void gptqAsTheQuantizingStepLowersAwqsError(int bits) {
        QuantSpec spec = g128(bits);
        double rtn = plainError(new Rtn(), spec);
        double awq = heldOutError(new Awq(), spec);
        double gptq = plainError(new Gptq(), spec);
        double gptqTuned = plainError(tuned(), spec);
        double awqGptq = heldOutError(Awq.builder().gptq(new Gptq()).build(), spec);
        double awqGptqTuned = heldOutError(Awq.builder().gptq(tuned()).build(), spec);
        System.out.printf("%s on %dx%d, held-out relative output error: RTN %.5f | AWQ %.5f | GPTQ %.5f | GPTQ act-order"
                + " mse %.5f | AWQ+GPTQ %.5f | AWQ+GPTQ act-order mse %.5f%n", spec, OUT, IN, rtn, awq, gptq, gptqTuned,
                awqGptq, awqGptqTuned);
        assertThat(awqGptq).isLessThan(0.8 * awq).isLessThan(0.5 * rtn).isLessThan(0.6 * gptq);
        assertThat(awqGptqTuned).isLessThan(0.8 * awq).isLessThan(0.5 * rtn);
    }

    @Test
    void itIsGptqOnTheScaledWeightWithTheScaledInputsHessian() {
        QuantSpec spec = g128(4);
        Awq awq = Awq.builder().gptq(tuned()).build();
        InputScaledTensor scaled = awq.solveScaled("fc", LAYER.weight(), STATS, spec);
        float[] s = scaled.inputScales();
        INDArray inverse = Nd4j.diag(Nd4j.create(s, new long[] {IN}, DataType.FLOAT).rdiv(1f));
        INDArray hs = inverse.mmul(STATS.hessian()).mmul(inverse);
        QuantizedTensor expected = tuned().solveWithHessian("fc", AwqFolding.scaleColumns(LAYER.weight(), s), hs, spec)
                .tensor();
        // the same GPTQ up to float rounding of H_s (diag products here, one scalar product per entry there)
        float[] got = scaled.tensor().dequantizeToArray();
        float[] want = expected.dequantizeToArray();
        int differ = 0;
        for (int i = 0; i < got.length; i++) {
            differ += got[i] == want[i] ? 0 : 1;
        }
        double errorGot = LAYER.relativeOutputError(scaled.effectiveWeightArray());
        double errorWant = LAYER.relativeOutputError(new InputScaledTensor(expected, s).effectiveWeightArray());
        System.out.printf("AWQ+GPTQ vs GPTQ on W·diag(s) with diag(1/s)·H·diag(1/s): %d of %d weights differ, errors %.6f"
                + " and %.6f%n", differ, got.length, errorGot, errorWant);
        assertThat(differ).as("codes flipped by rounding, then propagated by GPTQ").isLessThan(got.length / 100);
        assertThat(errorGot).isCloseTo(errorWant, org.assertj.core.data.Percentage.withPercentage(1));
        assertThat(scaled.tensor().hasGroupIndex()).as("act-order keeps GPTQ's group index").isTrue();

        float[] effective = scaled.effectiveWeight();
        float[] stored = scaled.tensor().dequantizeToArray();
        for (int i = 0; i < effective.length; i++) {
            assertThat(effective[i] * s[i % IN]).isCloseTo(stored[i], org.assertj.core.data.Offset.offset(1e-6f));
        }
        INDArray xOverS = LAYER.heldOut().divRowVector(Nd4j.create(s, new long[] {1, IN}, 'c'));
        double inScaledDomain = OutputError.relative(AwqFolding.scaleColumns(LAYER.weight(), s), scaled.tensor().dequantize(),
                xOverS);
        assertThat(LAYER.relativeOutputError(scaled.effectiveWeightArray()))
                .isCloseTo(inScaledDomain, org.assertj.core.data.Percentage.withPercentage(0.1));
    }

    @Test
    void quantizeScaledRunsGptqWithTheStatisticsHessian() {
        QuantSpec spec = g128(4);
        Awq awq = Awq.builder().gptq(new Gptq()).build();
        float[] s = awq.solveScaled("fc", LAYER.weight(), STATS, spec).inputScales();
        INDArray ws = AwqFolding.scaleColumns(LAYER.weight(), s);
        Awq.LayerResult r = awq.quantizeScaled("fc", ws, s, STATS, true, spec);
        assertThat(r.clip()).as("no clip search with a GPTQ step").isNull();
        assertThat(r.scaled().tensor()).isEqualTo(awq.solveScaled("fc", LAYER.weight(), STATS, spec).tensor());

        LayerStats noHessian = new LayerStats("fc", IN, 64, 1L, false);
        noHessian.accumulate("fc", LAYER.calibration());
        assertThatThrownBy(() -> awq.quantizeScaled("fc.dense", ws, s, noHessian, true, spec))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("fc.dense").hasMessageContaining("Hessian");
        Awq.LayerResult rtn = new Awq().quantizeScaled("fc", ws, s, noHessian, true, spec);
        assertThat(rtn.clip()).as("plain AWQ needs only the rows").isNotNull();
    }

    @Test
    void namesTellTheVariantsApart() {
        assertThat(new Awq().name()).isEqualTo("awq");
        assertThat(Awq.builder().build().toString()).isEqualTo(new Awq().toString());
        Awq combined = Awq.builder().gptq(tuned()).build();
        assertThat(combined.name()).isEqualTo("awq+gptq");
        assertThat(combined.toString()).startsWith("awq+gptq(").contains("actOrder=true");
        assertThat(combined.gptq()).isNotNull();
        assertThat(new Awq().gptq()).isNull();
    }
}
