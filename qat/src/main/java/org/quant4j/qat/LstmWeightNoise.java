package org.quant4j.qat;

import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.weightnoise.IWeightNoise;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Weight fake quantization of a DL4J {@code LSTM}: its input weight {@code W [nIn, 4·nOut]} and recurrent weight
 * {@code RW [nOut, 4·nOut]} each through their own {@link FakeQuantWeightNoise} (the {@code [out, in]} view is the
 * transpose, so a channel is one gate unit's column), the bias in float. DL4J's LSTM fetches both through the
 * weight-noise hook, so the straight-through estimator is the same as for dense layers.
 */
final class LstmWeightNoise implements IWeightNoise {
    private static final long serialVersionUID = 1L;
    static final String RECURRENT_KEY = "RW";

    private final Map<String, FakeQuantWeightNoise> byKey;

    LstmWeightNoise(FakeQuantWeightNoise input, FakeQuantWeightNoise recurrent) {
        this(Map.of(FakeQuantWeightNoise.WEIGHT_KEY, input, RECURRENT_KEY, recurrent));
    }

    private LstmWeightNoise(Map<String, FakeQuantWeightNoise> byKey) {
        this.byKey = byKey;
    }

    /** The quantizer of parameter {@code key}, or null if it stays in float. */
    FakeQuantWeightNoise forKey(String key) {
        return byKey.get(key);
    }

    @Override
    public INDArray getParameter(Layer layer, String paramKey, int iteration, int epoch, boolean train,
                                 LayerWorkspaceMgr workspaceMgr) {
        INDArray w = layer.getParam(paramKey);
        FakeQuantWeightNoise fq = byKey.get(paramKey);
        if (fq == null) {
            return w;
        }
        if (train && fq.quantizer() instanceof LsqWeightQuantizer lsq) {
            lsq.beginTrainingPass(iteration);
        }
        return fq.fakeQuantize(w, iteration);
    }

    @Override
    public IWeightNoise clone() {
        return new LstmWeightNoise(byKey);
    }
}
