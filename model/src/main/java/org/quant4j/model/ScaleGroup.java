package org.quant4j.model;

import java.util.List;

/**
 * Targets that share one vector of AWQ input-channel scales (AutoAWQ {@code get_layers_for_scaling}: {@code prev_op},
 * {@code layers}, {@code module2inspect}). Where {@code 1/s} goes is the model's business ({@link
 * QuantizableModel#applyScales}); the search's loss is the output error of {@code inspect}.
 *
 * @param name     the group's name, the key of its scales
 * @param targets  the targets whose columns are multiplied by {@code s}, all reading one input
 * @param foldInto what absorbs {@code 1/s} (e.g. "v_proj rows", "input_scale stored"), for reports
 * @param inspect  the module whose output the search compares: null for the targets' own outputs, otherwise a name
 *                 the model's {@link CalibrationPass#moduleLoss} knows (e.g. "self-attention")
 * @param columnsPerChannel weight columns sharing one input channel's scale (a convolution's {@code kh·kw}; 1 else)
 */
public record ScaleGroup(String name, List<QuantTarget> targets, String foldInto, String inspect,
                         int columnsPerChannel) {
    public ScaleGroup {
        targets = List.copyOf(targets);
    }
}
