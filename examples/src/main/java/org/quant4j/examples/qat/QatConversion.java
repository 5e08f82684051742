package org.quant4j.examples.qat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.calibration.observer.MinMaxObserver;
import org.quant4j.core.FloatTensor;
import org.quant4j.core.QuantSpec;
import org.quant4j.core.QuantizationException;
import org.quant4j.core.QuantizedModel;
import org.quant4j.core.QuantizedTensor;
import org.quant4j.core.Quantizer;
import org.quant4j.core.io.CorruptFileException;
import org.quant4j.core.io.ModelFileReader;
import org.quant4j.core.io.ModelFileWriter;
import org.quant4j.model.Dl4jNetwork;
import org.quant4j.model.WeightTarget;
import org.quant4j.qat.ActivationGradient;
import org.quant4j.qat.FakeQuantActivation;

/**
 * THE CONVERT / RELOAD STEP of the QAT example, in one place: a fake-quantized network becomes a model
 * file of real low-bit weights, and the file becomes a DL4J network again.
 *
 * <p>This is a stand-in for {@code Qat.convert(net)} and its loader (module {@code qat}); when they land,
 * {@link #convert} and {@link #load} are replaced by them and nothing else in the example changes. It does
 * what convert does: each weight's <em>current float value</em> (the {@code W} the optimizer updates, not
 * {@code q(W)}) is quantized by core's {@link Quantizer} with the weight spec; biases are stored in float;
 * each fake-quantized activation's frozen range is stored as metadata {@code activation/<layer index>}.
 * {@link #load} writes the dequantized weights and the biases into a fresh network of the same
 * architecture and re-inserts activation fake quantization with exactly the stored ranges.
 */
public final class QatConversion {
    /** Metadata key prefix of the activation ranges. */
    public static final String ACTIVATION_KEY = "activation/";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A stored activation quantizer: bits, grid, and the observed range it was derived from. */
    public record ActivationQuant(int bits, boolean symmetric, float min, float max) {}

    private QatConversion() {}

    /**
     * The model of {@code net}: weights quantized with {@code weights}, biases in float, and the range of every
     * activation {@link FakeQuantActivation} that has one, quantized with {@code activations} (null: none).
     */
    public static QuantizedModel convert(MultiLayerNetwork net, String sourceModel, QuantSpec weights,
                                         QuantSpec activations) {
        Dl4jNetwork view = Dl4jNetwork.of(net);
        QuantizedModel.Builder model = QuantizedModel.builder().sourceModel(sourceModel)
                .metadata("weights", weights.toJson());
        for (WeightTarget t : view.targets()) {
            model.addQuantized(t.name(), Quantizer.quantize(t.name(), view.weight(t), weights));
        }
        for (Map.Entry<String, INDArray> p : view.otherParams().entrySet()) {
            model.addFloat(p.getKey(), new FloatTensor(p.getValue().shape(), p.getValue().dup('c').toFloatVector()));
        }
        if (activations != null) {
            for (int i = 0; i < net.getnLayers(); i++) {
                if (activationOf(net, i) instanceof FakeQuantActivation f && f.observer().hasRange()) {
                    ActivationQuant a = new ActivationQuant(activations.bits(), activations.symmetric(),
                            f.observer().min(), f.observer().max());
                    model.metadata(ACTIVATION_KEY + i, toJson(a));
                }
            }
        }
        return model.build();
    }

    /** {@link #convert} then {@link ModelFileWriter#write} (atomic). */
    public static QuantizedModel convertAndWrite(MultiLayerNetwork net, String sourceModel, QuantSpec weights,
                                                 QuantSpec activations, Path file) throws IOException {
        QuantizedModel model = convert(net, sourceModel, weights, activations);
        ModelFileWriter.write(file, model);
        return model;
    }

    /** Reads {@code file} and {@link #load}s it into {@code fresh}. */
    public static MultiLayerNetwork read(Path file, MultiLayerNetwork fresh) throws IOException {
        try {
            return load(ModelFileReader.read(file), fresh);
        } catch (QuantizationException e) {
            throw new CorruptFileException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes {@code model} into {@code fresh} (an initialised network of the architecture it was converted from)
     * and returns it: dequantized weights, float parameters, activation fake quantization at the stored ranges.
     *
     * @throws QuantizationException if a tensor of the model has no counterpart of the same shape in {@code fresh}
     */
    public static MultiLayerNetwork load(QuantizedModel model, MultiLayerNetwork fresh) {
        Dl4jNetwork view = Dl4jNetwork.of(fresh);
        for (Map.Entry<String, QuantizedTensor> e : model.quantizedTensors().entrySet()) {
            view.setWeight(view.target(e.getKey()), e.getValue().dequantize());
        }
        Map<String, INDArray> params = view.otherParams();
        for (Map.Entry<String, FloatTensor> e : model.floatTensors().entrySet()) {
            INDArray p = params.get(e.getKey());
            if (p == null || !java.util.Arrays.equals(p.shape(), e.getValue().shape())) {
                throw new QuantizationException("float tensor '" + e.getKey() + "' "
                        + java.util.Arrays.toString(e.getValue().shape()) + " has no parameter of that name and shape in "
                        + "the network (its other parameters: " + params.keySet() + ")");
            }
            p.assign(Nd4j.create(e.getValue().data(), e.getValue().shape(), 'c').castTo(p.dataType()));
        }
        for (Map.Entry<String, String> e : model.metadata().entrySet()) {
            if (!e.getKey().startsWith(ACTIVATION_KEY)) {
                continue;
            }
            int layer = parseLayer(e.getKey(), fresh.getnLayers());
            ActivationQuant a = fromJson(e.getKey(), e.getValue());
            MinMaxObserver frozen = new MinMaxObserver(1);
            frozen.observe(Nd4j.createFromArray(a.min(), a.max()));
            BaseLayer conf = (BaseLayer) fresh.getLayer(layer).conf().getLayer();
            conf.setActivationFn(new FakeQuantActivation(conf.getActivationFn(), a.bits(), a.symmetric(),
                    ActivationGradient.CLIPPED_STE, frozen));
        }
        return fresh;
    }

    private static IActivation activationOf(MultiLayerNetwork net, int layer) {
        return net.getLayer(layer).conf().getLayer() instanceof BaseLayer b ? b.getActivationFn() : null;
    }

    private static int parseLayer(String key, int layers) {
        try {
            int i = Integer.parseInt(key.substring(ACTIVATION_KEY.length()));
            if (i >= 0 && i < layers) {
                return i;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new QuantizationException("metadata '" + key + "' names no layer of a network with " + layers + " layers");
    }

    private static String toJson(ActivationQuant a) {
        try {
            return JSON.writeValueAsString(a);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ActivationQuant fromJson(String key, String json) {
        try {
            ActivationQuant a = JSON.readValue(json, ActivationQuant.class);
            if (a.bits() < 2 || a.bits() > 8 || !(Float.isFinite(a.min()) && Float.isFinite(a.max()) && a.min() <= a.max())) {
                throw new QuantizationException("metadata '" + key + "' holds an impossible activation range: " + json);
            }
            return a;
        } catch (JsonProcessingException e) {
            throw new QuantizationException("metadata '" + key + "' is not an activation range: " + e.getOriginalMessage());
        }
    }
}
