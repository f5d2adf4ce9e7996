package dev.sixpd.tensor;

import java.util.Arrays;
import java.util.Locale;

/**
 * What storing FP32 values (gradients) in a 16-bit dtype would do to them: how many nonzero values flush to zero,
 * how many land as subnormals (few significant bits left), how many overflow to Inf, and a histogram of their
 * binary exponents floor(log2|g|) to draw against the formats' ranges ({@link Formats}).
 *
 * <p>An accumulator: {@link #add} any number of arrays (e.g. every parameter gradient of one step), read the counts,
 * {@link #reset} or {@link #merge}. The classification is exactly that of {@link Half}'s round to nearest even (with
 * or without flush-to-zero): it compares each value's magnitude bits against thresholds found from {@link Half}
 * itself when the class loads, so it costs a few integer compares per value, not a conversion. The histogram counts
 * the FP32 values (after {@code scale}), so it shows where the values are, not where the dtype put them. Not
 * thread-safe.
 */
public final class GradStats {
    /** Lowest histogram bin: floor(log2) of FP32's smallest subnormal 2^-149; no nonzero FP32 lies below it. */
    public static final int MIN_LOG2 = -149;
    /** Highest histogram bin; larger finite values count in {@link #above()}. */
    public static final int MAX_LOG2 = 20;

    /** Per dtype, without [0] and with [1] flush-to-zero: thresholds on the FP32 magnitude bits |x|. */
    private static final Thresholds[][] THRESHOLDS = new Thresholds[DType.values().length][2];

    static {
        for (DType d : DType.values()) {
            THRESHOLDS[d.ordinal()][0] = Thresholds.find(d, false);
            THRESHOLDS[d.ordinal()][1] = Thresholds.find(d, true);
        }
    }

    private final DType dtype;
    private final boolean ftz;
    private final Thresholds th;
    private long total;
    private long zeros;
    private long nonFinite;
    private long flushed;
    private long subnormal;
    private long overflow;
    private long above;
    private final long[] histogram = new long[MAX_LOG2 - MIN_LOG2 + 1];

    /** Statistics for storing in {@code dtype}, with subnormals ({@code ftz} false) or flushed to zero. */
    public GradStats(DType dtype, boolean ftz) {
        this.dtype = dtype;
        this.ftz = ftz;
        this.th = THRESHOLDS[dtype.ordinal()][ftz ? 1 : 0];
    }

    /** Statistics for storing in {@code dtype} with subnormals. */
    public GradStats(DType dtype) {
        this(dtype, false);
    }

    /** The statistics of g[off, off + n) in {@code dtype}, with subnormals. */
    public static GradStats of(DType dtype, float[] g, int off, int n) {
        GradStats s = new GradStats(dtype);
        s.add(g, off, n);
        return s;
    }

    /** Adds g[off, off + n). */
    public void add(float[] g, int off, int n) {
        add(g, off, n, 1f);
    }

    /**
     * Adds the values g[i]·scale (computed in FP32) for i in [off, off + n): with a loss scale S, pass the unscaled
     * FP32 gradients and S to see what storing the scaled gradients would do. A value that is finite before the
     * scale but Inf after it counts as an overflow; Inf or NaN in g itself counts in {@link #nonFinite()} only. A
     * nonzero value that a scale below 1 turns into an FP32 zero counts as flushed, in the histogram at its unscaled
     * exponent.
     */
    public void add(float[] g, int off, int n, float scale) {
        if (n < 0 || off < 0 || off > g.length - n) {
            throw new IndexOutOfBoundsException("GradStats.add of n=" + n + " values at offset " + off
                    + " in an array of " + g.length + "; need 0 <= offset, offset + n <= length");
        }
        int zeroMax = th.zeroMax;
        int subMax = th.subMax;
        int overMin = th.overMin;
        for (int i = off; i < off + n; i++) {
            float x = g[i];
            int ga = Float.floatToRawIntBits(x) & 0x7FFF_FFFF;
            if (ga >= 0x7F80_0000) {
                nonFinite++;
                continue;
            }
            int a = scale == 1f ? ga : Float.floatToRawIntBits(x * scale) & 0x7FFF_FFFF;
            if (a == 0) {
                // zero in FP32 already (or the scale flushed it, which only a scale < 1 can do)
                if (ga == 0) {
                    zeros++;
                } else {
                    flushed++;
                    histogram[floorLog2(ga) - MIN_LOG2]++;
                }
                continue;
            }
            // classify by the magnitude bits: rounding is monotonic in them
            if (a <= zeroMax) {
                flushed++;
            } else if (a <= subMax) {
                subnormal++;
            } else if (a >= overMin) {
                overflow++;
            }
            int e = floorLog2(a);
            if (e > MAX_LOG2) {
                above++;
            } else {
                histogram[e - MIN_LOG2]++;
            }
        }
        total += n;
    }

    /** floor(log2|x|) for a nonzero finite FP32 magnitude pattern {@code a} (exact, subnormals included). */
    public static int floorLog2(int a) {
        int e = a >>> 23;
        return e != 0 ? e - 127 : -118 - Integer.numberOfLeadingZeros(a);
    }

    /** floor(log2|x|) of a nonzero finite float (exact). */
    public static int floorLog2(float x) {
        return floorLog2(Float.floatToRawIntBits(x) & 0x7FFF_FFFF);
    }

    /** Adds the counts of {@code other}, which must be for the same dtype and flush mode. */
    public void merge(GradStats other) {
        if (other.dtype != dtype || other.ftz != ftz) {
            throw new IllegalArgumentException("cannot merge statistics for " + other.dtype + (other.ftz ? "+ftz" : "")
                    + " into statistics for " + dtype + (ftz ? "+ftz" : "") + ": make both for the same dtype");
        }
        total += other.total;
        zeros += other.zeros;
        nonFinite += other.nonFinite;
        flushed += other.flushed;
        subnormal += other.subnormal;
        overflow += other.overflow;
        above += other.above;
        for (int i = 0; i < histogram.length; i++) {
            histogram[i] += other.histogram[i];
        }
    }

    /** Sets every count to zero. */
    public void reset() {
        total = zeros = nonFinite = flushed = subnormal = overflow = above = 0;
        Arrays.fill(histogram, 0);
    }

    public DType dtype() {
        return dtype;
    }

    public boolean ftz() {
        return ftz;
    }

    /** Values added. */
    public long total() {
        return total;
    }

    /** Values that are ±0 in FP32. */
    public long zeros() {
        return zeros;
    }

    /** Values that are Inf or NaN in FP32 (before the scale). */
    public long nonFinite() {
        return nonFinite;
    }

    /** Values that are finite and nonzero in FP32: total − zeros − nonFinite. */
    public long nonzero() {
        return total - zeros - nonFinite;
    }

    /** Nonzero finite FP32 values that become ±0 in the dtype. */
    public long flushed() {
        return flushed;
    }

    /** Nonzero finite FP32 values that become nonzero subnormals in the dtype. */
    public long subnormal() {
        return subnormal;
    }

    /** Finite FP32 values that become ±Inf in the dtype. */
    public long overflow() {
        return overflow;
    }

    /** flushed / nonzero (0 when nothing is nonzero). */
    public double flushedFraction() {
        return fraction(flushed);
    }

    /** subnormal / nonzero (0 when nothing is nonzero). */
    public double subnormalFraction() {
        return fraction(subnormal);
    }

    /** overflow / nonzero (0 when nothing is nonzero). */
    public double overflowFraction() {
        return fraction(overflow);
    }

    /** How many nonzero finite values have floor(log2|g·scale|) = {@code log2}, in [MIN_LOG2, MAX_LOG2]. */
    public long count(int log2) {
        if (log2 < MIN_LOG2 || log2 > MAX_LOG2) {
            throw new IllegalArgumentException("histogram bin " + log2 + " outside [" + MIN_LOG2 + ", " + MAX_LOG2
                    + "]; values above " + MAX_LOG2 + " are counted by above()");
        }
        return histogram[log2 - MIN_LOG2];
    }

    /** A copy of the histogram: element i counts floor(log2|g·scale|) = MIN_LOG2 + i. */
    public long[] histogram() {
        return histogram.clone();
    }

    /** Finite nonzero values with floor(log2|g·scale|) > MAX_LOG2 (values the scale pushed to Inf included). */
    public long above() {
        return above;
    }

    private double fraction(long count) {
        long nz = nonzero();
        return nz == 0 ? 0 : (double) count / nz;
    }

    /** One line: counts and fractions. */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s%s: %d values, %d nonzero; flushed %d (%.4f%%), subnormal %d (%.4f%%),"
                        + " overflow %d (%.4f%%), zero %d, Inf/NaN %d", dtype, ftz ? " ftz" : "", total, nonzero(),
                flushed, 100 * flushedFraction(), subnormal, 100 * subnormalFraction(), overflow,
                100 * overflowFraction(), zeros, nonFinite);
    }

    /**
     * Thresholds on FP32 magnitude bits: {@code a <= zeroMax} rounds to 0, {@code a <= subMax} to a subnormal (or
     * 0), {@code a >= overMin} to Inf. Found by bisection over the bit patterns with {@link Half} itself.
     */
    private record Thresholds(int zeroMax, int subMax, int overMin) {
        static Thresholds find(DType d, boolean ftz) {
            // largest a whose rounded magnitude is 0; largest a whose rounded magnitude is below the smallest normal
            int zeroMax = lastTrue(a -> magnitude(d, a, ftz) == 0f);
            int subMax = lastTrue(a -> magnitude(d, a, ftz) < Formats.of(d).smallestNormal());
            int overMin = lastTrue(a -> !Float.isInfinite(magnitude(d, a, ftz))) + 1;
            return new Thresholds(zeroMax, subMax, overMin);
        }

        private static float magnitude(DType d, int a, boolean ftz) {
            float x = Float.intBitsToFloat(a);
            return d == DType.FP32 ? (ftz && a < 0x0080_0000 ? 0f : x) : Half.round(d, x, ftz);
        }

        /** The largest a in [0, 0x7F80_0000] with p(a) true, for p true on a prefix (-1 if none). */
        private static int lastTrue(java.util.function.IntPredicate p) {
            int lo = -1;
            int hi = 0x7F80_0001;
            while (hi - lo > 1) {
                int mid = (lo + hi) >>> 1;
                if (p.test(mid)) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            return lo;
        }
    }
}
