package org.quant4j.qat.samediff;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Rint;
import org.nd4j.linalg.factory.Nd4j;
import org.quant4j.core.NumberEncoding;
import org.quant4j.core.NumberEncodings;

class SameDiffOpsProbeTest {
    static INDArray X = Nd4j.create(new double[] {-2.5, -1.5, -1.0, -0.7, -0.5, 0.2, 0.5, 1.0, 1.5, 3.7}, new long[] {2, 5});
    static INDArray C = Nd4j.create(new double[] {0.3, -1.1, 0.7, 2.0, -0.4, 1.3, 0.9, -0.6, 0.25, 1.7}, new long[] {2, 5});

    static Map<String, INDArray> grads(BiFunction<SameDiff, SDVariable, SDVariable> f, INDArray x) {
        SameDiff sd = SameDiff.create();
        SDVariable xv = sd.var("x", x.dup());
        SDVariable c = sd.constant("c", C.castTo(x.dataType()));
        SDVariable loss = f.apply(sd, xv).mul(c).sum();
        sd.setLossVariables(loss);
        Map<String, INDArray> g = sd.calculateGradients(Map.of(), "x");
        INDArray out = sd.output(Map.of(), f.apply(sd, xv).name()).values().iterator().next();
        return Map.of("grad", g.get("x"), "out", out);
    }

    @Test
    void scalarBroadcast() {
        for (INDArray s0 : new INDArray[] {Nd4j.scalar(DataType.DOUBLE, 0.7), Nd4j.create(new double[] {0.7}, new long[] {1, 1}), Nd4j.create(new double[] {0.7}, new long[] {1})}) {
            SameDiff sd = SameDiff.create();
            SDVariable x = sd.var("x", X.dup());
            SDVariable s = sd.var("s", s0);
            SDVariable l1 = x.div(s).mul(sd.constant(C)).sum();
            sd.setLossVariables(l1);
            System.out.println("rank " + s0.rank() + " div grad s " + sd.calculateGradients(Map.of(), "s").get("s") + " expected " + (-X.mul(C).sumNumber().doubleValue() / 0.49));
            SameDiff sd4 = SameDiff.create();
            SDVariable x4 = sd4.var("x", X.dup());
            SDVariable s4 = sd4.var("s", s0.dup());
            sd4.setLossVariables(x4.mul(sd4.math().reciprocal(s4)).mul(sd4.constant(C)).sum());
            System.out.println("rank " + s0.rank() + " mul-reciprocal grad s " + sd4.calculateGradients(Map.of(), "s").get("s") + " expected " + (-X.mul(C).sumNumber().doubleValue() / 0.49));
            SameDiff sd2 = SameDiff.create();
            SDVariable x2 = sd2.var("x", X.dup());
            SDVariable s2 = sd2.var("s", s0.dup());
            sd2.setLossVariables(x2.sub(s2).mul(sd2.constant(C)).sum());
            System.out.println("rank " + s0.rank() + " sub grad s " + sd2.calculateGradients(Map.of(), "s").get("s") + " expected " + (-C.sumNumber().doubleValue()));
            SameDiff sd3 = SameDiff.create();
            SDVariable x3 = sd3.var("x", X.dup());
            SDVariable s3 = sd3.var("s", s0.dup());
            sd3.setLossVariables(x3.mul(s3).mul(sd3.constant(C)).sum());
            System.out.println("rank " + s0.rank() + " mul grad s " + sd3.calculateGradients(Map.of(), "s").get("s") + " expected " + (X.mul(C).sumNumber().doubleValue()));
        }
    }

    @Test
    void probe() {
        // stop gradient
        var r = grads((sd, x) -> x.mul(x).add(new StopGradient(sd, x).outputVariable().mul(3)), X);
        System.out.println("sg grad " + r.get("grad") + " expected " + X.mul(2).mul(C));
        r = grads((sd, x) -> sd.math().clipByValue(x, -1.0, 1.0), X);
        System.out.println("clip grad " + r.get("grad") + "\n x " + X);
        r = grads((sd, x) -> sd.math().round(x), X);
        System.out.println("round grad " + r.get("grad") + " out " + r.get("out"));
        try {
            r = grads((sd, x) -> new Rint(sd, x, false).outputVariable(), X);
            System.out.println("rint grad " + r.get("grad") + " out " + r.get("out"));
        } catch (Exception e) {
            System.out.println("rint grad fails: " + e);
        }
        r = grads((sd, x) -> new StopGradient(sd, x.add(0x1.8p23).sub(0x1.8p23)).outputVariable().add(x.sub(new StopGradient(sd, x).outputVariable())), X.castTo(DataType.FLOAT));
        System.out.println("ste grad " + r.get("grad") + " out " + r.get("out"));
        {
            float[] vs = new float[100_000];
            Random rr = new Random(3);
            for (int i = 0; i < vs.length; i++) vs[i] = (i % 3 == 0) ? (rr.nextInt(400) - 200) * 0.5f : (float) (rr.nextGaussian() * 100);
            SameDiff sdr = SameDiff.create();
            SDVariable v = sdr.constant("v", Nd4j.createFromArray(vs));
            float[] got = sdr.output(Map.of(), v.add(0x1.8p23).sub(0x1.8p23).name()).values().iterator().next().toFloatVector();
            int bad = 0;
            for (int i = 0; i < vs.length; i++) if (got[i] != (float) Math.rint(vs[i])) bad++;
            System.out.println("rounder mismatches " + bad);
        }
        // div/mul/sum with broadcast column, FD
        INDArray s = Nd4j.create(new double[] {0.7, 1.3, -0.9, 2.1, 0.4}, new long[] {1, 5});
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.var("x", X.dup());
        SDVariable sv = sd.var("s", s.dup());
        SDVariable loss = x.div(sv).mul(sv.mul(sv)).mul(sd.constant(C)).sum(1).mul(sd.constant(Nd4j.create(new double[] {1.5, -0.5}, new long[]{2}))).sum();
        sd.setLossVariables(loss);
        Map<String, INDArray> g = sd.calculateGradients(Map.of(), "x", "s");
        INDArray fd = Nd4j.zeros(DataType.DOUBLE, 1, 5);
        for (int j = 0; j < 5; j++) {
            double h = 1e-6;
            INDArray arr = sv.getArr();
            double v = arr.getDouble(0, j);
            arr.putScalar(0, j, v + h);
            double lp = sd.output(Map.of(), loss.name()).get(loss.name()).getDouble(0);
            arr.putScalar(0, j, v - h);
            double lm = sd.output(Map.of(), loss.name()).get(loss.name()).getDouble(0);
            arr.putScalar(0, j, v);
            fd.putScalar(0, j, (lp - lm) / (2 * h));
        }
        System.out.println("div/mul s grad " + g.get("s") + " fd " + fd);
        // casts
        Random rnd = new Random(1);
        float[] fs = new float[200_000];
        for (int i = 0; i < fs.length; i++) fs[i] = (float) (Math.exp(rnd.nextGaussian() * 6) * (i % 7 == 0 ? 1 : 1 + rnd.nextInt(3)));
        INDArray fa = Nd4j.createFromArray(fs);
        float[] half = fa.castTo(DataType.HALF).castTo(DataType.FLOAT).toFloatVector();
        float[] bf = fa.castTo(DataType.BFLOAT16).castTo(DataType.FLOAT).toFloatVector();
        int badH = 0, badB = 0;
        for (int i = 0; i < fs.length; i++) {
            if (half[i] != NumberEncodings.round(NumberEncoding.FP16, fs[i])) { if (badH++ < 3) System.out.println("half " + fs[i] + " " + half[i] + " " + NumberEncodings.round(NumberEncoding.FP16, fs[i])); }
            if (bf[i] != NumberEncodings.round(NumberEncoding.BF16, fs[i])) { if (badB++ < 3) System.out.println("bf16 " + fs[i] + " " + bf[i] + " " + NumberEncodings.round(NumberEncoding.BF16, fs[i])); }
        }
        System.out.println("half mismatches " + badH + ", bf16 mismatches " + badB);
        double[] ds = new double[100_000];
        for (int i = 0; i < ds.length; i++) ds[i] = Math.exp(rnd.nextGaussian() * 6);
        float[] df = Nd4j.createFromArray(ds).castTo(DataType.FLOAT).toFloatVector();
        int badD = 0;
        for (int i = 0; i < ds.length; i++) if (df[i] != (float) ds[i]) badD++;
        System.out.println("double->float mismatches " + badD);
        // dynamic N under stop gradient
        SameDiff sd2 = SameDiff.create();
        SDVariable in = sd2.placeHolder("in", DataType.FLOAT, -1, 6);
        SDVariable w = sd2.var("w", Nd4j.rand(DataType.FLOAT, 6, 4));
        SDVariable a = in.mmul(w);
        System.out.println("static shape of a: " + java.util.Arrays.toString(a.getShape()));
        SDVariable nfeat = a.length().castTo(DataType.FLOAT).div(sd2.sizeAt(a, 0).castTo(DataType.FLOAT));
        SDVariable gsc = new StopGradient(sd2, sd2.math().rsqrt(nfeat.mul(7.0))).outputVariable();
        SDVariable l2 = a.mul(gsc).sum();
        sd2.setLossVariables(l2);
        Map<String, INDArray> g2 = sd2.calculateGradients(Map.of("in", Nd4j.ones(DataType.FLOAT, 3, 6)), "w");
        System.out.println("dyn N grad " + g2.get("w").getDouble(0, 0) + " expected " + 3 / Math.sqrt(28));
        System.out.println("lt cast " + sd2.output(Map.of(), sd2.constant(Nd4j.createFromArray(1f, 2f, 3f)).lt(2.0).castTo(DataType.FLOAT).name()));
    }
}
