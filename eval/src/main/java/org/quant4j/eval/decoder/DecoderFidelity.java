package org.quant4j.eval.decoder;

import java.util.Arrays;
import java.util.Locale;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.quant4j.model.bert.ModelInputException;
import org.quant4j.model.llm.LlamaDecoder;

/**
 * A decoder's perplexity on held-out text as llama.cpp's {@code llama-perplexity} computes it
 * (tools/perplexity/perplexity.cpp, {@code perplexity()}): the tokens are cut into chunks of {@code ctx}, each chunk
 * (its first token replaced by the start token when the vocabulary adds one) is run from position 0, and only the
 * second half is scored, token {@code j + 1} from the logits at {@code j} for {@code ctx/2 ≤ j < ctx − 1}; with a
 * reference model, also the mean KL divergence {@code KL(p_ref ‖ p)} and the top-1 agreement over the same positions
 * (its {@code --kl-divergence}).
 *
 * @param tokens    tokens scored
 * @param perplexity {@code exp} of the mean negative log-likelihood
 * @param meanKl    mean KL divergence from the reference (NaN without one)
 * @param top1      fraction of positions whose arg-max equals the reference's (NaN without one)
 */
public record DecoderFidelity(long tokens, double perplexity, double meanKl, double top1) {

    /**
     * @param bos the start token written over each chunk's first token, or -1 for none
     * @throws ModelInputException when the text holds less than one chunk
     */
    public static DecoderFidelity measure(LlamaDecoder model, LlamaDecoder reference, int[] text, int ctx, int bos) {
        if (ctx < 4) {
            throw new ModelInputException("the context must be at least 4 tokens, got " + ctx);
        }
        int chunks = text.length / ctx;
        if (chunks == 0) {
            throw new ModelInputException("the text has " + text.length + " tokens, fewer than one context of " + ctx
                    + "; give more text or a smaller context");
        }
        double nll = 0;
        double kl = 0;
        long agree = 0;
        long scored = 0;
        for (int c = 0; c < chunks; c++) {
            int[] chunk = Arrays.copyOfRange(text, c * ctx, (c + 1) * ctx);
            if (bos >= 0) {
                chunk[0] = bos;
            }
            INDArray logP = logSoftmax(model.logits(chunk));
            INDArray logRef = reference == null ? null : logSoftmax(reference.logits(chunk));
            for (int j = ctx / 2; j < ctx - 1; j++) {
                INDArray row = logP.getRow(j);
                nll -= row.getDouble(chunk[j + 1]);
                if (logRef != null) {
                    INDArray ref = logRef.getRow(j);
                    kl += Transforms.exp(ref, true).muli(ref.sub(row)).sumNumber().doubleValue();
                    agree += ref.argMax().getInt(0) == row.argMax().getInt(0) ? 1 : 0;
                }
                scored++;
            }
        }
        return new DecoderFidelity(scored, Math.exp(nll / scored), reference == null ? Double.NaN : kl / scored,
                reference == null ? Double.NaN : (double) agree / scored);
    }

    private static INDArray logSoftmax(INDArray logits) {
        INDArray shifted = logits.subColumnVector(logits.max(true, 1));
        return shifted.subiColumnVector(Transforms.log(Transforms.exp(shifted, true).sum(true, 1), false));
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%,d tokens: perplexity %.4f%s", tokens, perplexity, Double.isNaN(meanKl) ? ""
                : String.format(Locale.ROOT, ", mean KL to the reference %.5f, top-1 agreement %.3f", meanKl, top1));
    }
}
