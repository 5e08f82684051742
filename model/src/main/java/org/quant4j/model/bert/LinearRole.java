package org.quant4j.model.bert;

/** The six dense layers of a BERT encoder layer, with their PyTorch module paths inside {@code encoder.layer.<i>}. */
public enum LinearRole {
    QUERY("attention.self.query"),
    KEY("attention.self.key"),
    VALUE("attention.self.value"),
    ATTENTION_OUTPUT("attention.output.dense"),
    FFN_IN("intermediate.dense"),
    FFN_OUT("output.dense");

    private final String modulePath;

    LinearRole(String modulePath) {
        this.modulePath = modulePath;
    }

    /** Module path relative to the encoder layer, e.g. {@code attention.self.query}. */
    public String modulePath() {
        return modulePath;
    }
}
