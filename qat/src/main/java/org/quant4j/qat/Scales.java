package org.quant4j.qat;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;

/** Rounding of per-block scales to their storage encoding, so fake quantization uses exactly the stored scales. */
final class Scales {
    private Scales() {}

    /**
     * A {@code [blocks, 1]} FLOAT column of {@code raw} (one value per block) rounded to {@code encoding};
     * zero scales (all-zero blocks, or scales below the encoding's smallest value) become 1, which maps
     * such blocks to 0 exactly.
     *
     * @throws InvalidTensorException if a scale is NaN or infinite (the weight holds NaN/Inf)
     */
    static INDArray encodedColumn(INDArray raw, NumberEncoding encoding) {
        float[] s = raw.castTo(DataType.FLOAT).data().asFloat();
        for (int i = 0; i < s.length; i++) {
            if (!Float.isFinite(s[i])) {
                throw new InvalidTensorException("block " + i + " has scale " + s[i] + ": the weight holds NaN or Inf");
            }
            float r = NumberEncodings.round(encoding, s[i]);
            s[i] = r > 0f ? r : 1f;
        }
        return Nd4j.create(s, new long[] {s.length, 1}, 'c');
    }
}
