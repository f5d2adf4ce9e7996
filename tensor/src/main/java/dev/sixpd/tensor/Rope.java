package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Rotary position embedding (RoPE), in the Hugging Face {@code LlamaForCausalLM} convention ({@code rotate_half}):
 * within a head of size {@code hs}, channel {@code i} pairs with channel {@code i + hs/2} for {@code i < hs/2},
 * and the pair is rotated by the angle {@code a = pos·theta^(-2i/hs)}:
 * <pre>
 *   x'[i]        = x[i]·cos a - x[i + hs/2]·sin a
 *   x'[i + hs/2] = x[i + hs/2]·cos a + x[i]·sin a
 * </pre>
 * (Meta's original LLaMA code pairs adjacent channels 2i, 2i+1 instead; checkpoints converted to Hugging Face
 * format have their q/k projection rows permuted to match this convention.)
 *
 * <p>The angles come from a table ({@link #table}): {@code cos [maxT, hs/2]} and {@code sin [maxT, hs/2]}, row
 * {@code pos}, column {@code i}. The kernels work in place on {@code heads} consecutive heads of each row of an
 * activation, so one call rotates the q part and another the k part of a fused QKV row. Position of row
 * {@code (b, t)} is {@code pos0 + t} (pos0 > 0 when generating with a KV cache).
 *
 * <p>FLOPs: 6 per pair (4 multiplies, 2 adds), what the kernels execute; no fma, so the vector loops and the scalar
 * twins give the same bits. Ledger kind {@link Ledger.Kind#ELEMENTWISE}. Threads over rows; every element belongs
 * to one row, so results are the same for any thread count. Thread-safe except for the {@link Ledger} accounting.
 */
public final class Rope {
    /** LLaMA's default base, {@code rope_theta}. */
    public static final double THETA = 10000.0;
    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    /** Minimum elements per task before fanning out to threads. */
    private static final int GRAIN_ELEMS = 1 << 14;

    private Rope() {
    }

    /**
     * The cos and sin tables {@code {cos, sin}}, each {@code [maxT, hs/2]} row-major:
     * {@code cos[pos·(hs/2) + i] = (float) cos(pos·theta^(-2i/hs))}. The frequency and the angle are computed in
     * double and only the cos and sin are rounded to float, so each entry is within half a float ulp (plus the
     * double library's 1-ulp error) of the exact value. Hugging Face computes the frequencies and angles in
     * float32, so its tables differ from these at large positions: at pos = 4096 the float32 rounding of an angle
     * alone is up to 2.4e-4 rad.
     *
     * @param maxT  positions 0 .. maxT-1
     * @param hs    head size, even
     * @param theta the base ({@link #THETA} for LLaMA 1/2)
     */
    public static float[][] table(int maxT, int hs, double theta) {
        if (maxT < 0) {
            throw new IllegalArgumentException("Rope.table: maxT must be >= 0, got " + maxT);
        }
        checkHeadSize("table", hs);
        if (!(theta > 1.0) || Double.isInfinite(theta)) {
            throw new IllegalArgumentException("Rope.table: theta must be a finite number > 1, got " + theta);
        }
        int half = hs / 2;
        float[] cos = new float[Math.multiplyExact(maxT, half)];
        float[] sin = new float[cos.length];
        for (int i = 0; i < half; i++) {
            // inv_freq[i] = theta^(-2i/hs)
            double f = Math.pow(theta, -2.0 * i / hs);
            for (int p = 0; p < maxT; p++) {
                double a = p * f;
                cos[p * half + i] = (float) Math.cos(a);
                sin[p * half + i] = (float) Math.sin(a);
            }
        }
        return new float[][] {cos, sin};
    }

    private static void checkHeadSize(String what, int hs) {
        if (hs <= 0 || hs % 2 != 0) {
            throw new IllegalArgumentException("Rope." + what + ": head size hs=" + hs
                    + " must be positive and even (RoPE rotates channel pairs i, i + hs/2); choose an even head size");
        }
    }

    /** FLOPs of one forward call: 6 per rotated pair (4 mul, 2 add), {@code 6·B·T·heads·hs/2 = 3·B·T·heads·hs}. */
    public static long flopsForward(int B, int T, int heads, int hs) {
        return 3L * B * T * heads * hs;
    }

    /** FLOPs of one backward call: the same rotation by -a, {@code 3·B·T·heads·hs}. */
    public static long flopsBackward(int B, int T, int heads, int hs) {
        return 3L * B * T * heads * hs;
    }

    /** Bytes: read and write every rotated element, read the table rows of the T positions once. */
    private static long bytes(int B, int T, int heads, int hs) {
        return 8L * B * T * heads * hs + 4L * T * hs;
    }

    private static void check(String what, float[] x, int B, int T, int rowStride, int colOffset, int heads,
            int hs, int pos0, float[] cos, float[] sin) {
        checkHeadSize(what, hs);
        if (B < 0 || T < 0 || heads < 0 || colOffset < 0 || pos0 < 0) {
            throw new IllegalArgumentException("Rope." + what + ": negative size B=" + B + " T=" + T + " heads="
                    + heads + " colOffset=" + colOffset + " pos0=" + pos0);
        }
        long width = (long) colOffset + (long) heads * hs;
        if (width > rowStride) {
            throw new IllegalArgumentException("Rope." + what + ": columns colOffset + heads·hs = " + colOffset
                    + " + " + heads + "·" + hs + " = " + width + " exceed the row stride " + rowStride);
        }
        long rows = (long) B * T;
        long need = rows == 0 ? 0 : (rows - 1) * rowStride + width;
        if (x.length < need) {
            throw new IllegalArgumentException("Rope." + what + ": x has length " + x.length + " but [B=" + B
                    + ", T=" + T + "] rows of stride " + rowStride + " need " + need);
        }
        long tab = (long) (pos0 + (long) T) * (hs / 2);
        if (T > 0 && (cos.length < tab || sin.length < tab)) {
            throw new IllegalArgumentException("Rope." + what + ": positions up to pos0 + T - 1 = " + (pos0 + T - 1)
                    + " need tables of at least " + tab + " entries ([pos0 + T, hs/2]) but cos has " + cos.length
                    + " and sin " + sin.length + "; build the table with Rope.table(maxT >= " + (pos0 + T)
                    + ", hs=" + hs + ", theta)");
        }
    }

    /** Vector API forward, in place on {@code x}, threads over rows. See the class comment for the layout. */
    public static void forward(float[] x, int B, int T, int rowStride, int colOffset, int heads, int hs, int pos0,
            float[] cos, float[] sin) {
        check("forward", x, B, T, rowStride, colOffset, heads, hs, pos0, cos, sin);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsForward(B, T, heads, hs), bytes(B, T, heads, hs));
        rotate(x, B, T, rowStride, colOffset, heads, hs, pos0, cos, sin, false);
    }

    /** Scalar twin of {@link #forward}: the same bits. */
    public static void forwardScalar(float[] x, int B, int T, int rowStride, int colOffset, int heads, int hs,
            int pos0, float[] cos, float[] sin) {
        check("forwardScalar", x, B, T, rowStride, colOffset, heads, hs, pos0, cos, sin);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsForward(B, T, heads, hs), bytes(B, T, heads, hs));
        rotateScalar(x, B, T, rowStride, colOffset, heads, hs, pos0, cos, sin, false);
    }

    /**
     * Backward, IN PLACE on {@code dx}: on entry the gradient with respect to the rotated values, on return the
     * gradient with respect to the un-rotated input. The rotation is orthogonal, so that is the rotation by -a
     * (the transpose):
     * <pre>
     *   dx[i]        =  dx'[i]·cos a + dx'[i + hs/2]·sin a
     *   dx[i + hs/2] = -dx'[i]·sin a + dx'[i + hs/2]·cos a
     * </pre>
     * Unlike most backward kernels this overwrites rather than accumulates, as the forward is in place too.
     */
    public static void backward(float[] dx, int B, int T, int rowStride, int colOffset, int heads, int hs,
            int pos0, float[] cos, float[] sin) {
        check("backward", dx, B, T, rowStride, colOffset, heads, hs, pos0, cos, sin);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsBackward(B, T, heads, hs), bytes(B, T, heads, hs));
        rotate(dx, B, T, rowStride, colOffset, heads, hs, pos0, cos, sin, true);
    }

    /** Scalar twin of {@link #backward}: the same bits. */
    public static void backwardScalar(float[] dx, int B, int T, int rowStride, int colOffset, int heads, int hs,
            int pos0, float[] cos, float[] sin) {
        check("backwardScalar", dx, B, T, rowStride, colOffset, heads, hs, pos0, cos, sin);
        Ledger.add(Ledger.Kind.ELEMENTWISE, flopsBackward(B, T, heads, hs), bytes(B, T, heads, hs));
        rotateScalar(dx, B, T, rowStride, colOffset, heads, hs, pos0, cos, sin, true);
    }

    private static void rotate(float[] x, int B, int T, int rowStride, int colOffset, int heads, int hs, int pos0,
            float[] cos, float[] sin, boolean inverse) {
        int width = heads * hs;
        if (width == 0) {
            return;
        }
        int grain = Math.max(1, GRAIN_ELEMS / width);
        Parallel.forRange(B * T, grain, (from, to) -> {
            for (int row = from; row < to; row++) {
                int p = pos0 + row % T;
                for (int h = 0; h < heads; h++) {
                    rotateHead(x, row * rowStride + colOffset + h * hs, hs / 2, cos, sin, p * (hs / 2), inverse);
                }
            }
        });
    }

    /** One head at {@code x[base, base + 2·half)} by the table row at {@code tab}; sin negated if inverse. */
    private static void rotateHead(float[] x, int base, int half, float[] cos, float[] sin, int tab,
            boolean inverse) {
        int i = 0;
        for (int up = S.loopBound(half); i < up; i += S.length()) {
            FloatVector x0 = FloatVector.fromArray(S, x, base + i);
            FloatVector x1 = FloatVector.fromArray(S, x, base + half + i);
            FloatVector c = FloatVector.fromArray(S, cos, tab + i);
            FloatVector s = FloatVector.fromArray(S, sin, tab + i);
            if (inverse) {
                // (x0, x1) ← (x0·c + x1·s, x1·c - x0·s)
                x0.mul(c).add(x1.mul(s)).intoArray(x, base + i);
                x1.mul(c).sub(x0.mul(s)).intoArray(x, base + half + i);
            } else {
                // (x0, x1) ← (x0·c - x1·s, x1·c + x0·s)
                x0.mul(c).sub(x1.mul(s)).intoArray(x, base + i);
                x1.mul(c).add(x0.mul(s)).intoArray(x, base + half + i);
            }
        }
        for (; i < half; i++) {
            pair(x, base + i, base + half + i, cos[tab + i], sin[tab + i], inverse);
        }
    }

    private static void pair(float[] x, int i0, int i1, float c, float s, boolean inverse) {
        float x0 = x[i0];
        float x1 = x[i1];
        if (inverse) {
            x[i0] = x0 * c + x1 * s;
            x[i1] = x1 * c - x0 * s;
        } else {
            x[i0] = x0 * c - x1 * s;
            x[i1] = x1 * c + x0 * s;
        }
    }

    private static void rotateScalar(float[] x, int B, int T, int rowStride, int colOffset, int heads, int hs,
            int pos0, float[] cos, float[] sin, boolean inverse) {
        int half = hs / 2;
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                int tab = (pos0 + t) * half;
                for (int h = 0; h < heads; h++) {
                    // seek to head h of row (b, t)
                    int base = (b * T + t) * rowStride + colOffset + h * hs;
                    for (int i = 0; i < half; i++) {
                        pair(x, base + i, base + half + i, cos[tab + i], sin[tab + i], inverse);
                    }
                }
            }
        }
    }
}
