package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The GPT-2 MLP's bias add and GELU in one pass over the hidden activation {@code h [N, H]}:
 * <pre>
 *   forward:   h[n,c] += b[c];  out[n,c] = gelu(h[n,c])                 (h is kept: backward reads it)
 *   backward:  dh[n,c] = gelu'(h[n,c])·dout[n,c];  db[c] += Σ_n dh[n,c]  (dh overwritten, db accumulated)
 * </pre>
 * Unfused, a step runs {@link Elementwise#addBias} then {@link Gelu#forward} (h read twice, written once, out
 * written: 16 bytes per element) and zero-fill, {@link Gelu#backward}, {@link Reduce#sumRows} (dh written by the
 * fill, read and written by the GELU, read by the sum, h and dout read: 24 bytes per element); fused, 12 and 12.
 *
 * <p>Same bits as the unfused kernels, on purpose (the golden training trace): the GELU is {@link Gelu}'s own
 * vector and scalar code, {@code dh} is {@code fma(gelu'(h), dout, 0)} as the unfused backward computes it into a
 * zeroed buffer, and {@code db} adds the rows of each channel in order, as {@link Reduce#sumRows} does. Forward
 * threads over rows, backward over channel slices that each walk all rows in order, so results do not depend on
 * the thread count. Ledger: the FLOPs of the unfused kernels (so a step's model FLOPs do not change), kind
 * {@link Ledger.Kind#ELEMENTWISE}, the fused bytes. Thread-safe except for the {@link Ledger} accounting.
 */
public final class BiasGelu {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    private static final int GRAIN = 1 << 14;

    private BiasGelu() {
    }

    /** FLOPs of one forward call: the bias add (1) and {@link Gelu#flopsForward} (8) per element. */
    public static long flopsForward(int N, int H) {
        return (long) N * H + Gelu.flopsForward((long) N * H);
    }

    /** Bytes of one forward call: h read and written, out written, b read. */
    public static long bytesForward(int N, int H) {
        return 4L * (3L * N * H + H);
    }

    /** FLOPs of one backward call: {@link Gelu#flopsBackward} (17) and the bias sum (1) per element. */
    public static long flopsBackward(int N, int H) {
        return Gelu.flopsBackward((long) N * H) + (long) N * H;
    }

    /** Bytes of one backward call: h and dout read, dh written, db read and written. */
    public static long bytesBackward(int N, int H) {
        return 4L * (3L * N * H + 2L * H);
    }

    private static void check(String what, int N, int H, float[] a, float[] b, float[] c, float[] bias) {
        long nh = (long) N * H;
        if (N < 0 || H < 0) {
            throw new IllegalArgumentException("BiasGelu." + what + ": negative size N=" + N + " H=" + H);
        }
        if (a.length < nh || b.length < nh || c.length < nh || bias.length < H) {
            throw new IllegalArgumentException("BiasGelu." + what + ": arrays too small for [N=" + N + ", H=" + H
                    + "]: activations " + a.length + ", " + b.length + ", " + c.length + " (need " + nh + "), bias "
                    + bias.length + " (need " + H + ")");
        }
    }

    /** {@code h[n,:] += b; out = gelu(h)} for {@code h, out [N, H]}, {@code b [H]}; Vector API, threads over rows. */
    public static void forward(float[] h, float[] out, float[] b, int N, int H) {
        check("forward", N, H, h, out, out, b);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsForward(N, H), bytesForward(N, H));
        if (H == 0) {
            return;
        }
        Parallel.forRange(N, Math.max(1, GRAIN / H), (from, to) -> {
            FloatVector one = FloatVector.broadcast(S, 1f);
            int up = S.loopBound(H);
            for (int n = from; n < to; n++) {
                int o = n * H;
                int c = 0;
                for (; c < up; c += S.length()) {
                    FloatVector x = FloatVector.fromArray(S, h, o + c).add(FloatVector.fromArray(S, b, c));
                    x.intoArray(h, o + c);
                    Gelu.gelu(x, one).intoArray(out, o + c);
                }
                for (; c < H; c++) {
                    float x = h[o + c] + b[c];
                    h[o + c] = x;
                    out[o + c] = Gelu.geluScalar(x);
                }
            }
        });
    }

    /** Scalar twin of {@link #forward}. */
    public static void forwardScalar(float[] h, float[] out, float[] b, int N, int H) {
        check("forwardScalar", N, H, h, out, out, b);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsForward(N, H), bytesForward(N, H));
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < H; c++) {
                float x = h[n * H + c] + b[c];
                h[n * H + c] = x;
                out[n * H + c] = Gelu.geluScalar(x);
            }
        }
    }

    /**
     * {@code dh = gelu'(h)·dout} (OVERWRITES dh) and {@code db += Σ_n dh[n,:]} (ACCUMULATES); {@code h} is the
     * forward's biased input. Vector API, threads over channel slices, each walking all rows in order.
     */
    public static void backward(float[] dh, float[] db, float[] h, float[] dout, int N, int H) {
        check("backward", N, H, dh, h, dout, db);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsBackward(N, H), bytesBackward(N, H));
        int L = S.length();
        int chunks = (H + L - 1) / L;
        // one slice per thread's share of the channels: long runs of each row, every row in order
        int grain = (long) N * H < GRAIN ? Math.max(1, chunks) : Math.max(1, chunks / Parallel.threads());
        Parallel.forRange(chunks, grain, (from, to) -> {
            FloatVector one = FloatVector.broadcast(S, 1f);
            FloatVector zero = FloatVector.zero(S);
            int c0 = from * L;
            int c1 = Math.min(H, to * L);
            int up = c0 + S.loopBound(c1 - c0);
            for (int n = 0; n < N; n++) {
                int o = n * H;
                int c = c0;
                for (; c < up; c += L) {
                    FloatVector local = Gelu.localGrad(FloatVector.fromArray(S, h, o + c), one);
                    FloatVector d = local.fma(FloatVector.fromArray(S, dout, o + c), zero);
                    d.intoArray(dh, o + c);
                    FloatVector.fromArray(S, db, c).add(d).intoArray(db, c);
                }
                for (; c < c1; c++) {
                    float d = Math.fma(Gelu.localGrad(h[o + c]), dout[o + c], 0f);
                    dh[o + c] = d;
                    db[c] += d;
                }
            }
        });
    }

    /** Scalar twin of {@link #backward}. */
    public static void backwardScalar(float[] dh, float[] db, float[] h, float[] dout, int N, int H) {
        check("backwardScalar", N, H, dh, h, dout, db);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsBackward(N, H), bytesBackward(N, H));
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < H; c++) {
                float d = Math.fma(Gelu.localGrad(h[n * H + c]), dout[n * H + c], 0f);
                dh[n * H + c] = d;
                db[c] += d;
            }
        }
    }
}
