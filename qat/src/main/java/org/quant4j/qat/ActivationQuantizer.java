package org.quant4j.qat;

import java.io.Serializable;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Per-tensor fake quantization of a layer's activation output and its backward pass. */
interface ActivationQuantizer extends Serializable {
    /**
     * The fake-quantized activation {@code â} of {@code a} (which may be overwritten).
     *
     * @param training a training forward pass (observers observe, learned parameters initialise)
     */
    INDArray forward(INDArray a, boolean training);

    /**
     * {@code ∂L/∂a} from {@code epsilon = ∂L/∂â}; {@code a} is the activation the forward pass quantized.
     * Quantizers with learned parameters accumulate their gradients here.
     */
    INDArray backward(INDArray a, INDArray epsilon);

    /** The parameters the last forward pass used, or null before the first training forward pass. */
    AffineGrid grid();

    /**
     * A quantizer whose backward pass learns nothing and is the identity STE, or the clipped STE of one grid
     * (then {@link FakeQuantActivation} runs it fused with the wrapped activation's derivative, {@link ClippedSte}).
     */
    interface Ste extends ActivationQuantizer {
        /** The grid whose rounded-code range masks the gradient; null: the gradient passes unchanged. */
        AffineGrid clipGrid();
    }
}
