package dev.sixpd.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class VectorsTest {
    /** Vectors.sum adds left to right, so its result is the same float before and after C2 compiles it. */
    @Test
    void sumAddsLanesLeftToRight() {
        Rng rng = new Rng(7);
        float[] x = new float[Vectors.LANES];
        for (int trial = 0; trial < 500_000; trial++) {
            for (int i = 0; i < x.length; i++) {
                // mixed magnitudes, so that a different order would round differently
                x[i] = (float) (rng.nextGaussian() * Math.pow(2, rng.nextInt(40) - 20));
            }
            float expected = x[0];
            for (int i = 1; i < x.length; i++) {
                expected += x[i];
            }
            // 500,000 calls: C2 compiles the call within the first ~50,000 (reduceLanes(ADD) then differs in ~40 %)
            assertEquals(Float.floatToRawIntBits(expected),
                    Float.floatToRawIntBits(Vectors.sum(FloatVector.fromArray(Vectors.SPECIES, x, 0))),
                    "trial " + trial);
        }
    }

    /** exp: vector lanes equal the scalar twin bit for bit, before and after JIT; within 2 ulp of the exact value. */
    @Test
    void expMatchesItsScalarTwinAndTheExactValue() {
        Rng rng = new Rng(8);
        float[] x = new float[Vectors.LANES];
        float[] y = new float[Vectors.LANES];
        double worstUlps = 0;
        for (int trial = 0; trial < 200_000; trial++) {
            for (int i = 0; i < x.length; i++) {
                x[i] = trial % 2 == 0 ? (float) (rng.nextDouble() * 220 - 115) : (float) rng.nextGaussian();
            }
            Vectors.exp(FloatVector.fromArray(Vectors.SPECIES, x, 0)).intoArray(y, 0);
            for (int i = 0; i < x.length; i++) {
                float s = Vectors.exp(x[i]);
                assertEquals(Float.floatToRawIntBits(s), Float.floatToRawIntBits(y[i]), "exp(" + x[i] + ")");
                double exact = Math.exp((double) x[i]);
                if (exact >= Float.MIN_NORMAL && exact <= Float.MAX_VALUE) {
                    worstUlps = Math.max(worstUlps, Math.abs(s - exact) / Math.ulp((float) exact));
                } else if (exact < Float.MIN_VALUE / 2) {
                    assertEquals(0f, s, "exp(" + x[i] + ") underflows to 0");
                } else if (exact > Float.MAX_VALUE * (1 + 0x1p-24)) {
                    assertEquals(Float.POSITIVE_INFINITY, s, "exp(" + x[i] + ") overflows");
                } else if (exact < Float.MIN_NORMAL) {
                    // subnormal results: absolute error within one subnormal step
                    assertTrue(Math.abs(s - exact) <= Float.MIN_VALUE, "exp(" + x[i] + ") = " + s + " vs " + exact);
                }
            }
        }
        assertTrue(worstUlps <= 2.0, "worst error " + worstUlps + " ulp");
    }

    @Test
    void expSpecialValues() {
        float[] x = {0f, -0f, 1f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, 88.72f, 88.73f,
            -87.33f, -103.9f, -104f, 1e-30f};
        float[] want = {1f, 1f, (float) Math.E, 0f, Float.POSITIVE_INFINITY, Float.NaN,
            (float) Math.exp(88.72f), Float.POSITIVE_INFINITY, (float) Math.exp(-87.33f), Float.MIN_VALUE, 0f, 1f};
        for (int i = 0; i < x.length; i++) {
            float got = Vectors.exp(x[i]);
            if (Float.isNaN(want[i])) {
                assertTrue(Float.isNaN(got), "exp(NaN)");
            } else {
                assertEquals(want[i], got, Math.ulp(want[i]) * 2, "exp(" + x[i] + ")");
            }
        }
    }
}
