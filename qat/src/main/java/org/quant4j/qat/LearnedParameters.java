package org.quant4j.qat;

/**
 * Quantizer parameters trained by gradient descent beside the network's own (LSQ steps, LSQ+ offsets).
 * Their gradients are accumulated during the backward pass, and {@link LearnedStepTrainer} applies them
 * with the network's updater before the network's parameters are updated.
 */
interface LearnedParameters {
    /** Number of trainable values (0 before the first training forward pass initialises them). */
    int size();

    /** Copies the values to {@code out[offset ..)}. */
    void read(float[] out, int offset);

    /** Sets the values from {@code in[offset ..)} (steps are kept positive). */
    void write(float[] in, int offset);

    /**
     * Copies the gradients of the last backward pass ({@code ∂L/∂θ} summed over the minibatch, LSQ gradient
     * scale applied) to {@code out[offset ..)} and marks them consumed.
     */
    void takeGradient(float[] out, int offset);

    /** The updater state of these values (saved with the quantizer). */
    StepUpdater stepUpdater();
}
