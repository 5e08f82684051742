package org.quant4j.calibration.observer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidTensorException;

class RangeObserverTest {
    @Test
    void minMaxKeepsTheExtremesOfAllBatches() {
        MinMaxObserver o = new MinMaxObserver(-1);
        o.observe(Nd4j.createFromArray(1f, 2f, 3f));
        o.observe(Nd4j.createFromArray(-4f, 0f, 2.5f));
        o.observe(Nd4j.createFromArray(0f, 1f));
        assertThat(o.min()).isEqualTo(-4f);
        assertThat(o.max()).isEqualTo(3f);
        assertThat(o.observations()).isEqualTo(3);
    }

    @Test
    void movingAverageFollowsTheEmaFormula() {
        MovingAverageMinMaxObserver o = new MovingAverageMinMaxObserver(0.25f, -1);
        o.observe(Nd4j.createFromArray(0f, 8f));
        o.observe(Nd4j.createFromArray(-4f, 4f));
        // min: 0 + 0.25 * (-4 - 0) = -1; max: 8 + 0.25 * (4 - 8) = 7
        assertThat(o.min()).isEqualTo(-1f);
        assertThat(o.max()).isEqualTo(7f);
    }

    @Test
    void freezesAfterTheGivenNumberOfObservations() {
        MinMaxObserver o = new MinMaxObserver(2);
        o.observe(Nd4j.createFromArray(0f, 1f));
        assertThat(o.isFrozen()).isFalse();
        o.observe(Nd4j.createFromArray(0f, 2f));
        assertThat(o.isFrozen()).isTrue();
        o.observe(Nd4j.createFromArray(-10f, 10f));
        assertThat(o.max()).isEqualTo(2f);
        assertThat(o.min()).isEqualTo(0f);
        assertThat(o.observations()).isEqualTo(2);
    }

    @Test
    void refusesNonFiniteValuesAndEmptyRange() {
        MinMaxObserver o = new MinMaxObserver(-1);
        assertThatThrownBy(o::min).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> o.observe(Nd4j.createFromArray(0f, Float.NaN)))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("NaN");
        assertThatThrownBy(() -> new MovingAverageMinMaxObserver(0f, 1)).isInstanceOf(IllegalArgumentException.class);
    }
}
