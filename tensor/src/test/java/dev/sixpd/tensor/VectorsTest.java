package dev.sixpd.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
