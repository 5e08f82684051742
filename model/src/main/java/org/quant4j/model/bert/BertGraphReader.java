package org.quant4j.model.bert;

import java.util.Arrays;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import onnx.Onnx;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Maps the initializers of a BERT encoder exported to ONNX (PyTorch {@code BertModel}, opset 11
 * style: LayerNorm, GELU and attention spelled out in primitive ops) to named BERT weights by walking
 * the graph, not by trusting names: exports call the MatMul weights {@code onnx::MatMul_787} and the
 * like, so each weight is identified by where its MatMul sits.
 *
 * <p>The walk, per encoder layer with input {@code x}: the three MatMuls with an initializer weight
 * reading {@code x} are the projections; each one's output is followed through Reshape/Transpose to
 * the attention MatMul it feeds. The projection reaching the second operand of the MatMul whose first
 * operand is a Softmax is the value, the one reaching the first operand of the scores MatMul the query,
 * the second the key. The scores go Div(√d) → Add(mask bias) → Softmax; the context goes through
 * Transpose/Reshape to the attention output MatMul, then bias, residual Add with {@code x}, LayerNorm;
 * then the FFN MatMul, bias, GELU ({@code x·½·(1 + erf(x/√2))}), MatMul, bias, residual Add, LayerNorm,
 * whose output is the next layer's input. The walk ends at the graph output. Dimensions, heads, the
 * score divisor, the mask value, the GELU divisor and every LayerNorm epsilon are read from the graph.
 * Any deviation throws {@link UnsupportedModelException} naming the tensor where the walk stopped.
 */
final class BertGraphReader {
    /** Every op type the encoder graph may use; others are rejected up front, by name. */
    static final Set<String> SUPPORTED_OPS = Set.of("Add", "Cast", "Concat", "Constant", "Div", "Erf", "Gather",
            "MatMul", "Mul", "Pow", "ReduceMean", "Reshape", "Shape", "Slice", "Softmax", "Sqrt", "Sub",
            "Transpose", "Unsqueeze");

    static final String INPUT_IDS = "input_ids";
    static final String ATTENTION_MASK = "attention_mask";
    static final String TOKEN_TYPE_IDS = "token_type_ids";

    /** [batch, seq, heads, d] -> [batch, heads, seq, d] (query, value, and back for the context). */
    private static final List<Long> HEADS_PERM = List.of(0L, 2L, 1L, 3L);
    /** [batch, seq, heads, d] -> [batch, heads, d, seq]: the key enters the scores transposed. */
    private static final List<Long> KEY_PERM = List.of(0L, 2L, 3L, 1L);

    private final OnnxGraph g;
    /** PyTorch parameter name -> the initializer it was read from, in model order. */
    private final Map<String, String> initializers = new LinkedHashMap<>();
    private int hidden;
    private int heads = -1;
    private int headDim = -1;
    private int intermediate = -1;
    private float attentionDivisor = Float.NaN;
    private float maskValue = Float.NaN;
    private float geluDivisor = Float.NaN;

    private BertGraphReader(OnnxGraph g) {
        this.g = g;
    }

    /** Reads the encoder's weights and configuration from {@code graph}. */
    static BertWeights read(OnnxGraph graph) {
        graph.requireOps(SUPPORTED_OPS);
        return new BertGraphReader(graph).walk();
    }

    private BertWeights walk() {
        List<String> inputs = g.inputNames();
        for (String name : List.of(INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS)) {
            if (!inputs.contains(name)) {
                throw fail("the graph has no input '" + name + "' (inputs: " + inputs + ")");
            }
        }
        Onnx.NodeProto wordGather = embeddingGather(INPUT_IDS);
        Onnx.NodeProto typeGather = embeddingGather(TOKEN_TYPE_IDS);
        long[] wordDims = g.dims(wordGather.getInput(0));
        hidden = (int) wordDims[1];
        INDArray word = matrix(wordGather.getInput(0), wordDims);
        INDArray type = matrix(typeGather.getInput(0), requireDims(typeGather.getInput(0), -1, hidden));
        bind("embeddings.word_embeddings.weight", wordGather.getInput(0));

        // word + type + position, in any order of the two Adds.
        String sum = wordGather.getOutput(0);
        Onnx.NodeProto positionGather = null;
        boolean sawType = false;
        for (int added = 0; added < 2; added++) {
            Onnx.NodeProto add = single(sum, "Add", "the embedding sum");
            Onnx.NodeProto gather = g.producer(other(add, sum));
            if (gather == typeGather) {
                sawType = true;
            } else if (gather != null && gather.getOpType().equals("Gather") && g.isInitializer(gather.getInput(0))) {
                positionGather = gather;
            } else {
                throw fail("the embedding sum adds '" + other(add, sum) + "', which is not an embedding lookup");
            }
            sum = add.getOutput(0);
        }
        if (!sawType || positionGather == null) {
            throw fail("the embedding sum does not add the word, token-type and position embeddings");
        }
        requirePositionIds(positionGather.getInput(1));
        INDArray position = matrix(positionGather.getInput(0), requireDims(positionGather.getInput(0), -1, hidden));
        bind("embeddings.position_embeddings.weight", positionGather.getInput(0));
        bind("embeddings.token_type_embeddings.weight", typeGather.getInput(0));
        Norm embeddingNorm = layerNorm(sum, "embeddings.LayerNorm");

        List<BertLayer> layers = new ArrayList<>();
        String x = embeddingNorm.output;
        List<String> outputs = g.outputNames();
        while (!outputs.contains(x)) {
            if (g.consumers(x).isEmpty()) {
                throw fail("tensor '" + x + "' (output of layer " + (layers.size() - 1)
                        + ") is read by no node and is not a graph output " + outputs);
            }
            LayerRead layer = readLayer(layers.size(), x);
            layers.add(layer.layer);
            x = layer.output;
        }
        if (layers.isEmpty()) {
            throw fail("the embedding LayerNorm is the graph output: there is no encoder layer");
        }
        BertConfig config = new BertConfig((int) wordDims[0], hidden, layers.size(), heads, headDim, intermediate,
                (int) position.rows(), (int) type.rows(), attentionDivisor, maskValue, geluDivisor);
        return new BertWeights(config, word, position, type, embeddingNorm.norm, layers, initializers);
    }

    private Onnx.NodeProto embeddingGather(String input) {
        for (Onnx.NodeProto n : g.consumers(input)) {
            if (n.getOpType().equals("Gather") && n.getInputCount() == 2 && n.getInput(1).equals(input)
                    && g.isInitializer(n.getInput(0)) && g.dims(n.getInput(0)).length == 2) {
                return n;
            }
        }
        throw fail("no Gather reads an embedding matrix (initializer) with indices '" + input + "'");
    }

    /**
     * The position indices must be 0, 1, 2, ... : a Slice from 0 of an arange table, which exports store as an
     * initializer ({@code embeddings.position_ids}) or as a {@code Constant} node.
     */
    private void requirePositionIds(String indices) {
        Onnx.NodeProto slice = g.producer(indices);
        if (slice == null || !slice.getOpType().equals("Slice") || !g.isConstant(slice.getInput(0))
                || !g.isConstant(slice.getInput(1))) {
            throw fail("the position lookup's indices '" + indices + "' are not a Slice of a position-id table");
        }
        long[] ids = g.longs(slice.getInput(0));
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] != i) {
                throw fail("position-id table '" + slice.getInput(0) + "' is not 0, 1, 2, ... (entry " + i
                        + " is " + ids[i] + ")");
            }
        }
        long[] starts = g.longs(slice.getInput(1));
        if (starts.length != 1 || starts[0] != 0) {
            throw fail("the position ids are sliced from " + Arrays.toString(starts) + ", not from 0");
        }
        if (slice.getInputCount() > 4 && !slice.getInput(4).isEmpty()) {
            long[] steps = g.longs(slice.getInput(4));
            if (steps.length != 1 || steps[0] != 1) {
                throw fail("the position ids are sliced with step " + Arrays.toString(steps));
            }
        }
    }

    private LayerRead readLayer(int index, String x) {
        List<Onnx.NodeProto> projections = new ArrayList<>();
        for (Onnx.NodeProto n : g.consumers(x)) {
            if (isWeightMatMul(n, x)) {
                projections.add(n);
            }
        }
        if (projections.size() != 3) {
            throw fail("layer " + index + ": expected 3 projections (MatMul with an initializer weight) of '" + x
                    + "', found " + projections.size());
        }
        Map<LinearRole, Linear> linears = new EnumMap<>(LinearRole.class);
        Onnx.NodeProto scores = null;
        Onnx.NodeProto context = null;
        for (Onnx.NodeProto projection : projections) {
            Onnx.NodeProto biasAdd = biasAdd(projection);
            Path path = followToAttentionMatMul(index, biasAdd.getOutput(0));
            LinearRole role;
            if (isSoftmaxOutput(path.matMul.getInput(0))) {
                if (path.operand != 1) {
                    throw fail("layer " + index + ": projection '" + projection.getName()
                            + "' reaches the first operand of the context MatMul");
                }
                role = LinearRole.VALUE;
                context = path.matMul;
            } else {
                role = path.operand == 0 ? LinearRole.QUERY : LinearRole.KEY;
                if (scores != null && scores != path.matMul) {
                    throw fail("layer " + index + ": query and key feed different MatMuls");
                }
                scores = path.matMul;
            }
            List<Long> expected = role == LinearRole.KEY ? KEY_PERM : HEADS_PERM;
            if (!path.perm.equals(expected)) {
                throw fail("layer " + index + ": the " + role + " heads are transposed by " + path.perm
                        + ", expected " + expected);
            }
            if (linears.containsKey(role)) {
                throw fail("layer " + index + ": two projections play the " + role + " role");
            }
            linears.put(role, linear(index, role, projection, biasAdd, hidden, hidden));
        }
        if (scores == null || context == null || linears.size() != 3) {
            throw fail("layer " + index + ": the projections are not query, key and value " + linears.keySet());
        }
        readScores(index, scores, context);

        Onnx.NodeProto attentionOut = findWeightMatMulAfterReshape(index, context.getOutput(0));
        Onnx.NodeProto attentionBias = biasAdd(attentionOut);
        linears.put(LinearRole.ATTENTION_OUTPUT,
                linear(index, LinearRole.ATTENTION_OUTPUT, attentionOut, attentionBias, hidden, hidden));
        String attentionResidual = residual(index, attentionBias.getOutput(0), x);
        String prefix = "encoder.layer." + index + ".";
        Norm attentionNorm = layerNorm(attentionResidual, prefix + "attention.output.LayerNorm");

        String x1 = attentionNorm.output;
        Onnx.NodeProto ffnIn = null;
        for (Onnx.NodeProto n : g.consumers(x1)) {
            if (isWeightMatMul(n, x1)) {
                if (ffnIn != null) {
                    throw fail("layer " + index + ": two MatMuls read the attention output '" + x1 + "'");
                }
                ffnIn = n;
            }
        }
        if (ffnIn == null) {
            throw fail("layer " + index + ": no feed-forward MatMul reads '" + x1 + "'");
        }
        long[] ffnInDims = g.dims(ffnIn.getInput(1));
        if (intermediate < 0) {
            intermediate = (int) ffnInDims[1];
        }
        Onnx.NodeProto ffnInBias = biasAdd(ffnIn);
        linears.put(LinearRole.FFN_IN, linear(index, LinearRole.FFN_IN, ffnIn, ffnInBias, intermediate, hidden));
        String activated = gelu(index, ffnInBias.getOutput(0));
        Onnx.NodeProto ffnOut = single(activated, "MatMul", "layer " + index + " feed-forward output");
        if (!isWeightMatMul(ffnOut, activated)) {
            throw fail("layer " + index + ": MatMul '" + ffnOut.getName() + "' after GELU has no initializer weight");
        }
        Onnx.NodeProto ffnOutBias = biasAdd(ffnOut);
        linears.put(LinearRole.FFN_OUT, linear(index, LinearRole.FFN_OUT, ffnOut, ffnOutBias, hidden, intermediate));
        String outputResidual = residual(index, ffnOutBias.getOutput(0), x1);
        Norm outputNorm = layerNorm(outputResidual, prefix + "output.LayerNorm");

        BertLayer layer = new BertLayer(index, linears.get(LinearRole.QUERY), linears.get(LinearRole.KEY),
                linears.get(LinearRole.VALUE), linears.get(LinearRole.ATTENTION_OUTPUT), attentionNorm.norm,
                linears.get(LinearRole.FFN_IN), linears.get(LinearRole.FFN_OUT), outputNorm.norm);
        return new LayerRead(layer, outputNorm.output);
    }

    /** Scores: MatMul → Div(constant) → Add(mask bias) → Softmax(last axis) → the context MatMul. */
    private void readScores(int index, Onnx.NodeProto scores, Onnx.NodeProto context) {
        String where = "layer " + index + " attention scores";
        Onnx.NodeProto div = single(scores.getOutput(0), "Div", where);
        float divisor = g.scalar(constantOperand(div, where));
        Onnx.NodeProto maskAdd = single(div.getOutput(0), "Add", where);
        float mask = maskBias(other(maskAdd, div.getOutput(0)));
        Onnx.NodeProto softmax = single(maskAdd.getOutput(0), "Softmax", where);
        long axis = intAttribute(softmax, "axis", -1);
        if (axis != 3 && axis != -1) {
            throw fail(where + ": Softmax '" + softmax.getName() + "' is over axis " + axis + ", not the key axis");
        }
        if (!context.getInput(0).equals(softmax.getOutput(0))) {
            throw fail(where + ": the value MatMul does not read this layer's Softmax");
        }
        attentionDivisor = agree(attentionDivisor, divisor, "attention score divisor", index);
        maskValue = agree(maskValue, mask, "attention mask value", index);
    }

    /** The mask bias must be {@code (1 − mask) · c} computed from the attention_mask input; returns c. */
    private float maskBias(String tensor) {
        Onnx.NodeProto mul = g.producer(tensor);
        if (mul == null || !mul.getOpType().equals("Mul")) {
            throw fail("the attention mask bias '" + tensor + "' is not a Mul by a constant");
        }
        float c = g.scalar(constantOperand(mul, "attention mask bias"));
        Onnx.NodeProto sub = g.producer(variableOperand(mul, "attention mask bias"));
        if (sub == null || !sub.getOpType().equals("Sub") || !g.isConstant(sub.getInput(0))
                || g.scalar(sub.getInput(0)) != 1f) {
            throw fail("the attention mask bias is not computed as (1 - mask) * c");
        }
        String t = sub.getInput(1);
        for (int hops = 0; hops < 8 && !t.equals(ATTENTION_MASK); hops++) {
            Onnx.NodeProto p = g.producer(t);
            if (p == null || !(p.getOpType().equals("Cast") || p.getOpType().equals("Unsqueeze"))) {
                throw fail("the attention mask bias is not derived from the input '" + ATTENTION_MASK + "'");
            }
            t = p.getInput(0);
        }
        if (!t.equals(ATTENTION_MASK)) {
            throw fail("the attention mask bias is not derived from the input '" + ATTENTION_MASK + "'");
        }
        return c;
    }

    /** GELU as {@code x · ½ · (1 + erf(x / c))} with c the graph's constant (√2); returns its output. */
    private String gelu(int index, String x) {
        String where = "layer " + index + " GELU";
        Onnx.NodeProto div = single(x, "Div", where);
        float divisor = g.scalar(constantOperand(div, where));
        Onnx.NodeProto erf = single(div.getOutput(0), "Erf", where);
        Onnx.NodeProto plusOne = single(erf.getOutput(0), "Add", where);
        if (g.scalar(constantOperand(plusOne, where)) != 1f) {
            throw fail(where + ": Add '" + plusOne.getName() + "' after Erf does not add 1");
        }
        Onnx.NodeProto times = single(plusOne.getOutput(0), "Mul", where);
        if (!other(times, plusOne.getOutput(0)).equals(x)) {
            throw fail(where + ": Mul '" + times.getName() + "' does not multiply by the GELU input");
        }
        Onnx.NodeProto half = single(times.getOutput(0), "Mul", where);
        if (g.scalar(constantOperand(half, where)) != 0.5f) {
            throw fail(where + ": Mul '" + half.getName() + "' does not multiply by 0.5");
        }
        geluDivisor = agree(geluDivisor, divisor, "GELU divisor", index);
        if (Math.abs(divisor - Math.sqrt(2)) > 1e-6) {
            throw fail(where + ": divides by " + divisor + ", not √2 (not the exact erf GELU)");
        }
        return half.getOutput(0);
    }

    /** LayerNorm spelled out: ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta. */
    private Norm layerNorm(String in, String name) {
        String where = name + " (LayerNorm of '" + in + "')";
        Onnx.NodeProto mean = single(in, "ReduceMean", where);
        requireLastAxis(mean, where);
        Onnx.NodeProto sub = single(in, "Sub", where);
        if (!sub.getInput(0).equals(in) || !sub.getInput(1).equals(mean.getOutput(0))) {
            throw fail(where + ": Sub '" + sub.getName() + "' is not x - mean(x)");
        }
        Onnx.NodeProto pow = single(sub.getOutput(0), "Pow", where);
        if (g.scalar(pow.getInput(1)) != 2f) {
            throw fail(where + ": Pow '" + pow.getName() + "' is not a square");
        }
        Onnx.NodeProto variance = single(pow.getOutput(0), "ReduceMean", where);
        requireLastAxis(variance, where);
        Onnx.NodeProto plusEps = single(variance.getOutput(0), "Add", where);
        float eps = g.scalar(constantOperand(plusEps, where));
        Onnx.NodeProto sqrt = single(plusEps.getOutput(0), "Sqrt", where);
        Onnx.NodeProto div = single(sub.getOutput(0), "Div", where);
        if (!div.getInput(0).equals(sub.getOutput(0)) || !div.getInput(1).equals(sqrt.getOutput(0))) {
            throw fail(where + ": Div '" + div.getName() + "' is not (x - mean) / sqrt(var + eps)");
        }
        Onnx.NodeProto scale = single(div.getOutput(0), "Mul", where);
        String gamma = initializerOperand(scale, where);
        Onnx.NodeProto shift = single(scale.getOutput(0), "Add", where);
        String beta = initializerOperand(shift, where);
        bind(name + ".weight", gamma);
        bind(name + ".bias", beta);
        LayerNorm norm = new LayerNorm(name, row(gamma, hidden), row(beta, hidden), eps);
        return new Norm(norm, shift.getOutput(0));
    }

    private void requireLastAxis(Onnx.NodeProto reduce, String where) {
        for (Onnx.AttributeProto a : reduce.getAttributeList()) {
            if (a.getName().equals("axes")) {
                if (a.getIntsCount() == 1 && (a.getInts(0) == -1 || a.getInts(0) == 2)) {
                    return;
                }
                throw fail(where + ": ReduceMean '" + reduce.getName() + "' reduces axes " + a.getIntsList());
            }
        }
        throw fail(where + ": ReduceMean '" + reduce.getName() + "' has no axes attribute (reduces every axis)");
    }

    /** Follows a projection's output through Reshape/Transpose to the attention MatMul it feeds. */
    private Path followToAttentionMatMul(int index, String tensor) {
        String t = tensor;
        List<Long> perm = List.of();
        for (int hops = 0; hops < 4; hops++) {
            List<Onnx.NodeProto> readers = dataReaders(t);
            if (readers.size() != 1) {
                throw fail("layer " + index + ": projection output '" + t + "' feeds " + readers.size()
                        + " nodes, expected one Reshape/Transpose/MatMul");
            }
            Onnx.NodeProto n = readers.get(0);
            switch (n.getOpType()) {
                case "Reshape" -> {
                    readHeads(index, n);
                    t = n.getOutput(0);
                }
                case "Transpose" -> {
                    perm = ints(n, "perm");
                    t = n.getOutput(0);
                }
                case "MatMul" -> {
                    if (g.isInitializer(n.getInput(1))) {
                        throw fail("layer " + index + ": projection output '" + t + "' feeds another dense layer");
                    }
                    return new Path(n, n.getInput(0).equals(t) ? 0 : 1, perm);
                }
                default -> throw fail("layer " + index + ": projection output '" + t + "' feeds a "
                        + n.getOpType() + " ('" + n.getName() + "'), expected Reshape/Transpose/MatMul");
            }
        }
        throw fail("layer " + index + ": projection output '" + tensor + "' reaches no attention MatMul");
    }

    /** From the context MatMul through Transpose/Reshape to the attention output dense MatMul. */
    private Onnx.NodeProto findWeightMatMulAfterReshape(int index, String tensor) {
        String t = tensor;
        for (int hops = 0; hops < 3; hops++) {
            List<Onnx.NodeProto> readers = dataReaders(t);
            if (readers.size() != 1) {
                break;
            }
            Onnx.NodeProto n = readers.get(0);
            if (n.getOpType().equals("Transpose") && !ints(n, "perm").equals(HEADS_PERM)) {
                throw fail("layer " + index + ": the attention context is transposed by " + ints(n, "perm"));
            }
            if (n.getOpType().equals("Transpose") || n.getOpType().equals("Reshape")) {
                t = n.getOutput(0);
            } else if (isWeightMatMul(n, t)) {
                return n;
            } else {
                break;
            }
        }
        throw fail("layer " + index + ": the attention context '" + tensor
                + "' does not reach the attention output MatMul through Transpose/Reshape");
    }

    /** Readers of {@code t} other than Shape (the export reads shapes off every intermediate tensor). */
    private List<Onnx.NodeProto> dataReaders(String t) {
        List<Onnx.NodeProto> readers = new ArrayList<>();
        for (Onnx.NodeProto n : g.consumers(t)) {
            if (!n.getOpType().equals("Shape")) {
                readers.add(n);
            }
        }
        return readers;
    }

    /** Heads and head width from a Reshape to [batch, seq, heads, headDim] (the last two are constants). */
    private void readHeads(int index, Onnx.NodeProto reshape) {
        Onnx.NodeProto concat = g.producer(reshape.getInput(1));
        if (concat == null || !concat.getOpType().equals("Concat") || concat.getInputCount() != 4
                || !g.isConstant(concat.getInput(2)) || !g.isConstant(concat.getInput(3))) {
            throw fail("layer " + index + ": Reshape '" + reshape.getName()
                    + "' does not split the hidden state into [batch, seq, heads, headDim]");
        }
        int h = (int) g.longs(concat.getInput(2))[0];
        int d = (int) g.longs(concat.getInput(3))[0];
        if (h * d != hidden) {
            throw fail("layer " + index + ": " + h + " heads of width " + d + " do not make the hidden size " + hidden);
        }
        if (heads >= 0 && (heads != h || headDim != d)) {
            throw fail("layer " + index + ": " + h + "x" + d + " heads, earlier " + heads + "x" + headDim);
        }
        heads = h;
        headDim = d;
    }

    private boolean isSoftmaxOutput(String tensor) {
        Onnx.NodeProto p = g.producer(tensor);
        return p != null && p.getOpType().equals("Softmax");
    }

    private boolean isWeightMatMul(Onnx.NodeProto n, String input) {
        return n.getOpType().equals("MatMul") && n.getInputCount() == 2 && n.getInput(0).equals(input)
                && g.isInitializer(n.getInput(1)) && g.dims(n.getInput(1)).length == 2;
    }

    /** The Add right after a weight MatMul, adding an initializer bias (either operand order). */
    private Onnx.NodeProto biasAdd(Onnx.NodeProto matMul) {
        String where = "bias of MatMul '" + matMul.getName() + "'";
        Onnx.NodeProto add = single(matMul.getOutput(0), "Add", where);
        initializerOperand(add, where);
        return add;
    }

    /** The residual Add of {@code out} and {@code skip}; returns its output. */
    private String residual(int index, String out, String skip) {
        Onnx.NodeProto add = single(out, "Add", "layer " + index + " residual");
        if (!other(add, out).equals(skip)) {
            throw fail("layer " + index + ": Add '" + add.getName() + "' adds '" + other(add, out)
                    + "', not the residual '" + skip + "'");
        }
        return add.getOutput(0);
    }

    private Linear linear(int index, LinearRole role, Onnx.NodeProto matMul, Onnx.NodeProto biasAdd,
                          int out, int in) {
        String w = matMul.getInput(1);
        long[] dims = requireDims(w, in, out);
        String name = LinearTarget.moduleName(index, role);
        // ONNX MatMul computes x · B with B = [in, out]; the target layout is W = Bᵀ = [out, in].
        INDArray weight = matrix(w, dims).transpose().dup('c');
        String b = initializerOperand(biasAdd, name + " bias");
        INDArray bias = row(b, out);
        bind(name + ".weight", w);
        bind(name + ".bias", b);
        return new Linear(new LinearTarget(name, index, role, out, in), weight, bias);
    }

    /** Records the initializer a parameter was read from. */
    private void bind(String parameter, String initializer) {
        initializers.put(parameter, initializer);
    }

    private long[] requireDims(String tensor, long rows, long cols) {
        long[] dims = g.dims(tensor);
        if (dims.length != 2 || (rows >= 0 && dims[0] != rows) || dims[1] != cols) {
            throw fail("initializer '" + tensor + "' has shape " + Arrays.toString(dims) + ", expected ["
                    + (rows >= 0 ? rows : "n") + ", " + cols + "]");
        }
        return dims;
    }

    private INDArray matrix(String tensor, long[] dims) {
        return Nd4j.create(g.floats(tensor), new long[]{dims[0], dims[1]}, 'c');
    }

    private INDArray row(String tensor, int width) {
        float[] v = g.floats(tensor);
        if (v.length != width) {
            throw fail("initializer '" + tensor + "' has " + v.length + " values, expected " + width);
        }
        return Nd4j.create(v, new long[]{1, width}, 'c');
    }

    private Onnx.NodeProto single(String tensor, String op, String where) {
        Onnx.NodeProto found = null;
        int count = 0;
        List<String> seen = new ArrayList<>();
        for (Onnx.NodeProto n : g.consumers(tensor)) {
            seen.add(n.getOpType() + " '" + n.getName() + "'");
            if (n.getOpType().equals(op)) {
                found = n;
                count++;
            }
        }
        if (count != 1) {
            throw fail(where + ": expected one " + op + " reading '" + tensor + "', found " + count
                    + " (readers: " + seen + ")");
        }
        return found;
    }

    private String other(Onnx.NodeProto binary, String known) {
        if (binary.getInputCount() != 2) {
            throw fail(binary.getOpType() + " '" + binary.getName() + "' has " + binary.getInputCount() + " inputs");
        }
        if (binary.getInput(0).equals(known)) {
            return binary.getInput(1);
        }
        if (binary.getInput(1).equals(known)) {
            return binary.getInput(0);
        }
        throw fail(binary.getOpType() + " '" + binary.getName() + "' does not read '" + known + "'");
    }

    private String constantOperand(Onnx.NodeProto binary, String where) {
        for (String in : binary.getInputList()) {
            if (g.isConstant(in)) {
                return in;
            }
        }
        throw fail(where + ": " + binary.getOpType() + " '" + binary.getName() + "' has no constant operand");
    }

    private String variableOperand(Onnx.NodeProto binary, String where) {
        for (String in : binary.getInputList()) {
            if (!g.isConstant(in)) {
                return in;
            }
        }
        throw fail(where + ": " + binary.getOpType() + " '" + binary.getName() + "' has only constant operands");
    }

    private String initializerOperand(Onnx.NodeProto binary, String where) {
        for (String in : binary.getInputList()) {
            if (g.isInitializer(in)) {
                return in;
            }
        }
        throw fail(where + ": " + binary.getOpType() + " '" + binary.getName() + "' has no initializer operand");
    }

    private static long intAttribute(Onnx.NodeProto n, String name, long fallback) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return fallback;
    }

    private float agree(float previous, float value, String what, int index) {
        if (!Float.isNaN(previous) && previous != value) {
            throw fail("layer " + index + ": " + what + " " + value + " differs from the earlier layers' " + previous);
        }
        return value;
    }

    private UnsupportedModelException fail(String what) {
        return new UnsupportedModelException(g.source() + ": not the BERT encoder graph quant4j reads: " + what);
    }

    private static List<Long> ints(Onnx.NodeProto n, String name) {
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getIntsList();
            }
        }
        return List.of();
    }

    /** The attention MatMul a projection reaches, which operand, and the last Transpose perm on the way. */
    private record Path(Onnx.NodeProto matMul, int operand, List<Long> perm) {
    }

    private record Norm(LayerNorm norm, String output) {
    }

    private record LayerRead(BertLayer layer, String output) {
    }
}
