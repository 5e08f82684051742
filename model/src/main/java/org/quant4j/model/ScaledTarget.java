package org.quant4j.model;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A target after AWQ scales were applied ({@link QuantizableModel#applyScales}).
 *
 * @param original        the float weight before scaling, {@code [out, in...]}
 * @param stored          the weight to quantize and store as an {@code [out, columns]} matrix:
 *                        {@code diag(1/r)·W·diag(s)}
 * @param inputScales     {@code s}, one per column of {@code stored}: the stored weight expects its input divided by them
 * @param storeInputScale whether {@code s} must be stored with the target ({@code <target>/input_scale}); false when
 *                        {@code 1/s} was folded into the op before it
 * @param rowScales       {@code r}, a later group's scales folded into this target's rows (null when none): the model
 *                        computes this target's outputs divided by them
 * @param channelScales   {@code s} per input channel (a convolution's {@code kh·kw} columns share one), as stored
 * @param note            where the scales went, for the report
 */
public record ScaledTarget(INDArray original, INDArray stored, float[] inputScales, boolean storeInputScale,
                           float[] rowScales, float[] channelScales, String note) {
}
