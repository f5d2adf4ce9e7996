package dev.sixpd.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Dropout's vector body against its scalar twin and against the one-element definition {@link Dropout#keep}. */
class DropoutTest {

    private static float[] random(int n, long seed) {
        float[] a = new float[n];
        new Rng(seed).fillNormal(a, 0, 1);
        return a;
    }

    @Test
    void vectorAndScalarGiveTheSameBitsAndFollowTheDefinition() {
        for (int n : new int[]{1, 7, 33, 1000, 4099}) {
            for (float p : new float[]{0f, 0.1f, 0.5f, 0.9f}) {
                for (long seed : new long[]{0, 1, -7, 0x123456789ABCDEFL}) {
                    float[] x = random(n, n + seed);
                    float[] v = new float[n];
                    float[] s = new float[n];
                    Dropout.forward(v, x, n, p, seed);
                    Dropout.forwardScalar(s, x, n, p, seed);
                    assertArrayEquals(s, v, "forward n=" + n + " p=" + p);
                    float scale = 1f / (1f - p);
                    for (int i = 0; i < n; i++) {
                        // the definition, element by element, in double
                        double want = Dropout.keep(seed, i, p) ? (double) x[i] * scale : 0;
                        assertEquals((float) want, s[i], "element " + i);
                    }
                    float[] d = random(n, 99);
                    float[] dv = random(n, 5);
                    float[] ds = dv.clone();
                    float[] base = dv.clone();
                    Dropout.backward(dv, d, n, p, seed);
                    Dropout.backwardScalar(ds, d, n, p, seed);
                    assertArrayEquals(ds, dv, "backward n=" + n + " p=" + p);
                    for (int i = 0; i < n; i++) {
                        float g = Dropout.keep(seed, i, p) ? d[i] * scale : 0f;
                        assertEquals(base[i] + g, ds[i], "backward accumulates through the forward's mask, " + i);
                    }
                }
            }
        }
    }

    @Test
    void keepsAboutOneMinusPAndSeedsGiveDifferentMasks() {
        int n = 200_000;
        float[] ones = new float[n];
        java.util.Arrays.fill(ones, 1f);
        float[] a = new float[n];
        float[] b = new float[n];
        Dropout.forward(a, ones, n, 0.3f, 11);
        Dropout.forward(b, ones, n, 0.3f, 12);
        int kept = 0;
        int same = 0;
        for (int i = 0; i < n; i++) {
            kept += a[i] != 0 ? 1 : 0;
            same += (a[i] != 0) == (b[i] != 0) ? 1 : 0;
        }
        // binomial: σ = √(n·0.21) ≈ 205; 5σ bounds
        assertEquals(0.7 * n, kept, 1025);
        // independent masks agree on 0.7² + 0.3² = 58 % of elements
        assertEquals(0.58 * n, same, 1200);
    }

    @Test
    void refusesABadProbability() {
        float[] x = new float[4];
        assertThrows(IllegalArgumentException.class, () -> Dropout.forward(x, x, 4, 1f, 0));
        assertThrows(IllegalArgumentException.class, () -> Dropout.forward(x, x, 4, -0.1f, 0));
    }
}
