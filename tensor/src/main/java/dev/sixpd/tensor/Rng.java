package dev.sixpd.tensor;

/**
 * A small seeded random generator (SplitMix64) whose sequence is fixed by this code alone, so the same seed gives
 * the same numbers on every JDK and machine. Not thread-safe: one instance per thread.
 */
public final class Rng {
    private long state;
    private double spare = Double.NaN;

    public Rng(long seed) {
        this.state = seed;
    }

    /** The next 64 random bits. */
    public long nextLong() {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1), 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Uniform in [0, bound). */
    public int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        return (int) ((nextLong() >>> 1) % bound);
    }

    /** Standard normal (Box-Muller, both values used). */
    public double nextGaussian() {
        if (!Double.isNaN(spare)) {
            double s = spare;
            spare = Double.NaN;
            return s;
        }
        double u1 = nextDouble();
        double u2 = nextDouble();
        double r = Math.sqrt(-2.0 * Math.log(1.0 - u1));
        double a = 2.0 * Math.PI * u2;
        spare = r * Math.sin(a);
        return r * Math.cos(a);
    }

    /** Fills {@code a} with normal values of the given mean and standard deviation. */
    public void fillNormal(float[] a, double mean, double std) {
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (mean + std * nextGaussian());
        }
    }

    /** Fills {@code a} with values uniform in [lo, hi). */
    public void fillUniform(float[] a, double lo, double hi) {
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (lo + (hi - lo) * nextDouble());
        }
    }
}
