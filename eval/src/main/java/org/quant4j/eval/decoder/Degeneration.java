package org.quant4j.eval.decoder;

import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.quant4j.model.llm.LlamaDecoder;

/**
 * How often greedy generation degenerates (the quantized model that "enters an infinite loop"): per model, over
 * greedy generations from many prompts,
 * <ul>
 *   <li><b>loop fraction</b>: generations that end in a repeating cycle, i.e. whose last quarter (and at least four
 *       periods) is one period of {@code p} tokens repeated, for some {@code p ≤ n/16};</li>
 *   <li><b>repeated 4-grams</b>: the share of a generation's 4-grams that already occurred earlier in it (Welleck et
 *       al. 2020, "Neural Text Generation with Unlikelihood Training", seq-rep-4), averaged over generations;</li>
 *   <li><b>distinct-2</b>: distinct bigrams over all bigrams of all generations (Li et al. 2016).</li>
 * </ul>
 *
 * @param generations greedy generations measured
 * @param tokens      tokens per generation
 */
public record Degeneration(int generations, int tokens, double loopFraction, double repeated4, double distinct2) {

    /** Greedy {@code tokens} tokens from each prompt. */
    public static Degeneration measure(LlamaDecoder model, List<int[]> prompts, int tokens) {
        int loops = 0;
        double rep4 = 0;
        Set<Long> bigrams = new HashSet<>();
        long allBigrams = 0;
        for (int[] prompt : prompts) {
            int[] g = model.greedy(prompt, tokens);
            loops += endsInLoop(g) ? 1 : 0;
            rep4 += repeatedNgramShare(g, 4);
            for (int i = 0; i + 1 < g.length; i++) {
                bigrams.add(((long) g[i] << 32) | (g[i + 1] & 0xFFFFFFFFL));
                allBigrams++;
            }
        }
        return new Degeneration(prompts.size(), tokens, (double) loops / prompts.size(), rep4 / prompts.size(),
                allBigrams == 0 ? Double.NaN : (double) bigrams.size() / allBigrams);
    }

    /** Whether the last quarter of {@code g} (at least four periods) is one period repeated, for a period ≤ n/16. */
    static boolean endsInLoop(int[] g) {
        int n = g.length;
        for (int p = 1; p <= n / 16; p++) {
            int span = Math.max(n / 4, 4 * p);
            boolean periodic = true;
            for (int i = n - span; i + p < n && periodic; i++) {
                periodic = g[i] == g[i + p];
            }
            if (periodic) {
                return true;
            }
        }
        return false;
    }

    /** The share of the n-grams of {@code g} that occurred earlier in {@code g}. */
    static double repeatedNgramShare(int[] g, int n) {
        if (g.length < n) {
            return 0;
        }
        Set<String> seen = new HashSet<>();
        int repeated = 0;
        int total = 0;
        for (int i = 0; i + n <= g.length; i++) {
            StringBuilder key = new StringBuilder();
            for (int k = 0; k < n; k++) {
                key.append(g[i + k]).append(',');
            }
            repeated += seen.add(key.toString()) ? 0 : 1;
            total++;
        }
        return (double) repeated / total;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%d greedy generations of %d tokens: %.1f%% end in a loop, repeated 4-grams "
                + "%.3f, distinct-2 %.3f", generations, tokens, 100 * loopFraction, repeated4, distinct2);
    }
}
