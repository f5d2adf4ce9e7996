package dev.sixpd.nn;

import dev.sixpd.tensor.Gemm;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Vectors;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A fully connected layer with bias, PyTorch / llm.c layout: weight {@code [OC, IC]} (out, in), bias {@code [OC]},
 * {@code out = inp · weightᵀ + bias}. The matmuls go through {@link Gemm} (ledger kind MATMUL); the bias add and the
 * bias gradient are charged as ELEMENTWISE, so the ledger's matmul FLOPs are exactly {@code 2·N·IC·OC} forward and
 * twice that backward.
 */
final class Linear {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;

    private Linear() {
    }

    /**
     * Forward: {@code out [N, OC] = inp [N, IC] · weight [OC, IC]ᵀ + bias [OC]} (bias may be null). Overwrites out.
     */
    static void forward(float[] out, float[] inp, float[] weight, float[] bias, int N, int IC, int OC) {
        forward(Accumulator.FP32, out, inp, weight, bias, N, IC, OC);
    }

    /** {@link #forward} with the matmul accumulated by {@code acc}. */
    static void forward(Accumulator acc, float[] out, float[] inp, float[] weight, float[] bias, int N, int IC,
                        int OC) {
        // out = inp · weightᵀ (NT: weight rows are the output channels)
        acc.gemm(false, true, N, OC, IC, 1f, inp, 0, IC, weight, 0, IC, 0f, out, 0, OC);
        if (bias == null) {
            return;
        }
        Ledger.add(Ledger.Kind.ELEMENTWISE, (long) N * OC, 4L * (2L * N * OC + OC));
        // out[n, :] += bias
        int up = S.loopBound(OC);
        for (int n = 0; n < N; n++) {
            int row = n * OC;
            int o = 0;
            for (; o < up; o += S.length()) {
                FloatVector.fromArray(S, out, row + o).add(FloatVector.fromArray(S, bias, o)).intoArray(out, row + o);
            }
            for (; o < OC; o++) {
                out[row + o] += bias[o];
            }
        }
    }

    /**
     * Backward. ACCUMULATES into {@code dinp [N, IC]}, {@code dweight [OC, IC]} and {@code dbias [OC]} (dbias may be
     * null): {@code dinp += dout · weight}, {@code dweight += doutᵀ · inp}, {@code dbias += Σ_n dout[n, :]}.
     */
    static void backward(float[] dinp, float[] dweight, float[] dbias, float[] dout, float[] inp, float[] weight,
                         int N, int IC, int OC) {
        backward(Accumulator.FP32, dinp, dweight, dbias, dout, inp, weight, N, IC, OC);
    }

    /** {@link #backward} with both matmuls accumulated by {@code acc}. */
    static void backward(Accumulator acc, float[] dinp, float[] dweight, float[] dbias, float[] dout, float[] inp,
                         float[] weight, int N, int IC, int OC) {
        // dinp [N, IC] += dout [N, OC] · weight [OC, IC]  (NN)
        acc.gemm(false, false, N, IC, OC, 1f, dout, 0, OC, weight, 0, IC, 1f, dinp, 0, IC);
        // dweight [OC, IC] += doutᵀ [OC, N] · inp [N, IC]  (TN)
        acc.gemm(true, false, OC, IC, N, 1f, dout, 0, OC, inp, 0, IC, 1f, dweight, 0, IC);
        if (dbias == null) {
            return;
        }
        Ledger.add(Ledger.Kind.ELEMENTWISE, (long) N * OC, 4L * ((long) N * OC + 2L * OC));
        // dbias += Σ_n dout[n, :], rows added in order n = 0, 1, ... (deterministic)
        int up = S.loopBound(OC);
        for (int n = 0; n < N; n++) {
            int row = n * OC;
            int o = 0;
            for (; o < up; o += S.length()) {
                FloatVector.fromArray(S, dbias, o).add(FloatVector.fromArray(S, dout, row + o)).intoArray(dbias, o);
            }
            for (; o < OC; o++) {
                dbias[o] += dout[row + o];
            }
        }
    }
}
