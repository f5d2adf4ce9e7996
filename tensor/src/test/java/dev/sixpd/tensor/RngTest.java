package dev.sixpd.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class RngTest {
    @Test
    void splitMix64MatchesPublishedSequence() {
        // SplitMix64 from seed 0: the first outputs of the reference implementation (Vigna).
        Rng r = new Rng(0);
        assertEquals(0xE220A8397B1DCDAFL, r.nextLong());
        assertEquals(0x6E789E6AA1B965F4L, r.nextLong());
    }

    @Test
    void gaussianMomentsAreRight() {
        Rng r = new Rng(7);
        int n = 200_000;
        double s = 0;
        double s2 = 0;
        for (int i = 0; i < n; i++) {
            double g = r.nextGaussian();
            s += g;
            s2 += g * g;
        }
        double mean = s / n;
        double var = s2 / n - mean * mean;
        // standard errors: mean 1/sqrt(n) = 0.0022, variance sqrt(2/n) = 0.0032; allow ~5 sigma
        assertEquals(0.0, mean, 0.012);
        assertEquals(1.0, var, 0.016);
    }
}
