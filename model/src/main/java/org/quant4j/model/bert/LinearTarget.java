package org.quant4j.model.bert;

/**
 * A dense layer of the encoder offered to a quantizer: its weight is {@code [outFeatures, inFeatures]}
 * (PyTorch layout, {@code y = x Wᵀ + b}).
 *
 * @param name        the PyTorch module name, e.g. {@code encoder.layer.0.attention.self.query}
 * @param layer       the encoder layer, 0-based
 * @param role        which of the layer's six dense layers it is
 * @param outFeatures rows of the weight
 * @param inFeatures  columns of the weight (width of the input activations)
 */
public record LinearTarget(String name, int layer, LinearRole role, int outFeatures, int inFeatures) {

    /** The PyTorch name of the target's weight parameter ({@code name + ".weight"}). */
    public String weightName() {
        return name + ".weight";
    }

    /** The PyTorch name of the target's bias parameter ({@code name + ".bias"}). */
    public String biasName() {
        return name + ".bias";
    }

    static String moduleName(int layer, LinearRole role) {
        return "encoder.layer." + layer + "." + role.modulePath();
    }
}
