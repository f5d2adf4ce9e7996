package dev.sixpd.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GradStatsTest {
    @Test
    void fp16ByHand() {
        float[] g = {
            0f, -0f, // zeros
            1e-8f, -2.9e-8f, 0x1p-25f, // flushed: at or below 2^-25 (the tie goes to 0)
            Math.nextUp(0x1p-25f), 1e-6f, -6e-5f, // subnormal (below 2^-14 = 6.1035e-5 after rounding)
            1e-3f, 6.1035e-5f, 65504f, -1f, // normal
            65520f, -1e5f, 3e38f, // overflow
            Float.NaN, Float.POSITIVE_INFINITY, // non-finite
        };
        GradStats s = GradStats.of(DType.FP16, g, 0, g.length);
        assertEquals(17, s.total());
        assertEquals(2, s.zeros());
        assertEquals(2, s.nonFinite());
        assertEquals(13, s.nonzero());
        assertEquals(3, s.flushed());
        assertEquals(3, s.subnormal());
        assertEquals(3, s.overflow());
        assertEquals(3.0 / 13, s.flushedFraction(), 1e-15);
        assertEquals(1, s.count(-27)); // 1e-8 = 1.34·2^-27
        assertEquals(1, s.count(-26)); // 2.9e-8
        assertEquals(2, s.count(-25)); // 2^-25 and just above
        assertEquals(1, s.count(0));
        assertEquals(2, s.count(15)); // 65504 and 65520: both below 2^16, one finite, one overflowing
        assertEquals(1, s.count(16)); // 1e5
        assertEquals(1, s.above()); // 3e38
        // with flush-to-zero every subnormal result is flushed as well
        GradStats f = new GradStats(DType.FP16, true);
        f.add(g, 0, g.length);
        assertEquals(6, f.flushed());
        assertEquals(0, f.subnormal());
        assertTrue(s.toString().contains("flushed 3"), s.toString());
    }

    @Test
    void thresholdsSitWhereRoundingChanges() {
        // FP16: 2^-25 rounds to 0, the next float up to 2^-24; 2^-14 - 2^-25 is a tie that rounds up to the
        // smallest normal, the float below it stays subnormal; 65520 overflows, the float below it does not
        expectClass(DType.FP16, false, 0x1p-25f, "flushed");
        expectClass(DType.FP16, false, Math.nextUp(0x1p-25f), "subnormal");
        expectClass(DType.FP16, false, 0x1p-14f - 0x1p-25f, "normal");
        expectClass(DType.FP16, false, Math.nextDown(0x1p-14f - 0x1p-25f), "subnormal");
        expectClass(DType.FP16, true, Math.nextDown(0x1p-14f - 0x1p-25f), "flushed");
        expectClass(DType.FP16, true, 0x1p-14f - 0x1p-25f, "normal");
        expectClass(DType.FP16, false, 65520f, "overflow");
        expectClass(DType.FP16, false, Math.nextDown(65520f), "normal");
        // BF16: the same landmarks at 2^-134, 2^-126 - 2^-134 and (2 - 2^-8)·2^127
        expectClass(DType.BF16, false, 0x1p-134f, "flushed");
        expectClass(DType.BF16, false, Math.nextUp(0x1p-134f), "subnormal");
        expectClass(DType.BF16, false, 0x1p-126f - 0x1p-134f, "normal");
        expectClass(DType.BF16, false, Math.nextDown(0x1p-126f - 0x1p-134f), "subnormal");
        float over = (float) ((2 - 0x1p-8) * 0x1p127);
        expectClass(DType.BF16, false, over, "overflow");
        expectClass(DType.BF16, false, Math.nextDown(over), "normal");
        // FP32: subnormals are subnormal, or flushed with ftz; nothing finite overflows
        expectClass(DType.FP32, false, Float.MIN_VALUE, "subnormal");
        expectClass(DType.FP32, true, Float.MIN_VALUE, "flushed");
        expectClass(DType.FP32, false, Float.MAX_VALUE, "normal");
    }

    @Test
    void matchesConvertingEveryValue() {
        Rng rng = new Rng(9);
        int n = 200_003;
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            int e = (i % 97 == 0) ? 255 : (i % 89 == 0) ? 0 : rng.nextInt(255);
            int m = (i % 83 == 0) ? 0 : (int) rng.nextLong() & 0x7F_FFFF;
            g[i] = Float.intBitsToFloat((int) (rng.nextLong() & 0x8000_0000) | e << 23 | m);
        }
        for (DType d : DType.values()) {
            for (boolean ftz : new boolean[] {false, true}) {
                for (float scale : new float[] {1f, 1024f, 0x1p16f, 0x1p-3f}) {
                    GradStats s = new GradStats(d, ftz);
                    // in two pieces, to exercise accumulation
                    s.add(g, 0, 1000, scale);
                    s.add(g, 1000, n - 1000, scale);
                    checkAgainstBruteForce(s, g, d, ftz, scale);
                }
            }
        }
    }

    @Test
    void mergeAndReset() {
        float[] g = {1e-9f, 1e-6f, 1f, 1e6f, 0f};
        GradStats a = GradStats.of(DType.FP16, g, 0, 2);
        GradStats b = GradStats.of(DType.FP16, g, 2, 3);
        a.merge(b);
        GradStats all = GradStats.of(DType.FP16, g, 0, 5);
        assertEquals(all.toString(), a.toString());
        assertArrayEquals(all.histogram(), a.histogram());
        a.reset();
        assertEquals(0, a.total());
        assertEquals(0, a.count(0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> all.merge(new GradStats(DType.BF16)));
        assertTrue(e.getMessage().contains("BF16") && e.getMessage().contains("FP16"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> all.count(GradStats.MAX_LOG2 + 1));
        assertThrows(IndexOutOfBoundsException.class, () -> all.add(g, 3, 3));
    }

    @Test
    void floorLog2IsExact() {
        assertEquals(-149, GradStats.floorLog2(Float.MIN_VALUE));
        assertEquals(-127, GradStats.floorLog2(0x1.fffffcp-127f));
        assertEquals(-126, GradStats.floorLog2(Float.MIN_NORMAL));
        assertEquals(0, GradStats.floorLog2(1.999f));
        assertEquals(-1, GradStats.floorLog2(-0.75f));
        assertEquals(127, GradStats.floorLog2(Float.MAX_VALUE));
        Rng rng = new Rng(3);
        for (int i = 0; i < 100_000; i++) {
            float x = Float.intBitsToFloat((int) rng.nextLong() & 0x7F7F_FFFF | 1);
            assertEquals(Math.getExponent((double) x), GradStats.floorLog2(x), () -> "x=" + x);
        }
    }

    private static void expectClass(DType d, boolean ftz, float x, String what) {
        GradStats s = new GradStats(d, ftz);
        s.add(new float[] {x, -x}, 0, 2);
        long expected = 2;
        String got = s.flushed() == expected ? "flushed" : s.subnormal() == expected ? "subnormal"
                : s.overflow() == expected ? "overflow"
                : s.flushed() + s.subnormal() + s.overflow() == 0 ? "normal" : "mixed";
        assertEquals(what, got, () -> d + (ftz ? " ftz" : "") + " of " + x + ": " + s);
    }

    /** The same statistics by converting every value with {@link Half} and classifying the result. */
    private static void checkAgainstBruteForce(GradStats s, float[] g, DType d, boolean ftz, float scale) {
        double minNormal = Formats.of(d).smallestNormal();
        long zeros = 0;
        long nonFinite = 0;
        long flushed = 0;
        long subnormal = 0;
        long overflow = 0;
        long above = 0;
        long[] hist = new long[GradStats.MAX_LOG2 - GradStats.MIN_LOG2 + 1];
        for (float x : g) {
            if (!Float.isFinite(x)) {
                nonFinite++;
                continue;
            }
            if (x == 0) {
                zeros++;
                continue;
            }
            float v = x * scale;
            float r = d == DType.FP32 ? (ftz && Math.abs(v) < Float.MIN_NORMAL ? 0f : v) : Half.round(d, v, ftz);
            if (r == 0) {
                flushed++;
            } else if (Math.abs(r) < minNormal) {
                subnormal++;
            } else if (Float.isInfinite(r)) {
                overflow++;
            }
            int e = Math.getExponent((double) (v == 0 ? x : v));
            if (e > GradStats.MAX_LOG2) {
                above++;
            } else {
                hist[e - GradStats.MIN_LOG2]++;
            }
        }
        String what = d + (ftz ? " ftz" : "") + " scale " + scale;
        assertEquals(g.length, s.total(), what);
        assertEquals(zeros, s.zeros(), what);
        assertEquals(nonFinite, s.nonFinite(), what);
        assertEquals(flushed, s.flushed(), what);
        assertEquals(subnormal, s.subnormal(), what);
        assertEquals(overflow, s.overflow(), what);
        assertEquals(above, s.above(), what);
        assertArrayEquals(hist, s.histogram(), what);
        if (scale == 1f && (d != DType.FP32 || ftz)) {
            assertTrue(flushed > 0 && subnormal + overflow > 0 || d == DType.FP32, what); // the data reach the cases
        }
    }
}
