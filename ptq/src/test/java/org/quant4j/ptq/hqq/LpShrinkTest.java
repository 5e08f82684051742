package org.quant4j.ptq.hqq;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.FloatRange;

class LpShrinkTest {
    /** The reference's shrink_lp_op, in double: sign(x)·relu(|x| − |x|^(p−1)/β). */
    private static double closedForm(double x, double beta, double p) {
        double a = Math.abs(x);
        double bracket = p == 1 ? a - 1 / beta : a - Math.pow(a, p - 1) / beta;
        return Math.signum(x) * Math.max(0, bracket);
    }

    @Property(tries = 2000)
    void matchesTheClosedForm(@ForAll @FloatRange(min = -20f, max = 20f) float x,
                              @ForAll @DoubleRange(min = 0.5, max = 200) double beta,
                              @ForAll @DoubleRange(min = 0.1, max = 1) double p) {
        float shrunk = new LpShrink(p, beta).apply(x);
        double expected = closedForm(x, beta, p);
        assertThat((double) shrunk).isCloseTo(expected, org.assertj.core.data.Offset.offset(2e-6 * Math.abs(x) + 1e-30));
    }

    @Property(tries = 500)
    void isZeroExactlyUpToTheThresholdAndShrinksTowardZero(@ForAll @FloatRange(min = -5f, max = 5f) float x,
                                                          @ForAll @DoubleRange(min = 1, max = 100) double beta,
                                                          @ForAll @DoubleRange(min = 0.1, max = 1) double p) {
        LpShrink shrink = new LpShrink(p, beta);
        float y = shrink.apply(x);
        assertThat(Math.abs(y)).isLessThanOrEqualTo(Math.abs(x));
        assertThat(shrink.apply(-x)).isEqualTo(-y);
        if (Math.abs(x) <= shrink.threshold()) {
            assertThat(y).isZero();
        } else if (Math.abs(x) > 1.001 * shrink.threshold()) {
            assertThat(Math.signum(y)).isEqualTo(Math.signum(x));
        }
    }

    @Property(tries = 200)
    void pOneIsSoftThresholdingByOneOverBeta(@ForAll @FloatRange(min = -3f, max = 3f) float x,
                                             @ForAll @DoubleRange(min = 1, max = 50) double beta) {
        double expected = Math.signum(x) * Math.max(0, Math.abs(x) - 1 / beta);
        assertThat((double) new LpShrink(1, beta).apply(x))
                .isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-6));
    }

    @Property(tries = 50)
    void thresholdIsWhereTheBracketVanishes(@ForAll @DoubleRange(min = 1, max = 100) double beta,
                                            @ForAll @DoubleRange(min = 0.1, max = 1) double p) {
        double tau = new LpShrink(p, beta).threshold();
        assertThat(tau - Math.pow(tau, p - 1) / beta).isCloseTo(0, org.assertj.core.data.Offset.offset(1e-6 * tau));
    }
}
