package org.quant4j.eval.qat;

import java.util.Objects;
import org.quant4j.core.InvalidSpecException;
import org.quant4j.core.TernaryScale;
import org.quant4j.model.data.MnistDigits;

/**
 * How the QAT example trains: epochs of fp32 training and of QAT fine-tuning, how many of the 8,000
 * training digits it uses (the first {@code trainSamples} of the seeded split), whether activations are
 * fake-quantized to int8, the seed of initialisation and batch order, and the threshold and scale of the
 * ternary width ({@link TernaryScale}: TWN by default, BitNet's absmean as the alternative).
 */
public record QatRunSettings(int fp32Epochs, int qatEpochs, int trainSamples, boolean int8Activations, long seed,
                             TernaryScale ternaryScale) {
    /** Mini-batch size of every training step. */
    public static final int BATCH_SIZE = 64;
    /** Adam's learning rate for fp32 training. */
    public static final double FP32_LEARNING_RATE = 1e-3;
    /** Adam's learning rate for QAT fine-tuning: a fifth of fp32's, as fine-tuning starts from a trained network. */
    public static final double QAT_LEARNING_RATE = 2e-4;
    /** Training batches whose activation ranges calibrate PTQ (no weight update). */
    public static final int CALIBRATION_BATCHES = 16;

    public QatRunSettings {
        Objects.requireNonNull(ternaryScale, "ternaryScale");
        if (fp32Epochs < 1 || qatEpochs < 1) {
            throw new InvalidSpecException("fp32 and QAT epochs must be at least 1, got " + fp32Epochs + " and " + qatEpochs);
        }
        if (trainSamples < BATCH_SIZE || trainSamples > MnistDigits.TRAIN_SIZE) {
            throw new InvalidSpecException("training samples must be " + BATCH_SIZE + ".." + MnistDigits.TRAIN_SIZE
                    + ", got " + trainSamples);
        }
    }

    /**
     * The defaults of {@code quant4j qat}: 10 fp32 epochs (with 3, LeNet-5 stops at 95.4 % and every quantized row is
     * measured against an under-trained baseline), 2 QAT epochs, all 8,000 digits, int8 activations, seed 42, ternary
     * weights with TWN's threshold and scale (from an fp32 checkpoint they start far closer to the fp32 weights than
     * BitNet's absmean, which is meant for training from scratch).
     */
    public static QatRunSettings defaults() {
        return new QatRunSettings(10, 2, MnistDigits.TRAIN_SIZE, true, 42, TernaryScale.TWN);
    }

    /** Training iterations of one epoch. */
    public int iterationsPerEpoch() {
        return (trainSamples + BATCH_SIZE - 1) / BATCH_SIZE;
    }
}
