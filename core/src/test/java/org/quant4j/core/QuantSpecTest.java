package org.quant4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class QuantSpecTest {

    @Provide
    Arbitrary<QuantSpec> specs() {
        Arbitrary<Granularity> granularity = Arbitraries.oneOf(
                Arbitraries.just(Granularity.perTensor()), Arbitraries.just(Granularity.perChannel()),
                Arbitraries.integers().between(1, 4096).map(Granularity::perGroup));
        Arbitrary<QuantSpec> ints = Combinators.combine(
                Arbitraries.integers().between(2, 8), Arbitraries.of(true, false), granularity,
                Arbitraries.of(NumberEncoding.FP32, NumberEncoding.FP16, NumberEncoding.BF16, NumberEncoding.E8M0,
                        NumberEncoding.E4M3),
                Arbitraries.of(NumberEncoding.UINT, NumberEncoding.FP16, NumberEncoding.FP32))
                .as((bits, sym, g, scale, zero) -> QuantSpec.builder().bits(bits).symmetric(sym).granularity(g)
                        .scaleEncoding(scale).zeroEncoding(zero).build());
        Arbitrary<QuantSpec> others = Combinators.combine(
                Arbitraries.of(Format.TERNARY, Format.NF4, Format.FP8_E4M3, Format.FP8_E5M2, Format.FP4_E2M1),
                granularity,
                Arbitraries.of(NumberEncoding.FP32, NumberEncoding.FP16, NumberEncoding.BF16, NumberEncoding.E8M0,
                        NumberEncoding.E4M3))
                .as((f, g, scale) -> QuantSpec.builder().format(f).granularity(g).scaleEncoding(scale).build());
        return Arbitraries.oneOf(ints, others,
                Arbitraries.of(QuantSpec.nf4(true), QuantSpec.nf4(false), QuantSpec.mxfp4(), QuantSpec.nvfp4(),
                        QuantSpec.fp8E4M3(), QuantSpec.fp8E5M2(), QuantSpec.ternary()));
    }

    @Property(tries = 500)
    void everySpecSurvivesAJsonRoundTrip(@ForAll("specs") QuantSpec spec) {
        String json = spec.toJson();
        QuantSpec back = QuantSpec.fromJson(json);
        assertThat(back).isEqualTo(spec);
        assertThat(back.hashCode()).isEqualTo(spec.hashCode());
        assertThat(back.toJson()).isEqualTo(json);
        assertThat(spec.toBuilder().build()).isEqualTo(spec);
    }

    @Test
    void theJsonFormIsReadable() {
        QuantSpec spec = QuantSpec.integer(4, false, Granularity.perGroup(128));
        assertThat(spec.toJson()).isEqualTo("{\"format\":\"INT\",\"bits\":4,\"symmetric\":false,"
                + "\"granularity\":\"group:128\",\"scaleEncoding\":\"FP16\",\"zeroEncoding\":\"UINT\"}");
        assertThat(QuantSpec.fromJson("{\"bits\":3,\"granularity\":\"channel\"}"))
                .isEqualTo(QuantSpec.integer(3, true, Granularity.perChannel()));
    }

    @Test
    void impossibleSpecsAreRejectedWithAReason() {
        assertThatThrownBy(() -> QuantSpec.builder().bits(1).build())
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("2..8").hasMessageContaining("TERNARY");
        assertThatThrownBy(() -> QuantSpec.builder().bits(9).build())
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("got 9");
        assertThatThrownBy(() -> QuantSpec.builder().bits(0).build()).isInstanceOf(InvalidSpecException.class);
        assertThatThrownBy(() -> QuantSpec.builder().format(Format.NF4).asymmetric().build())
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("symmetric");
        assertThatThrownBy(() -> QuantSpec.builder().format(Format.TERNARY).asymmetric().build())
                .isInstanceOf(InvalidSpecException.class);
        assertThatThrownBy(() -> QuantSpec.builder().format(Format.NF4).bits(3).build())
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("4-bit");
        assertThatThrownBy(() -> QuantSpec.builder().scaleEncoding(NumberEncoding.UINT).build())
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("UINT");
        assertThatThrownBy(() -> QuantSpec.builder().scaleEncoding(NumberEncoding.DQ8).build())
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("NF4");
        assertThatThrownBy(() -> QuantSpec.builder().asymmetric().zeroEncoding(NumberEncoding.E8M0).build())
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("zero points");
        assertThatThrownBy(() -> QuantSpec.builder().groupSize(0).build())
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("group size");
        assertThatThrownBy(() -> QuantSpec.fromJson("{\"bits\":12}"))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("12");
        assertThatThrownBy(() -> QuantSpec.fromJson("{\"granularity\":\"rows\"}"))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("rows");
        assertThatThrownBy(() -> QuantSpec.fromJson("not json")).isInstanceOf(InvalidSpecException.class);
    }

    @Test
    void symmetricSpecsHaveNoZeroEncodingAndShortNamesSayWhatTheyAre() {
        assertThat(QuantSpec.integer(8, true, Granularity.perChannel()).zeroEncoding()).isNull();
        assertThat(QuantSpec.integer(4, false, Granularity.perGroup(128)).shortName()).isEqualTo("int4-asym-g128");
        assertThat(QuantSpec.ternary().shortName()).isEqualTo("ternary-tensor");
        assertThat(QuantSpec.ternary().storageBitsPerCode()).isEqualTo(1.6);
        assertThat(QuantSpec.ternary().scaleEncoding()).isEqualTo(NumberEncoding.FP16);
        assertThat(QuantSpec.builder().build()).isEqualTo(QuantSpec.integer(4, true, Granularity.perChannel()));
    }
}
