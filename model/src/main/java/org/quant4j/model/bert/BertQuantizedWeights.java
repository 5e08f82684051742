package org.quant4j.model.bert;

import org.quant4j.core.InvalidTensorException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.model.ModelWeights;
import org.quant4j.model.StoredWeight;


/**
 * Loads a quantized BERT model file back into a {@link BertEncoder} (the naming convention of the MiniLM PTQ
 * work): each of the encoder's {@linkplain BertEncoder#targets() targets} is stored under its target name as a
 * {@code QuantizedTensor} (RTN, GPTQ, HQQ, AWQ) or a {@code ClaqTensor} (CLAQ) in PyTorch layout {@code [out, in]}
 * and receives its dequantized values; when a float
 * tensor {@code <target>/input_scale} of shape {@code [in]} is present (AWQ scales that could not be folded into
 * the previous op), the stored tensor approximates {@code W·diag(s)} and the effective weight is
 * {@code dequantize()·diag(1/s)}. Every other parameter is a float tensor under its PyTorch {@code state_dict}
 * name ({@link BertEncoder#parameterNames()}) and is copied as is.
 *
 * <p>The whole model is checked before the encoder is touched: a missing target or parameter, a shape that
 * differs, a tensor the encoder does not know, or a non-positive or non-finite input scale is an
 * {@link InvalidTensorException} naming the tensor, and the encoder is left unchanged.
 */
public final class BertQuantizedWeights {
    /** Suffix of the AWQ input-channel scale tensor of a target. */
    public static final String INPUT_SCALE_SUFFIX = StoredWeight.INPUT_SCALE_SUFFIX;

    private BertQuantizedWeights() {
    }

    /**
     * Sets every weight of {@code encoder} from {@code model} ({@link ModelWeights#apply} on the encoder's targets and
     * parameters).
     *
     * @throws InvalidTensorException naming the tensor when the model does not fit the encoder (see the class comment)
     */
    public static ModelWeights.Applied apply(QuantizedModel model, BertEncoder encoder) {
        return ModelWeights.apply(model, QuantizableBert.weightsOf(encoder));
    }
}
