package dev.sixpd.nn.data;

import dev.sixpd.tensor.Rng;
import java.util.Arrays;

/**
 * A synthetic corpus with a known loss floor: an order-1 Markov chain over {@code K} symbols with transition matrix
 * {@code P[i][j] = Pr(next = j | current = i)}.
 *
 * <p>Its entropy rate — the lowest average cross-entropy per token any model can reach on a long sample — is
 * <pre>
 *   H = − Σ_i π_i Σ_j P[i][j] · ln P[i][j]      (nats per token)
 * </pre>
 * where π is the stationary distribution ({@code π = π·P}, {@code Σ π = 1}), which {@link #stationary()} solves
 * by Gaussian elimination in double. A model with context ≥ 2 that knows P reaches exactly H on a stationary
 * sample; train loss approaching H shows learning is complete.
 *
 * <p>{@link #random} draws each row as a softmax of {@code sharpness}·N(0, 1) logits from a seeded {@link Rng},
 * so every row is strictly positive (the chain is irreducible and aperiodic) and the same seed gives the same
 * chain everywhere. Symbols are shown as text with {@link #SYMBOLS} ({@code 'a'}, {@code 'b'}, ...), which
 * {@link CharTokenizer} maps back to ids 0..K−1 when all symbols occur. Immutable, thread-safe.
 */
public final class MarkovSource {
    /** The characters symbols 0, 1, ... are written as (ascending code points, so CharTokenizer ids = symbols). */
    public static final String SYMBOLS = "abcdefghijklmnopqrstuvwxyz";

    private final double[][] p;
    private final double[][] cumulative;
    private final double[] pi;
    private final double entropyRate;

    /** The chain with this transition matrix: K×K, rows non-negative summing to 1 (within 1e-9). */
    public MarkovSource(double[][] transitions) {
        int k = transitions.length;
        if (k < 1 || k > SYMBOLS.length()) {
            throw new IllegalArgumentException("a Markov source needs 1.." + SYMBOLS.length() + " symbols, got " + k);
        }
        p = new double[k][];
        cumulative = new double[k][k];
        for (int i = 0; i < k; i++) {
            if (transitions[i].length != k) {
                throw new IllegalArgumentException("transition matrix must be square: row " + i + " has "
                        + transitions[i].length + " entries, expected " + k);
            }
            p[i] = transitions[i].clone();
            double s = 0;
            for (int j = 0; j < k; j++) {
                if (!(p[i][j] >= 0) || Double.isInfinite(p[i][j])) {
                    throw new IllegalArgumentException("transition P[" + i + "][" + j + "] = " + p[i][j]
                            + " is not a probability");
                }
                s += p[i][j];
                cumulative[i][j] = s;
            }
            if (Math.abs(s - 1) > 1e-9) {
                throw new IllegalArgumentException("row " + i + " of the transition matrix sums to " + s + ", not 1");
            }
        }
        pi = solveStationary(p);
        double h = 0;
        for (int i = 0; i < k; i++) {
            double row = 0;
            for (int j = 0; j < k; j++) {
                if (p[i][j] > 0) {
                    row -= p[i][j] * Math.log(p[i][j]);
                }
            }
            h += pi[i] * row;
        }
        entropyRate = h;
    }

    /**
     * A random chain over {@code symbols} symbols: row i is softmax({@code sharpness}·z_ij), z ~ N(0, 1) from
     * {@code new Rng(seed)}. Sharpness 0 gives the uniform chain (entropy ln K); larger values lower the entropy.
     */
    public static MarkovSource random(int symbols, double sharpness, long seed) {
        if (symbols < 1 || symbols > SYMBOLS.length()) {
            throw new IllegalArgumentException("a Markov source needs 1.." + SYMBOLS.length() + " symbols, got "
                    + symbols);
        }
        Rng r = new Rng(seed);
        double[][] t = new double[symbols][symbols];
        for (int i = 0; i < symbols; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < symbols; j++) {
                t[i][j] = sharpness * r.nextGaussian();
                max = Math.max(max, t[i][j]);
            }
            double s = 0;
            for (int j = 0; j < symbols; j++) {
                t[i][j] = Math.exp(t[i][j] - max);
                s += t[i][j];
            }
            for (int j = 0; j < symbols; j++) {
                t[i][j] /= s;
            }
        }
        return new MarkovSource(t);
    }

    /** The default synthetic source of tests and demos: 16 symbols, sharpness 2, seed 1234; H ≈ 1.832 nats (ln 16 ≈ 2.773). */
    public static MarkovSource standard() {
        return random(16, 2.0, 1234);
    }

    /**
     * π with π·P = π and Σπ = 1: the system (Pᵀ − I)·π = 0 with its last equation replaced by Σπ = 1, solved by
     * Gaussian elimination with partial pivoting. Requires a unique stationary distribution (irreducible chain).
     */
    static double[] solveStationary(double[][] p) {
        int k = p.length;
        double[][] a = new double[k][k + 1];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                a[i][j] = p[j][i] - (i == j ? 1 : 0);
            }
        }
        Arrays.fill(a[k - 1], 1.0);
        for (int col = 0; col < k; col++) {
            int piv = col;
            for (int r = col + 1; r < k; r++) {
                if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) {
                    piv = r;
                }
            }
            if (Math.abs(a[piv][col]) < 1e-12) {
                throw new IllegalArgumentException("the Markov chain has no unique stationary distribution"
                        + " (it is not irreducible); give every state a path to every other");
            }
            double[] tmp = a[col];
            a[col] = a[piv];
            a[piv] = tmp;
            for (int r = 0; r < k; r++) {
                if (r != col) {
                    double f = a[r][col] / a[col][col];
                    for (int c = col; c <= k; c++) {
                        a[r][c] -= f * a[col][c];
                    }
                }
            }
        }
        double[] pi = new double[k];
        for (int i = 0; i < k; i++) {
            pi[i] = a[i][k] / a[i][i];
        }
        return pi;
    }

    /** Number of symbols K. */
    public int alphabetSize() {
        return p.length;
    }

    /** The entropy rate H in nats per token: the loss floor. */
    public double entropyRate() {
        return entropyRate;
    }

    /** The stationary distribution π (a copy). */
    public double[] stationary() {
        return pi.clone();
    }

    /** {@code Pr(next = j | current = i)}. */
    public double transition(int i, int j) {
        return p[i][j];
    }

    /**
     * {@code n} symbols (ids 0..K−1): the first drawn from π (so the sample is stationary from its start), each next
     * from the current row, by inverse CDF on {@link Rng#nextDouble()} of {@code new Rng(seed)}.
     */
    public int[] sample(int n, long seed) {
        Rng r = new Rng(seed);
        int[] out = new int[n];
        if (n == 0) {
            return out;
        }
        double[] piCum = new double[pi.length];
        double s = 0;
        for (int i = 0; i < pi.length; i++) {
            s += pi[i];
            piCum[i] = s;
        }
        int cur = draw(piCum, r.nextDouble());
        out[0] = cur;
        for (int t = 1; t < n; t++) {
            cur = draw(cumulative[cur], r.nextDouble());
            out[t] = cur;
        }
        return out;
    }

    private static int draw(double[] cum, double u) {
        double x = u * cum[cum.length - 1];
        for (int j = 0; j < cum.length; j++) {
            if (x < cum[j]) {
                return j;
            }
        }
        return cum.length - 1;
    }

    /** {@link #sample} written with {@link #SYMBOLS}. */
    public String text(int n, long seed) {
        int[] s = sample(n, seed);
        StringBuilder b = new StringBuilder(n);
        for (int x : s) {
            b.append(SYMBOLS.charAt(x));
        }
        return b.toString();
    }

    /** The character tokenizer of all K symbols: id i is symbol i, whatever a sample happens to contain. */
    public CharTokenizer tokenizer() {
        return CharTokenizer.ofCodePoints(SYMBOLS.substring(0, p.length).chars().toArray());
    }
}
