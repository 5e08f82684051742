package org.quant4j.ptq;

import org.quant4j.core.Granularity;

/**
 * Where the grid parameters of each weight live during GPTQ, by column in processing order: the
 * parameter index of element {@code (row, position)} is {@code row·rowStride + columnBlock[position]},
 * and {@code fitAt[position]} marks columns where a group's parameters are fitted when the column is
 * reached (the reference's {@code (i1 + i) % groupsize == 0}). Parameters not fitted during the sweep
 * (per tensor, per channel, static groups) are fitted once before it.
 */
public record ScaleLayout(int rowStride, int[] columnBlock, boolean[] fitAt, int groupSize, int blocks) {

    /**
     * @param order        processing order: position {@code j} holds original column {@code order[j]}
     * @param staticGroups fit each group once, before the sweep, on its original consecutive columns
     */
    public static ScaleLayout of(Granularity granularity, int rows, int[] order, boolean staticGroups) {
        int n = order.length;
        int[] block = new int[n];
        boolean[] fit = new boolean[n];
        return switch (granularity.kind()) {
            case TENSOR -> new ScaleLayout(0, block, fit, 0, 1);
            case CHANNEL -> new ScaleLayout(1, block, fit, 0, rows);
            case GROUP -> {
                int g = granularity.groupSize();
                for (int j = 0; j < n; j++) {
                    block[j] = staticGroups ? order[j] / g : j / g;
                    fit[j] = !staticGroups && j % g == 0;
                }
                yield new ScaleLayout(n / g, block, fit, g, rows * (n / g));
            }
        };
    }

    /** Whether group parameters are fitted during the sweep. */
    boolean fitsDuringSweep() {
        return groupSize > 0 && fitAt.length > 0 && fitAt[0];
    }

    /**
     * The group of each original column when groups were formed in processing order and that order is
     * not the identity (AutoGPTQ's {@code g_idx} under act-order); null when groups are consecutive.
     */
    public int[] groupIndex(int[] order) {
        if (!fitsDuringSweep()) {
            return null;
        }
        int[] index = new int[order.length];
        boolean consecutive = true;
        for (int j = 0; j < order.length; j++) {
            index[order[j]] = columnBlock[j];
            consecutive &= columnBlock[j] == order[j] / groupSize;
        }
        return consecutive ? null : index;
    }

    /**
     * The end of the lazy-batch block starting at {@code start}: {@code start + blockSize} (or n), cut
     * short before a group that starts inside the block but would end after it, so that every group
     * fitted during the sweep either lies in one block or starts one (its columns are then current).
     */
    public int blockEnd(int start, int blockSize) {
        int n = columnBlock.length;
        int end = Math.min(n, start + blockSize);
        if (fitsDuringSweep()) {
            for (int c = (start / groupSize + 1) * groupSize; c < end; c += groupSize) {
                if (c + groupSize > end) {
                    return c;
                }
            }
        }
        return end;
    }
}
