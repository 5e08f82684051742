package org.quant4j.core;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Objects;

/**
 * How a tensor is quantized: element {@link Format}, integer bit width, symmetric or asymmetric
 * (zero point), {@link Granularity} of the scales, and how scales and zero points are stored.
 * Immutable; built with {@link #builder()} or the named presets; round-trips through JSON.
 *
 * <pre>{@code
 * QuantSpec int4 = QuantSpec.builder().bits(4).asymmetric().groupSize(128).build();
 * QuantSpec nf4  = QuantSpec.nf4(true);          // block 64, double-quantized scales
 * QuantSpec mx   = QuantSpec.mxfp4();            // FP4 E2M1, block 32, E8M0 scales
 * }</pre>
 */
@JsonPropertyOrder({"format", "bits", "symmetric", "granularity", "scaleEncoding", "zeroEncoding"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class QuantSpec implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Format format;
    private final int bits;
    private final boolean symmetric;
    private final Granularity granularity;
    private final NumberEncoding scaleEncoding;
    private final NumberEncoding zeroEncoding;

    private QuantSpec(Builder b) {
        this.format = b.format;
        this.bits = b.bits;
        this.symmetric = b.symmetric;
        this.granularity = b.granularity;
        this.scaleEncoding = b.scaleEncoding;
        this.zeroEncoding = b.symmetric ? null : b.zeroEncoding;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Integer grid, e.g. {@code integer(4, false, Granularity.perGroup(128))}. */
    public static QuantSpec integer(int bits, boolean symmetric, Granularity granularity) {
        return builder().format(Format.INT).bits(bits).symmetric(symmetric).granularity(granularity).build();
    }

    /** Ternary b1.58 with the BitNet absmean scale, per tensor. */
    public static QuantSpec ternary() {
        return builder().format(Format.TERNARY).granularity(Granularity.perTensor()).build();
    }

    /** NF4, block 64, FP32 absmax scales, or double-quantized (8-bit, block 256) scales. */
    public static QuantSpec nf4(boolean doubleQuant) {
        return builder().format(Format.NF4).groupSize(64)
                .scaleEncoding(doubleQuant ? NumberEncoding.DQ8 : NumberEncoding.FP32).build();
    }

    /** FP8 E4M3 with one FP32 scale per output channel. */
    public static QuantSpec fp8E4M3() {
        return builder().format(Format.FP8_E4M3).granularity(Granularity.perChannel())
                .scaleEncoding(NumberEncoding.FP32).build();
    }

    /** FP8 E5M2 with one FP32 scale per output channel. */
    public static QuantSpec fp8E5M2() {
        return builder().format(Format.FP8_E5M2).granularity(Granularity.perChannel())
                .scaleEncoding(NumberEncoding.FP32).build();
    }

    /** OCP MXFP4: FP4 E2M1 elements, blocks of 32, E8M0 (power of two) scales. */
    public static QuantSpec mxfp4() {
        return builder().format(Format.FP4_E2M1).groupSize(32).scaleEncoding(NumberEncoding.E8M0).build();
    }

    /** NVFP4: FP4 E2M1 elements, blocks of 16, E4M3 block scales under one FP32 per-tensor scale. */
    public static QuantSpec nvfp4() {
        return builder().format(Format.FP4_E2M1).groupSize(16).scaleEncoding(NumberEncoding.E4M3).build();
    }

    @JsonCreator
    static QuantSpec fromJsonFields(@JsonProperty("format") Format format,
                                    @JsonProperty("bits") Integer bits,
                                    @JsonProperty("symmetric") Boolean symmetric,
                                    @JsonProperty("granularity") Granularity granularity,
                                    @JsonProperty("scaleEncoding") NumberEncoding scaleEncoding,
                                    @JsonProperty("zeroEncoding") NumberEncoding zeroEncoding) {
        Builder b = builder();
        if (format != null) b.format(format);
        if (bits != null) b.bits(bits);
        if (symmetric != null) b.symmetric(symmetric);
        if (granularity != null) b.granularity(granularity);
        if (scaleEncoding != null) b.scaleEncoding(scaleEncoding);
        if (zeroEncoding != null) b.zeroEncoding(zeroEncoding);
        return b.build();
    }

    public static QuantSpec fromJson(String json) {
        try {
            return JSON.readValue(json, QuantSpec.class);
        } catch (JsonProcessingException e) {
            String problem = e.getCause() instanceof QuantizationException q ? q.getMessage() : oneLine(e);
            throw new InvalidSpecException("cannot read quantization spec JSON: " + problem);
        }
    }

    /** Jackson's message without its second {@code at [Source: ...]} line: the problem, then line and column. */
    private static String oneLine(JsonProcessingException e) {
        com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
        return e.getOriginalMessage().replace('\n', ' ')
                + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")");
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    @JsonProperty public Format format() { return format; }
    /** Integer bit width (INT); the code width for the others (2 for ternary storage, 4 for NF4/FP4, 8 for FP8). */
    @JsonProperty public int bits() { return bits; }
    @JsonProperty public boolean symmetric() { return symmetric; }
    @JsonProperty public Granularity granularity() { return granularity; }
    @JsonProperty public NumberEncoding scaleEncoding() { return scaleEncoding; }
    /** How zero points are stored; null when symmetric. */
    @JsonProperty public NumberEncoding zeroEncoding() { return zeroEncoding; }

    /** Bits of one packed code (ternary: 1.6, five codes per byte). */
    public double storageBitsPerCode() {
        return format.storageBitsPerCode(bits);
    }

    /** A short human name: {@code int4-asym-g128}, {@code nf4-dq-g64}, {@code mxfp4}, {@code fp8_e4m3-channel}. */
    public String shortName() {
        String g = switch (granularity.kind()) {
            case TENSOR -> "tensor";
            case CHANNEL -> "channel";
            case GROUP -> "g" + granularity.groupSize();
        };
        return switch (format) {
            case INT -> "int" + bits + (symmetric ? "-sym-" : "-asym-") + g;
            case TERNARY -> "ternary-" + g;
            case NF4 -> (scaleEncoding == NumberEncoding.DQ8 ? "nf4-dq-" : "nf4-") + g;
            case FP4_E2M1 -> scaleEncoding == NumberEncoding.E8M0 ? "mxfp4-" + g
                    : scaleEncoding == NumberEncoding.E4M3 ? "nvfp4-" + g : "fp4-" + g;
            default -> format.name().toLowerCase(java.util.Locale.ROOT) + "-" + g;
        };
    }

    public Builder toBuilder() {
        return builder().format(format).bits(bits).symmetric(symmetric).granularity(granularity)
                .scaleEncoding(scaleEncoding).zeroEncoding(zeroEncoding == null ? NumberEncoding.UINT : zeroEncoding);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantSpec s && s.format == format && s.bits == bits && s.symmetric == symmetric
                && s.granularity.equals(granularity) && s.scaleEncoding == scaleEncoding
                && Objects.equals(s.zeroEncoding, zeroEncoding);
    }

    @Override
    public int hashCode() {
        return Objects.hash(format, bits, symmetric, granularity, scaleEncoding, zeroEncoding);
    }

    @Override
    public String toString() {
        return shortName();
    }

    /** Builder with the defaults of GPTQ/AWQ-style int quantization: int4, symmetric, per channel, FP16 scales. */
    public static final class Builder {
        private Format format = Format.INT;
        private Integer bitsSet;
        private int bits = 4;
        private boolean symmetric = true;
        private Granularity granularity = Granularity.perChannel();
        private NumberEncoding scaleEncoding;
        private NumberEncoding zeroEncoding = NumberEncoding.UINT;

        public Builder format(Format format) {
            this.format = Objects.requireNonNull(format, "format");
            return this;
        }

        public Builder bits(int bits) {
            this.bitsSet = bits;
            return this;
        }

        public Builder symmetric(boolean symmetric) {
            this.symmetric = symmetric;
            return this;
        }

        public Builder asymmetric() {
            return symmetric(false);
        }

        public Builder granularity(Granularity granularity) {
            this.granularity = Objects.requireNonNull(granularity, "granularity");
            return this;
        }

        public Builder groupSize(int groupSize) {
            return granularity(Granularity.perGroup(groupSize));
        }

        public Builder perChannel() {
            return granularity(Granularity.perChannel());
        }

        public Builder perTensor() {
            return granularity(Granularity.perTensor());
        }

        public Builder scaleEncoding(NumberEncoding e) {
            this.scaleEncoding = Objects.requireNonNull(e, "scaleEncoding");
            return this;
        }

        /** UINT (integer zero point of the spec's width, the default), FP16 or FP32 (fractional, as HQQ). */
        public Builder zeroEncoding(NumberEncoding e) {
            this.zeroEncoding = Objects.requireNonNull(e, "zeroEncoding");
            return this;
        }

        public QuantSpec build() {
            int fixedBits = switch (format) {
                case INT -> -1;
                case TERNARY -> 2;
                case NF4, FP4_E2M1 -> 4;
                case FP8_E4M3, FP8_E5M2 -> 8;
            };
            if (format == Format.INT) {
                bits = bitsSet == null ? 4 : bitsSet;
                if (bits < 2 || bits > 8) {
                    throw new InvalidSpecException("integer bits must be 2..8, got " + bits
                            + (bits == 1 ? " (for 1.58-bit use the TERNARY format)" : ""));
                }
            } else {
                if (bitsSet != null && bitsSet != fixedBits) {
                    throw new InvalidSpecException(format + " has " + fixedBits + "-bit codes; bits=" + bitsSet
                            + " is not possible");
                }
                bits = fixedBits;
                if (!symmetric) {
                    throw new InvalidSpecException(format + " is symmetric by definition; an asymmetric "
                            + format + " (zero point) is not possible, use INT for a zero point");
                }
            }
            if (scaleEncoding == null) {
                scaleEncoding = switch (format) {
                    case INT, TERNARY -> NumberEncoding.FP16;
                    default -> NumberEncoding.FP32;
                };
            }
            if (scaleEncoding == NumberEncoding.UINT) {
                throw new InvalidSpecException("scales cannot be stored as UINT; use FP32, FP16, BF16, E8M0, E4M3 or DQ8");
            }
            if (scaleEncoding == NumberEncoding.DQ8 && format != Format.NF4) {
                throw new InvalidSpecException("double-quantized (DQ8) scales are defined for NF4 only, not " + format);
            }
            if (!symmetric && !(zeroEncoding == NumberEncoding.UINT || zeroEncoding == NumberEncoding.FP16
                    || zeroEncoding == NumberEncoding.FP32)) {
                throw new InvalidSpecException("zero points are stored as UINT, FP16 or FP32, not " + zeroEncoding);
            }
            return new QuantSpec(this);
        }
    }
}
