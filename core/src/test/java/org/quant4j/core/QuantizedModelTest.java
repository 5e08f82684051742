package org.quant4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class QuantizedModelTest {
    /** int4, per channel, FP16 scales, 2x8: 8 code bytes + 2 scales x 2 bytes. */
    private static QuantizedTensor int4(float globalScale) {
        QuantSpec spec = QuantSpec.integer(4, true, Granularity.perChannel());
        return new QuantizedTensor(spec, new long[] {2, 8}, new byte[8],
                EncodedArray.encode(NumberEncoding.FP16, 0, new float[] {0.5f, 0.25f}), null, globalScale);
    }

    private static FloatTensor bias(int n) {
        return new FloatTensor(new long[] {n}, new float[n]);
    }

    @Test
    void keepsTensorsInInsertionOrderAndMetadataSorted() {
        QuantizedModel m = QuantizedModel.builder().sourceModel("src").metadata("z", "1").metadata("a", "2")
                .addQuantized("q2", int4(1f)).addFloat("b", bias(2)).addQuantized("q1", int4(1f)).build();
        assertThat(m.quantizedTensors().keySet()).containsExactly("q2", "q1");
        assertThat(m.floatTensors().keySet()).containsExactly("b");
        assertThat(m.metadata().keySet()).containsExactly("a", "z");
        assertThat(m.sourceModel()).isEqualTo("src");
    }

    @Test
    void sizesCountStoredBytesAndTheFp32AndFp16Equivalents() {
        QuantizedModel m = QuantizedModel.builder().addQuantized("w", int4(1f)).addQuantized("nv", int4(0.5f))
                .addFloat("b", bias(3)).build();
        assertThat(m.parameterCount()).isEqualTo(16 + 16 + 3);
        assertThat(m.storedBytes()).isEqualTo((8 + 4) + (8 + 4 + 4) + 3 * 4);
        assertThat(m.fp32Bytes()).isEqualTo(35 * 4);
        assertThat(m.fp16Bytes()).isEqualTo(35 * 2);
    }

    @Test
    void namesMustBeNonEmptyAndUniqueAcrossBothKinds() {
        QuantizedModel.Builder b = QuantizedModel.builder().addQuantized("w", int4(1f));
        assertThatThrownBy(() -> b.addFloat("w", bias(1))).isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("tensor 'w' is added twice");
        assertThatThrownBy(() -> b.addQuantized("w", int4(1f))).isInstanceOf(InvalidTensorException.class);
        assertThatThrownBy(() -> b.addQuantized("", int4(1f))).isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("empty");
    }

    /** CLAQ [16, 2], width 1 per column, no outliers: 4 code bytes + 4 FP16 centroids + 2 width bytes. */
    private static ClaqTensor claq(float centroid) {
        return new ClaqTensor(new long[] {16, 2}, new byte[] {1, 1},
                EncodedArray.encode(NumberEncoding.FP16, 16, new float[] {-1, 1, -2, centroid}), new byte[4],
                new int[] {0, 0, 0}, new int[0], EncodedArray.encode(NumberEncoding.FP16, 16, new float[0]));
    }

    @Test
    void claqTensorsAreKeptInOrderCountedInTheSizesAndShareTheNamespace() {
        QuantizedModel m = QuantizedModel.builder().addQuantized("w", int4(1f)).addClaq("c2", claq(2f))
                .addFloat("b", bias(3)).addClaq("c1", claq(2f)).build();
        assertThat(m.claqTensors().keySet()).containsExactly("c2", "c1");
        assertThat(m.parameterCount()).isEqualTo(16 + 2 * 32 + 3);
        assertThat(m.storedBytes()).isEqualTo((8 + 4) + 2 * (4 + 8 + 2) + 3 * 4);
        assertThat(m.fp32Bytes()).isEqualTo(4 * (16 + 64 + 3));
        assertThat(m.fp16Bytes()).isEqualTo(2 * (16 + 64 + 3));
        assertThat(m.toString()).contains("1 quantized + 2 CLAQ + 1 fp32 tensors");
        assertThatThrownBy(() -> m.claqTensors().clear()).isInstanceOf(UnsupportedOperationException.class);

        QuantizedModel.Builder b = QuantizedModel.builder().addQuantized("w", int4(1f)).addClaq("c", claq(2f));
        assertThatThrownBy(() -> b.addClaq("w", claq(2f))).isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("tensor 'w' is added twice");
        assertThatThrownBy(() -> b.addFloat("c", bias(1))).isInstanceOf(InvalidTensorException.class);
        assertThatThrownBy(() -> b.addQuantized("c", int4(1f))).isInstanceOf(InvalidTensorException.class);
        assertThatThrownBy(() -> b.addClaq("", claq(2f))).isInstanceOf(InvalidTensorException.class);

        QuantizedModel same = QuantizedModel.builder().addClaq("c", claq(2f)).build();
        assertThat(same).isEqualTo(QuantizedModel.builder().addClaq("c", claq(2f)).build())
                .hasSameHashCodeAs(QuantizedModel.builder().addClaq("c", claq(2f)).build())
                .isNotEqualTo(QuantizedModel.builder().addClaq("c", claq(3f)).build())
                .isNotEqualTo(QuantizedModel.builder().addClaq("d", claq(2f)).build());
    }

    @Test
    void isImmutableAndUnaffectedByLaterBuilderCalls() {
        QuantizedModel.Builder b = QuantizedModel.builder().addQuantized("w", int4(1f));
        QuantizedModel m = b.build();
        b.addFloat("late", bias(1)).metadata("k", "v");
        assertThat(m.floatTensors()).isEmpty();
        assertThat(m.metadata()).isEmpty();
        assertThatThrownBy(() -> m.quantizedTensors().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> m.metadata().put("k", "v")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void equalityComparesNamesOrderBytesAndMetadata() {
        QuantizedModel ab = QuantizedModel.builder().addQuantized("a", int4(1f)).addQuantized("b", int4(1f)).build();
        QuantizedModel ab2 = QuantizedModel.builder().addQuantized("a", int4(1f)).addQuantized("b", int4(1f)).build();
        QuantizedModel ba = QuantizedModel.builder().addQuantized("b", int4(1f)).addQuantized("a", int4(1f)).build();
        QuantizedModel other = QuantizedModel.builder().addQuantized("a", int4(1f)).addQuantized("b", int4(2f)).build();
        QuantizedModel meta = QuantizedModel.builder().addQuantized("a", int4(1f)).addQuantized("b", int4(1f))
                .metadata("method", "rtn").build();
        assertThat(ab).isEqualTo(ab2).hasSameHashCodeAs(ab2).isNotEqualTo(ba).isNotEqualTo(other).isNotEqualTo(meta);
    }

    @Test
    void floatTensorsCheckTheirShapeAndCompareByValue() {
        assertThatThrownBy(() -> new FloatTensor(new long[] {2, 3}, new float[5])).isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("has 6 elements but the data has 5");
        assertThatThrownBy(() -> new FloatTensor(new long[] {-1}, new float[0])).isInstanceOf(InvalidTensorException.class)
                .hasMessageContaining("negative");
        assertThatThrownBy(() -> new FloatTensor(new long[] {1L << 62, 4}, new float[0]))
                .isInstanceOf(InvalidTensorException.class).hasMessageContaining("too large");
        long[] shape = {2};
        FloatTensor t = new FloatTensor(shape, new float[] {1f, 2f});
        shape[0] = 7;
        assertThat(t.shape()).containsExactly(2);
        assertThat(t).isEqualTo(new FloatTensor(new long[] {2}, new float[] {1f, 2f}))
                .isNotEqualTo(new FloatTensor(new long[] {1, 2}, new float[] {1f, 2f}));
        assertThat(new FloatTensor(new long[] {0, 5}, new float[0]).size()).isZero();
    }
}
