package org.quant4j.model;

import java.util.List;

/**
 * Targets that read one input (BERT's query, key and value): one capture, one set of statistics, shared by all.
 *
 * @param name a name for the group in progress and errors (the target's own name for a group of one)
 */
public record TargetGroup(String name, List<QuantTarget> targets) {
    public TargetGroup {
        targets = List.copyOf(targets);
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("group " + name + " has no targets");
        }
    }

    public QuantTarget first() {
        return targets.get(0);
    }
}
