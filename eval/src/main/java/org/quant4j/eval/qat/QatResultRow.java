package org.quant4j.eval.qat;

/**
 * One measured model of the QAT example.
 *
 * @param network           e.g. {@code LeNet-5}
 * @param method            {@code fp32}, {@code fp32 fine-tuned}, {@code PTQ RTN} or {@code QAT}
 * @param weights           the weight width ({@code fp32}, {@code int8}, ... {@code ternary})
 * @param activations       {@code int8} or {@code fp32}
 * @param bitsPerWeight     true bits per weight of the model file's weights, scales included (32 for fp32)
 * @param fileBytes         size of the model file (0 for fp32, which is not written)
 * @param accuracy          test accuracy of the network reloaded from the model file (fp32: of the trained network)
 * @param fakeQuantAccuracy test accuracy of the fake-quantized network before conversion (fp32: same as accuracy)
 * @param maxOutputDiff     largest |difference| of the softmax outputs on the test set, reloaded vs fake-quantized
 * @param seconds           wall time of the stage (training or calibration, conversion, evaluation)
 */
public record QatResultRow(String network, String method, String weights, String activations, double bitsPerWeight,
                           long fileBytes, double accuracy, double fakeQuantAccuracy, double maxOutputDiff,
                           double seconds) {
    public static final String FP32 = "fp32";
    /** fp32 trained further exactly as QAT fine-tunes, without quantization (the table's fair baseline). */
    public static final String FP32_FINE_TUNED = "fp32 fine-tuned";
    public static final String PTQ = "PTQ RTN";
    public static final String QAT = "QAT";
}
