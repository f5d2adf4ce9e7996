package dev.sixpd.nn;

import dev.sixpd.tensor.Rng;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Hand-worked examples of temperature, top-k and top-p filtering. */
class SamplerTest {
    private static final double TOL = 1e-12;

    /** Logits whose softmax at temperature 1 is exactly {@code p} (logits = ln p). */
    private static float[] logitsOf(double... p) {
        float[] l = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            l[i] = (float) Math.log(p[i]);
        }
        return l;
    }

    private static void near(double[] want, double[] got) {
        assertArrayEquals(want, got, 1e-6);
    }

    @Test
    void noFilterIsSoftmax() {
        near(new double[]{0.5, 0.3, 0.15, 0.05}, new Sampler(1, 0, 1).probabilities(logitsOf(0.5, 0.3, 0.15, 0.05), 0, 4));
    }

    @Test
    void temperatureSharpensAndFlattens() {
        // T = 0.5 squares the probabilities before renormalising: 0.25/0.34, 0.09/0.34
        double[] p = new Sampler(0.5, 0, 1).probabilities(logitsOf(0.5, 0.3, 0.2), 0, 3);
        near(new double[]{0.25 / 0.38, 0.09 / 0.38, 0.04 / 0.38}, p);
        // a very high temperature approaches uniform
        double[] u = new Sampler(1e6, 0, 1).probabilities(logitsOf(0.5, 0.3, 0.2), 0, 3);
        near(new double[]{1 / 3.0, 1 / 3.0, 1 / 3.0}, u);
    }

    @Test
    void topKKeepsTheKMostProbable() {
        double[] p = new Sampler(1, 2, 1).probabilities(logitsOf(0.1, 0.5, 0.15, 0.25), 0, 4);
        near(new double[]{0, 0.5 / 0.75, 0, 0.25 / 0.75}, p);
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        // sorted: 0.5, 0.25, 0.15, 0.1; cumulative 0.5, 0.75, 0.9 -> p = 0.7 keeps two, p = 0.75 keeps two, 0.76 three
        Sampler s70 = new Sampler(1, 0, 0.7);
        near(new double[]{0, 0.5 / 0.75, 0, 0.25 / 0.75}, s70.probabilities(logitsOf(0.1, 0.5, 0.15, 0.25), 0, 4));
        near(new double[]{0, 1, 0, 0}, new Sampler(1, 0, 0.4).probabilities(logitsOf(0.1, 0.5, 0.15, 0.25), 0, 4));
        near(new double[]{0, 0.5 / 0.9, 0.15 / 0.9, 0.25 / 0.9},
                new Sampler(1, 0, 0.8).probabilities(logitsOf(0.1, 0.5, 0.15, 0.25), 0, 4));
    }

    @Test
    void topPAppliesAfterTopKOnTheRenormalisedSurvivors() {
        // top-k 3 keeps 0.5, 0.25, 0.15 (sum 0.9) -> renormalised 0.556, 0.278, 0.167.
        // p = 0.8: 0.556 < 0.8, 0.556 + 0.278 = 0.833 >= 0.8 -> keep two. (Without top-k first, 0.75 < 0.8 would keep three.)
        double[] p = new Sampler(1, 3, 0.8).probabilities(logitsOf(0.1, 0.5, 0.15, 0.25), 0, 4);
        near(new double[]{0, 0.5 / 0.75, 0, 0.25 / 0.75}, p);
    }

    @Test
    void tiesBreakByLowerId() {
        double[] p = new Sampler(1, 1, 1).probabilities(new float[]{1, 3, 3, 2}, 0, 4);
        assertArrayEquals(new double[]{0, 1, 0, 0}, p, TOL);
    }

    @Test
    void zeroTemperatureIsGreedy() {
        assertArrayEquals(new double[]{0, 0, 1}, new Sampler(0, 0, 1).probabilities(new float[]{9, 1, 2, 3}, 1, 3), TOL);
    }

    @Test
    void drawFollowsTheDistributionAndIsSeeded() {
        Sampler s = new Sampler(1, 0, 1);
        float[] l = logitsOf(0.2, 0.3, 0.5);
        int[] counts = new int[3];
        Rng rng = new Rng(7);
        for (int i = 0; i < 20000; i++) {
            counts[s.sample(l, 0, 3, rng)]++;
        }
        assertEquals(0.2, counts[0] / 20000.0, 0.015);
        assertEquals(0.3, counts[1] / 20000.0, 0.015);
        assertEquals(0.5, counts[2] / 20000.0, 0.015);
        Rng a = new Rng(3);
        Rng b = new Rng(3);
        for (int i = 0; i < 100; i++) {
            assertEquals(s.sample(l, 0, 3, a), s.sample(l, 0, 3, b));
        }
        // filtered-out tokens are never drawn
        Sampler k1 = new Sampler(1, 1, 1);
        for (int i = 0; i < 100; i++) {
            assertEquals(2, k1.sample(l, 0, 3, a));
        }
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Sampler(-1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(1, 0, 1.5));
    }
}
