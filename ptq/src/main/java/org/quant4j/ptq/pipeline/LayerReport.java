package org.quant4j.ptq.pipeline;

/**
 * What the pipeline did to one target.
 *
 * @param layer              target name ({@code "<layer>/<param>"})
 * @param layerType          DL4J layer type
 * @param shape              the weight's {@code [out, in...]} shape
 * @param spec               the spec used (after the group fallback), short name
 * @param note               the group fallback applied, or empty
 * @param calibrationRows    input rows the layer's statistics were accumulated over (0 without calibration)
 * @param errorRows          input rows the output error was measured on (0: not measured)
 * @param heldOut            whether those rows were held out from calibration
 * @param outputError        {@code ‖W X − Ŵ X‖²_F / ‖W X‖²_F} on those rows, or null when not measured
 * @param weightError        {@code ‖W − Ŵ‖²_F / ‖W‖²_F}
 * @param bitsPerWeight      stored bits per weight, scales, zero points and group index included
 * @param calibrationSeconds time spent capturing inputs (calibration and held-out passes)
 * @param solveSeconds       time spent in the solver
 */
public record LayerReport(String layer, String layerType, long[] shape, String spec, String note, long calibrationRows,
                          int errorRows, boolean heldOut, Double outputError, double weightError, double bitsPerWeight,
                          double calibrationSeconds, double solveSeconds) {
    public LayerReport {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }
}
