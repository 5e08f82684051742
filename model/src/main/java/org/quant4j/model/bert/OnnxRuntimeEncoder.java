package org.quant4j.model.bert;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.QuantizationException;

/**
 * Runs a BERT encoder ONNX file (inputs {@code input_ids}, {@code attention_mask},
 * {@code token_type_ids}, int64 [batch, seq]; output {@code last_hidden_state} [batch, seq, hidden])
 * with ONNX Runtime for Java: the reference {@link BertEncoder} is checked against, and the runner of
 * ONNX Runtime's own int8 model. ONNX Runtime is an optional dependency of this module: callers put
 * {@code com.microsoft.onnxruntime:onnxruntime} on their classpath.
 */
public final class OnnxRuntimeEncoder implements AutoCloseable {
    private final String source;
    private final OrtEnvironment env;
    private final OrtSession session;

    private OnnxRuntimeEncoder(String source, OrtEnvironment env, OrtSession session) {
        this.source = source;
        this.env = env;
        this.session = session;
    }

    /**
     * Opens a session on a serialized ONNX model.
     *
     * @param threads intra-op threads (e.g. the number of cores)
     */
    public static OnnxRuntimeEncoder open(byte[] onnx, String source, int threads) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            return new OnnxRuntimeEncoder(source, env, env.createSession(onnx, options));
        } catch (OrtException e) {
            throw new QuantizationException(source + ": ONNX Runtime cannot load the model: " + e.getMessage(), e);
        }
    }

    /** {@code last_hidden_state [batch, seq, hidden]} as ONNX Runtime computes it. */
    public INDArray lastHiddenState(TokenBatch batch) {
        long[] shape = {batch.batchSize(), batch.sequenceLength()};
        try (OnnxTensor ids = OnnxTensor.createTensor(env, longs(batch.inputIds()), shape);
             OnnxTensor mask = OnnxTensor.createTensor(env, longs(batch.attentionMask()), shape);
             OnnxTensor types = OnnxTensor.createTensor(env, longs(batch.tokenTypeIds()), shape);
             OrtSession.Result result = session.run(Map.of(BertGraphReader.INPUT_IDS, ids,
                     BertGraphReader.ATTENTION_MASK, mask, BertGraphReader.TOKEN_TYPE_IDS, types))) {
            OnnxTensor out = (OnnxTensor) result.get(0);
            long[] outShape = out.getInfo().getShape();
            FloatBuffer values = out.getFloatBuffer();
            float[] copy = new float[values.remaining()];
            values.get(copy);
            return Nd4j.create(copy, outShape, 'c');
        } catch (OrtException e) {
            throw new QuantizationException(source + ": ONNX Runtime failed on " + batch + ": " + e.getMessage(), e);
        }
    }

    /** Mean-pooled, L2-normalised sentence embeddings {@code [batch, hidden]}. */
    public INDArray embed(TokenBatch batch) {
        return embed(batch, Pooling.MEAN);
    }

    /** Sentence embeddings {@code [batch, hidden]} of ONNX Runtime's hidden states pooled as told. */
    public INDArray embed(TokenBatch batch, Pooling pooling) {
        return SentencePooling.pool(lastHiddenState(batch), batch, pooling);
    }

    private static LongBuffer longs(int[] values) {
        long[] l = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            l[i] = values[i];
        }
        return LongBuffer.wrap(l);
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new QuantizationException(source + ": ONNX Runtime failed to close the session: " + e.getMessage(), e);
        }
    }
}
