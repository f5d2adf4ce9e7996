package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * GPT-2's input encoder: token embedding plus learned position embedding.
 *
 * <p>{@code out[b,t,:] = wte[tokens[b,t], :] + wpe[t, :]}. Shapes: {@code out [B, T, C]}, {@code tokens [B, T]},
 * {@code wte [V, C]}, {@code wpe [maxT, C]} with {@code maxT >= T}. Stateless and thread-safe except for the
 * {@link Ledger} accounting (see there). Ledger kind {@link Ledger.Kind#ELEMENTWISE}.
 */
public final class Encoder {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    /** Positions per task when multi-threading the forward pass. */
    private static final int GRAIN_ROWS = 64;

    private Encoder() {
    }

    /** FLOPs of one forward call: one add per output element, {@code B·T·C}. */
    public static long flopsForward(int B, int T, int C) {
        return (long) B * T * C;
    }

    /** FLOPs of one backward call: two adds per element of {@code dout} (into dwte and into dwpe), {@code 2·B·T·C}. */
    public static long flopsBackward(int B, int T, int C) {
        return 2L * B * T * C;
    }

    private static void check(int[] tokens, float[] wte, float[] wpe, int B, int T, int C, int outLen) {
        if (B < 0 || T < 0 || C < 0) {
            throw new IllegalArgumentException("Encoder: negative size B=" + B + " T=" + T + " C=" + C);
        }
        if (outLen < B * T * C || tokens.length < B * T || wpe.length < T * C) {
            throw new IllegalArgumentException("Encoder: arrays too small for B=" + B + " T=" + T + " C=" + C
                    + ": out/dout " + outLen + " (need " + B * T * C + "), tokens " + tokens.length + " (need " + B * T
                    + "), wpe " + wpe.length + " (need T*C=" + T * C + "; is the context longer than wpe?)");
        }
        int V = C == 0 ? Integer.MAX_VALUE : wte.length / C;
        for (int i = 0; i < B * T; i++) {
            if (tokens[i] < 0 || tokens[i] >= V) {
                throw new IllegalArgumentException("Encoder: token " + tokens[i] + " at position " + i
                        + " is outside the vocabulary [0, " + V + ") of wte (length " + wte.length + ", C=" + C + ")");
            }
        }
    }

    private static void account(long flops, long bytes) {
        Ledger.add(Ledger.Kind.ELEMENTWISE, flops, bytes);
    }

    /**
     * {@code out[b,t,:] = wte[tokens[b,t], :] + wpe[t, :]}; overwrites {@code out [B, T, C]}. Vector API, threads
     * over positions.
     */
    public static void forward(float[] out, int[] tokens, float[] wte, float[] wpe, int B, int T, int C) {
        check(tokens, wte, wpe, B, T, C, out.length);
        // bytes: read tokens, the B*T gathered wte rows and wpe, write out
        account(flopsForward(B, T, C), 4L * B * T + 4L * B * T * C * 2 + 4L * T * C);
        Parallel.forRange(B * T, GRAIN_ROWS, (from, to) -> {
            for (int bt = from; bt < to; bt++) {
                int t = bt % T;
                addRows(out, bt * C, wte, tokens[bt] * C, wpe, t * C, C);
            }
        });
    }

    /** Scalar twin of {@link #forward}. */
    public static void forwardScalar(float[] out, int[] tokens, float[] wte, float[] wpe, int B, int T, int C) {
        check(tokens, wte, wpe, B, T, C, out.length);
        account(flopsForward(B, T, C), 4L * B * T + 4L * B * T * C * 2 + 4L * T * C);
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                // seek to out[b,t,:], wte[tok,:], wpe[t,:]
                int o = (b * T + t) * C;
                int w = tokens[b * T + t] * C;
                int p = t * C;
                for (int c = 0; c < C; c++) {
                    out[o + c] = wte[w + c] + wpe[p + c];
                }
            }
        }
    }

    private static void addRows(float[] out, int o, float[] a, int ao, float[] b, int bo, int n) {
        int i = 0;
        for (int up = S.loopBound(n); i < up; i += S.length()) {
            FloatVector.fromArray(S, a, ao + i).add(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i);
        }
        for (; i < n; i++) {
            out[o + i] = a[ao + i] + b[bo + i];
        }
    }

    /**
     * Backward: ACCUMULATES {@code dwte[tokens[b,t], :] += dout[b,t,:]} and {@code dwpe[t, :] += dout[b,t,:]}.
     *
     * <p>Several positions may share a token, so the work is split over channel ranges, not positions: every
     * task owns a slice of channels and walks all positions in order, so the sums are identical for any thread
     * count.
     */
    public static void backward(float[] dwte, float[] dwpe, float[] dout, int[] tokens, int B, int T, int C) {
        check(tokens, dwte, dwpe, B, T, C, dout.length);
        account(flopsBackward(B, T, C), 4L * B * T + 4L * B * T * C * 3 + 4L * T * C * 2);
        int lanes = S.length();
        int chunks = (C + lanes - 1) / lanes;
        // rough work per channel chunk is B*T*lanes; only fan out when there is real work
        int grain = (long) B * T * C < 1 << 15 ? Math.max(1, chunks) : 1;
        Parallel.forRange(chunks, grain, (from, to) -> {
            int c0 = from * lanes;
            int c1 = Math.min(C, to * lanes);
            for (int b = 0; b < B; b++) {
                for (int t = 0; t < T; t++) {
                    int bt = b * T + t;
                    // dwte[tok, c0:c1] += dout[b,t,c0:c1];  dwpe[t, c0:c1] += dout[b,t,c0:c1]
                    accumulate(dwte, tokens[bt] * C, dout, bt * C, c0, c1);
                    accumulate(dwpe, t * C, dout, bt * C, c0, c1);
                }
            }
        });
    }

    private static void accumulate(float[] y, int yo, float[] x, int xo, int c0, int c1) {
        int c = c0;
        for (int up = c0 + S.loopBound(c1 - c0); c < up; c += S.length()) {
            FloatVector.fromArray(S, y, yo + c).add(FloatVector.fromArray(S, x, xo + c)).intoArray(y, yo + c);
        }
        for (; c < c1; c++) {
            y[yo + c] += x[xo + c];
        }
    }

    /** Scalar twin of {@link #backward}. */
    public static void backwardScalar(float[] dwte, float[] dwpe, float[] dout, int[] tokens, int B, int T, int C) {
        check(tokens, dwte, dwpe, B, T, C, dout.length);
        account(flopsBackward(B, T, C), 4L * B * T + 4L * B * T * C * 3 + 4L * T * C * 2);
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                int o = (b * T + t) * C;
                int w = tokens[b * T + t] * C;
                int p = t * C;
                for (int c = 0; c < C; c++) {
                    dwte[w + c] += dout[o + c];
                    dwpe[p + c] += dout[o + c];
                }
            }
        }
    }
    // ---------------------------------------------------------------- token embedding alone (no position table)

    /**
     * Token embedding without a position table (RoPE models): {@code out[n, :] = wte[tokens[n], :]} for
     * {@code n < N}; overwrites {@code out [N, C]}. A gather: 0 FLOPs, bytes of the rows read and written.
     */
    public static void lookup(float[] out, int[] tokens, float[] wte, int N, int C) {
        checkLookup(tokens, wte, N, C, out.length);
        account(0, 4L * N + 8L * N * C);
        Parallel.forRange(N, GRAIN_ROWS, (from, to) -> {
            for (int n = from; n < to; n++) {
                System.arraycopy(wte, tokens[n] * C, out, n * C, C);
            }
        });
    }

    /** Scalar twin of {@link #lookup}. */
    public static void lookupScalar(float[] out, int[] tokens, float[] wte, int N, int C) {
        checkLookup(tokens, wte, N, C, out.length);
        account(0, 4L * N + 8L * N * C);
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < C; c++) {
                out[n * C + c] = wte[tokens[n] * C + c];
            }
        }
    }

    /**
     * Backward of {@link #lookup}: ACCUMULATES {@code dwte[tokens[n], :] += dout[n, :]}, {@code N·C} FLOPs. Split
     * over channel slices, each walking the positions in order, so the sums do not depend on the thread count.
     */
    public static void lookupBackward(float[] dwte, float[] dout, int[] tokens, int N, int C) {
        checkLookup(tokens, dwte, N, C, dout.length);
        account((long) N * C, 4L * N + 12L * N * C);
        int lanes = S.length();
        int chunks = (C + lanes - 1) / lanes;
        int grain = (long) N * C < 1 << 15 ? Math.max(1, chunks) : 1;
        Parallel.forRange(chunks, grain, (from, to) -> {
            int c0 = from * lanes;
            int c1 = Math.min(C, to * lanes);
            for (int n = 0; n < N; n++) {
                accumulate(dwte, tokens[n] * C, dout, n * C, c0, c1);
            }
        });
    }

    /** Scalar twin of {@link #lookupBackward}. */
    public static void lookupBackwardScalar(float[] dwte, float[] dout, int[] tokens, int N, int C) {
        checkLookup(tokens, dwte, N, C, dout.length);
        account((long) N * C, 4L * N + 12L * N * C);
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < C; c++) {
                dwte[tokens[n] * C + c] += dout[n * C + c];
            }
        }
    }

    private static void checkLookup(int[] tokens, float[] wte, int N, int C, int outLen) {
        if (N < 0 || C < 0 || outLen < (long) N * C || tokens.length < N) {
            throw new IllegalArgumentException("Encoder.lookup: arrays too small for N=" + N + " C=" + C + ": out "
                    + outLen + ", tokens " + tokens.length);
        }
        int V = C == 0 ? Integer.MAX_VALUE : wte.length / C;
        for (int i = 0; i < N; i++) {
            if (tokens[i] < 0 || tokens[i] >= V) {
                throw new IllegalArgumentException("Encoder: token " + tokens[i] + " at position " + i
                        + " is outside the vocabulary [0, " + V + ")");
            }
        }
    }
}
