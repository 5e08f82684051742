package org.quant4j.calibration;

import java.util.Arrays;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.util.ConvolutionUtils;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.InvalidTensorException;

/**
 * im2col for a 2-D convolution: turns the layer's input {@code [n, c, h, w]} into one row per output position,
 * so that the convolution is the matrix product {@code rows · Wᵀ} with the weight viewed as
 * {@code [out, c·kh·kw]} — the {@code [out, in, kh, kw]} weight flattened in c order. Row
 * {@code (img·outH + oy)·outW + ox} holds, in column {@code (ch·kh + i)·kw + j}, the input value
 * {@code x[img, ch, oy·sy − padTop + i·dy, ox·sx − padLeft + j·dx]}, or 0 where that falls into the padding.
 * This is the column order in which DL4J's own {@code ConvolutionLayer} multiplies its weights, so the
 * GPTQ Hessian {@code 2/n·XᵀX} of these rows is indexed like the weight's flattened columns.
 * Output size and padding follow DL4J: {@link ConvolutionUtils#getOutputSize} for the layer's
 * {@link ConvolutionMode}, and in {@code Same} mode the top-left padding
 * {@link ConvolutionUtils#getSameModeTopLeftPadding} (the extra row/column of odd padding goes bottom-right).
 * NHWC inputs are permuted to NCHW first.
 */
final class ConvPatches {
    private final String layer;
    private final int channels;
    private final int[] kernel;
    private final int[] stride;
    private final int[] padding;
    private final int[] dilation;
    private final ConvolutionMode mode;
    private final CNN2DFormat format;

    ConvPatches(String layer, ConvolutionLayer conf) {
        this.layer = layer;
        this.channels = Math.toIntExact(conf.getNIn());
        this.kernel = conf.getKernelSize().clone();
        this.stride = conf.getStride().clone();
        this.padding = conf.getPadding().clone();
        this.dilation = conf.getDilation().clone();
        this.mode = conf.getConvolutionMode();
        this.format = conf.getCnn2dDataFormat();
    }

    /** Columns of a patch row: {@code c·kh·kw}. */
    int width() {
        return channels * kernel[0] * kernel[1];
    }

    /** Output positions per image, {@code outH·outW}, for an input of the given spatial size. */
    int positions(INDArray input) {
        int[] out = outputSize(nchw(input));
        return out[0] * out[1];
    }

    /**
     * The patch rows of images {@code [from, to)} of {@code input} ({@code [n, c, h, w]}, or {@code [n, h, w, c]}
     * for an NHWC layer): {@code [(to−from)·outH·outW, c·kh·kw]} float, c order.
     */
    INDArray rows(INDArray input, int from, int to) {
        INDArray x = nchw(input);
        int[] out = outputSize(x);
        int[] pad = mode == ConvolutionMode.Same
                ? ConvolutionUtils.getSameModeTopLeftPadding(out, new int[] {(int) x.size(2), (int) x.size(3)}, kernel,
                        stride, dilation)
                : padding;
        int h = (int) x.size(2);
        int w = (int) x.size(3);
        int images = to - from;
        float[] pixels = x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(from, to)).castTo(DataType.FLOAT)
                .dup('c').data().asFloat();
        int cols = width();
        int perImage = out[0] * out[1];
        float[] patches = new float[Math.multiplyExact(Math.multiplyExact(images, perImage), cols)];
        for (int img = 0; img < images; img++) {
            int imageBase = img * channels * h * w;
            for (int oy = 0; oy < out[0]; oy++) {
                for (int ox = 0; ox < out[1]; ox++) {
                    int row = (img * perImage + oy * out[1] + ox) * cols;
                    copyPatch(pixels, imageBase, h, w, oy * stride[0] - pad[0], ox * stride[1] - pad[1], patches, row);
                }
            }
        }
        return Nd4j.create(patches, new long[] {(long) images * perImage, cols}, 'c');
    }

    /** Copies the receptive field whose top-left input position is {@code (y0, x0)}; outside the image is 0. */
    private void copyPatch(float[] pixels, int imageBase, int h, int w, int y0, int x0, float[] patches, int at) {
        int k = at;
        for (int ch = 0; ch < channels; ch++) {
            int plane = imageBase + ch * h * w;
            for (int i = 0; i < kernel[0]; i++) {
                int y = y0 + i * dilation[0];
                boolean rowInside = y >= 0 && y < h;
                for (int j = 0; j < kernel[1]; j++, k++) {
                    int xx = x0 + j * dilation[1];
                    patches[k] = rowInside && xx >= 0 && xx < w ? pixels[plane + y * w + xx] : 0f;
                }
            }
        }
    }

    private INDArray nchw(INDArray input) {
        if (input.rank() != 4) {
            throw new InvalidTensorException("layer '" + layer + "': a convolution input must be [batch, channels, "
                    + "height, width], got shape " + Arrays.toString(input.shape()));
        }
        INDArray x = format == CNN2DFormat.NHWC ? input.permute(0, 3, 1, 2) : input;
        if (x.size(1) != channels) {
            throw new InvalidTensorException("layer '" + layer + "': the convolution expects " + channels
                    + " input channels but its input has " + x.size(1) + " (shape " + Arrays.toString(input.shape())
                    + ", " + format + ")");
        }
        return x;
    }

    private int[] outputSize(INDArray x) {
        return ConvolutionUtils.getOutputSize(x, kernel, stride, mode == ConvolutionMode.Same ? null : padding, mode,
                dilation, CNN2DFormat.NCHW);
    }
}
