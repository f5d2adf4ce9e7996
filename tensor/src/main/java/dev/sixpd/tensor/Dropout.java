package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Inverted dropout with a mask that is a pure function of (seed, element index), so backward recomputes it instead
 * of storing it:
 * <pre>
 *   keep(i) = hash(seed, i) ≥ p·2²⁴          hash: two rounds of lowbias32 (24 high bits compared)
 *   out[i]  = keep(i) ? x[i] / (1 − p) : 0     forward
 *   dx[i]  += keep(i) ? dout[i] / (1 − p) : 0  backward (accumulates)
 * </pre>
 * Each method has a Vector API body (the hash in int lanes) and a scalar twin computing the same bits: integer
 * arithmetic is exact, and each kept value is one multiply by the same float. Ledger kind ELEMENTWISE: 1 FLOP per
 * element; forward 8 bytes, backward 12 bytes per element. Thread-safe except for the ledger accounting.
 */
public final class Dropout {
    private static final VectorSpecies<Float> F = Vectors.SPECIES;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    private Dropout() {
    }

    /** The drop threshold on the hash's 24 high bits: {@code round(p·2²⁴)}. */
    static int threshold(float p) {
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        }
        return Math.round(p * (1 << 24));
    }

    /** lowbias32 (C. Wellons): a 32-bit integer hash with a good avalanche. */
    static int mix(int x) {
        x ^= x >>> 16;
        x *= 0x7feb352d;
        x ^= x >>> 15;
        x *= 0x846ca68b;
        x ^= x >>> 16;
        return x;
    }

    /** Whether element {@code i} is kept under {@code seed}: the scalar definition of the mask. */
    public static boolean keep(long seed, int i, float p) {
        int h = mix(mix(i ^ (int) seed) + (int) (seed >>> 32));
        return (h >>> 8) >= threshold(p);
    }

    /** {@code out[0, n) = dropout(x[0, n))}; overwrites. */
    public static void forward(float[] out, float[] x, int n, float p, long seed) {
        Ledger.add(Ledger.Kind.ELEMENTWISE, n, 8L * n);
        apply(out, x, n, p, seed, false);
    }

    /** {@code dx[0, n) += dropout'(dout[0, n))}, the same mask as the forward with this seed. */
    public static void backward(float[] dx, float[] dout, int n, float p, long seed) {
        Ledger.add(Ledger.Kind.ELEMENTWISE, n, 12L * n);
        apply(dx, dout, n, p, seed, true);
    }

    private static void apply(float[] out, float[] x, int n, float p, long seed, boolean accumulate) {
        int thr = threshold(p);
        float scale = 1f / (1f - p);
        int s1 = (int) seed;
        int s2 = (int) (seed >>> 32);
        int i = 0;
        for (int up = F.loopBound(n); i < up; i += F.length()) {
            // the hash of the lane indices i..i+len, in int lanes
            IntVector h = IntVector.broadcast(I, i).add(IntVector.zero(I).addIndex(1)).lanewise(VectorOperators.XOR, s1);
            h = mixVector(mixVector(h).add(s2));
            VectorMask<Float> keep = h.lanewise(VectorOperators.LSHR, 8).compare(VectorOperators.GE, thr).cast(F);
            FloatVector v = FloatVector.fromArray(F, x, i).mul(scale);
            FloatVector kept = FloatVector.zero(F).blend(v, keep);
            if (accumulate) {
                kept = FloatVector.fromArray(F, out, i).add(kept);
            }
            kept.intoArray(out, i);
        }
        applyScalar(out, x, i, n, thr, scale, s1, s2, accumulate);
    }

    private static IntVector mixVector(IntVector x) {
        x = x.lanewise(VectorOperators.XOR, x.lanewise(VectorOperators.LSHR, 16));
        x = x.mul(0x7feb352d);
        x = x.lanewise(VectorOperators.XOR, x.lanewise(VectorOperators.LSHR, 15));
        x = x.mul(0x846ca68b);
        return x.lanewise(VectorOperators.XOR, x.lanewise(VectorOperators.LSHR, 16));
    }

    /** Scalar twin of {@link #forward}. */
    public static void forwardScalar(float[] out, float[] x, int n, float p, long seed) {
        Ledger.add(Ledger.Kind.ELEMENTWISE, n, 8L * n);
        applyScalar(out, x, 0, n, threshold(p), 1f / (1f - p), (int) seed, (int) (seed >>> 32), false);
    }

    /** Scalar twin of {@link #backward}. */
    public static void backwardScalar(float[] dx, float[] dout, int n, float p, long seed) {
        Ledger.add(Ledger.Kind.ELEMENTWISE, n, 12L * n);
        applyScalar(dx, dout, 0, n, threshold(p), 1f / (1f - p), (int) seed, (int) (seed >>> 32), true);
    }

    private static void applyScalar(float[] out, float[] x, int from, int n, int thr, float scale, int s1, int s2,
                                    boolean accumulate) {
        for (int i = from; i < n; i++) {
            int h = mix(mix(i ^ s1) + s2);
            float v = (h >>> 8) >= thr ? x[i] * scale : 0f;
            out[i] = accumulate ? out[i] + v : v;
        }
    }
}
