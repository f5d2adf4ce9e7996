package dev.sixpd.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.math.BigDecimal;
import org.junit.jupiter.api.Test;

/**
 * Bit-exact tests of {@link Half}.
 *
 * <p>NaN rule checked throughout: a NaN converts to a NaN with the same sign, the quiet bit set, and the top
 * payload bits that fit (FP16 → FP32 and BF16 → FP32 keep the whole payload; FP32 → FP16 keeps the top 9 bits below
 * the quiet bit, FP32 → BF16 the top 6). So every non-NaN 16-bit pattern round-trips exactly, and a NaN pattern comes
 * back as itself with the quiet bit set (quiet NaNs: exactly).
 *
 * <p>References: the JDK's {@link Float#floatToFloat16} / {@link Float#float16ToFloat} for FP16 (on x86 the JIT
 * uses the F16C instructions), a table reference written here that rounds by the definition (nearest of the two
 * neighbouring representable values, ties to the even pattern, Inf treated as the next value 2^(emax+1)) for both
 * formats, and an exact BigDecimal reference for boundary values and a random sample.
 */
class HalfTest {
    private static final int FP16_QUIET = 0x0200;
    private static final int BF16_QUIET = 0x0040;

    // -------------------------------------------------------------------------------------------------------------
    // All 65,536 patterns
    // -------------------------------------------------------------------------------------------------------------

    @Test
    void everyFp16PatternDecodesLikeTheJdkAndRoundTrips() {
        short[] all = new short[65536];
        for (int p = 0; p < 65536; p++) {
            final int h = p;
            all[h] = (short) h;
            boolean nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0;
            float f = Half.fp16ToFloat((short) h);
            int bits = Float.floatToRawIntBits(f);
            if (nan) {
                int expected = ((h & 0x8000) << 16) | 0x7F80_0000 | ((h & 0x3FF) << 13) | 0x0040_0000;
                assertEquals(expected, bits, () -> "NaN pattern " + hex16(h));
                assertEquals(h | FP16_QUIET, Half.floatToFp16(f) & 0xFFFF, () -> "NaN pattern " + hex16(h));
            } else {
                assertEquals(Float.floatToRawIntBits(Float.float16ToFloat((short) h)), bits,
                        () -> "pattern " + hex16(h));
                assertEquals(h, Half.floatToFp16(f) & 0xFFFF, () -> "pattern " + hex16(h));
            }
        }
        // the bulk paths over the same patterns agree with the scalar ones, with and without ftz
        for (boolean ftz : new boolean[] {false, true}) {
            float[] v = new float[65536];
            float[] s = new float[65536];
            Half.fromFp16(v, 0, all, 0, 65536, ftz);
            Half.fromFp16Scalar(s, 0, all, 0, 65536, ftz);
            assertBitsEqual(s, v, "fromFp16 ftz=" + ftz);
            short[] back = new short[65536];
            short[] backScalar = new short[65536];
            Half.toFp16(back, 0, v, 0, 65536, ftz);
            Half.toFp16Scalar(backScalar, 0, v, 0, 65536, ftz);
            assertArrayEquals(backScalar, back, "toFp16 ftz=" + ftz);
            for (int h = 0; h < 65536; h++) {
                assertEquals(Float.floatToRawIntBits(Half.fp16ToFloat((short) h, ftz)), Float.floatToRawIntBits(s[h]));
            }
        }
    }

    @Test
    void everyBf16PatternIsTheTopHalfOfAnFp32AndRoundTrips() {
        short[] all = new short[65536];
        for (int p = 0; p < 65536; p++) {
            final int h = p;
            all[h] = (short) h;
            boolean nan = (h & 0x7F80) == 0x7F80 && (h & 0x7F) != 0;
            float f = Half.bf16ToFloat((short) h);
            int bits = Float.floatToRawIntBits(f);
            if (nan) {
                assertEquals((h << 16) | 0x0040_0000, bits, () -> "NaN pattern " + hex16(h));
                assertEquals(h | BF16_QUIET, Half.floatToBf16(f) & 0xFFFF, () -> "NaN pattern " + hex16(h));
            } else {
                assertEquals(h << 16, bits, () -> "pattern " + hex16(h));
                assertEquals(h, Half.floatToBf16(f) & 0xFFFF, () -> "pattern " + hex16(h));
            }
        }
        for (boolean ftz : new boolean[] {false, true}) {
            float[] v = new float[65536];
            float[] s = new float[65536];
            Half.fromBf16(v, 0, all, 0, 65536, ftz);
            Half.fromBf16Scalar(s, 0, all, 0, 65536, ftz);
            assertBitsEqual(s, v, "fromBf16 ftz=" + ftz);
            short[] back = new short[65536];
            short[] backScalar = new short[65536];
            Half.toBf16(back, 0, v, 0, 65536, ftz);
            Half.toBf16Scalar(backScalar, 0, v, 0, 65536, ftz);
            assertArrayEquals(backScalar, back, "toBf16 ftz=" + ftz);
        }
    }

    // -------------------------------------------------------------------------------------------------------------
    // Boundary cases, by hand
    // -------------------------------------------------------------------------------------------------------------

    @Test
    void fp16BoundaryCases() {
        float minSub = 0x1p-24f;
        float minNormal = 0x1p-14f;
        // largest finite and overflow: 65504 = (2 - 2^-10)·2^15; 65520 is halfway to 2^16 and ties away to Inf
        expectFp16(65504f, 0x7BFF);
        expectFp16(Math.nextDown(65520f), 0x7BFF);
        expectFp16(65520f, 0x7C00);
        expectFp16(-65520f, 0xFC00);
        expectFp16(65536f, 0x7C00);
        expectFp16(Float.MAX_VALUE, 0x7C00);
        expectFp16(Float.POSITIVE_INFINITY, 0x7C00);
        expectFp16(Float.NEGATIVE_INFINITY, 0xFC00);
        expectFp16(Math.nextUp(65504f), 0x7BFF);
        // top binade, ulp 32: 65440 = 0x7BFD, 65472 = 0x7BFE, 65504 = 0x7BFF; midpoints go to the even pattern
        expectFp16(65504f - 16f, 0x7BFE);
        expectFp16(65504f - 48f, 0x7BFE);
        expectFp16(Math.nextUp(65504f - 48f), 0x7BFE);
        expectFp16(Math.nextDown(65504f - 48f), 0x7BFD);
        // ties to even in the normal range: around 1 (ulp 2^-10) and 2048 (ulp 2)
        expectFp16(1f, 0x3C00);
        expectFp16(1f + 0x1p-11f, 0x3C00);
        expectFp16(Math.nextUp(1f + 0x1p-11f), 0x3C01);
        expectFp16(Math.nextDown(1f + 0x1p-11f), 0x3C00);
        expectFp16(1f + 3 * 0x1p-11f, 0x3C02);
        expectFp16(2049f, 0x6800);
        expectFp16(2051f, 0x6802);
        expectFp16(Math.nextDown(2.0f), 0x4000); // 2 - 2^-23 rounds up across the binade
        // smallest normal 2^-14 and the subnormal boundary
        expectFp16(minNormal, 0x0400);
        expectFp16(Math.nextDown(minNormal), 0x0400);
        expectFp16(minNormal - minSub, 0x03FF);
        expectFp16(minNormal - minSub / 2, 0x0400); // tie between 0x3FF (odd) and 0x400 (even)
        expectFp16(Math.nextDown(minNormal - minSub / 2), 0x03FF);
        expectFp16(minNormal - 1.5f * minSub, 0x03FE); // tie between 0x3FE and 0x3FF
        // smallest subnormal 2^-24 and the flush to zero below half of it
        expectFp16(minSub, 0x0001);
        expectFp16(-minSub, 0x8001);
        expectFp16(minSub / 2, 0x0000); // tie between 0 and 2^-24: 0 is even
        expectFp16(-minSub / 2, 0x8000);
        expectFp16(Math.nextUp(minSub / 2), 0x0001);
        expectFp16(Math.nextDown(minSub / 2), 0x0000);
        expectFp16(1.5f * minSub, 0x0002);
        expectFp16(2.5f * minSub, 0x0002);
        expectFp16(Math.nextUp(2.5f * minSub), 0x0003);
        expectFp16(Float.MIN_VALUE, 0x0000);
        expectFp16(-Float.MIN_VALUE, 0x8000);
        expectFp16(Float.MIN_NORMAL, 0x0000);
        // signed zeros
        expectFp16(0f, 0x0000);
        expectFp16(-0f, 0x8000);
        // NaNs: quiet bit set, sign and top payload kept
        expectFp16Bits(0x7FC0_0000, 0x7E00);
        expectFp16Bits(0xFFC0_0000, 0xFE00);
        expectFp16Bits(0x7F80_0001, 0x7E00); // signalling, payload only in dropped bits: still a NaN
        expectFp16Bits(0x7FA0_0000, 0x7F00);
        expectFp16Bits(0x7F80_2000, 0x7E01);
        expectFp16Bits(0xFFFF_FFFF, 0xFFFF);
        // decode: the same landmarks
        assertEquals(65504f, Half.fp16ToFloat((short) 0x7BFF));
        assertEquals(minNormal, Half.fp16ToFloat((short) 0x0400));
        assertEquals(minSub, Half.fp16ToFloat((short) 0x0001));
        assertEquals(minNormal - minSub, Half.fp16ToFloat((short) 0x03FF));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Half.fp16ToFloat((short) 0x8000)));
        assertEquals(Float.NEGATIVE_INFINITY, Half.fp16ToFloat((short) 0xFC00));
    }

    @Test
    void bf16BoundaryCases() {
        float max = Half.bf16ToFloat((short) 0x7F7F);
        assertEquals((2 - 0x1p-7) * 0x1p127, max, 0.0);
        float overflow = (float) ((2 - 0x1p-8) * 0x1p127); // max + half an ulp
        expectBf16(max, 0x7F7F);
        expectBf16(Math.nextDown(overflow), 0x7F7F);
        expectBf16(overflow, 0x7F80);
        expectBf16(-overflow, 0xFF80);
        expectBf16(Float.MAX_VALUE, 0x7F80);
        expectBf16(Float.POSITIVE_INFINITY, 0x7F80);
        expectBf16(Float.NEGATIVE_INFINITY, 0xFF80);
        // ties to even around 1 (ulp 2^-7)
        expectBf16(1f, 0x3F80);
        expectBf16(1f + 0x1p-8f, 0x3F80);
        expectBf16(Math.nextUp(1f + 0x1p-8f), 0x3F81);
        expectBf16(1f + 3 * 0x1p-8f, 0x3F82);
        expectBf16(Math.nextDown(2f), 0x4000);
        // smallest normal 2^-126, subnormals down to 2^-133
        expectBf16(0x1p-126f, 0x0080);
        expectBf16(Math.nextDown(0x1p-126f), 0x0080);
        expectBf16(0x1p-126f - 0x1p-133f, 0x007F);
        expectBf16(0x1p-126f - 0x1p-134f, 0x0080); // tie: 0x7F odd, 0x80 even
        expectBf16(0x1p-133f, 0x0001);
        expectBf16(0x1p-134f, 0x0000); // tie between 0 and 2^-133
        expectBf16(Math.nextUp(0x1p-134f), 0x0001);
        expectBf16(3 * 0x1p-134f, 0x0002);
        expectBf16(-0x1p-133f, 0x8001);
        expectBf16(Float.MIN_VALUE, 0x0000);
        expectBf16(-Float.MIN_VALUE, 0x8000);
        expectBf16(0f, 0x0000);
        expectBf16(-0f, 0x8000);
        expectBf16Bits(0x7FC0_0000, 0x7FC0);
        expectBf16Bits(0xFFC0_0000, 0xFFC0);
        expectBf16Bits(0x7F80_0001, 0x7FC0); // signalling with payload only in dropped bits
        expectBf16Bits(0x7F81_0000, 0x7FC1);
        assertEquals(0x1p-133f, Half.bf16ToFloat((short) 0x0001));
        assertEquals(0x1p-126f, Half.bf16ToFloat((short) 0x0080));
    }

    @Test
    void flushToZero() {
        // FP16: subnormal results become signed zeros; results that round up to the smallest normal stay
        assertEquals(0x0000, Half.floatToFp16(0x1p-24f, true) & 0xFFFF);
        assertEquals(0x8000, Half.floatToFp16(-0x1p-24f, true) & 0xFFFF);
        assertEquals(0x0000, Half.floatToFp16(0x1p-14f - 0x1p-24f, true) & 0xFFFF);
        assertEquals(0x0400, Half.floatToFp16(Math.nextDown(0x1p-14f), true) & 0xFFFF);
        assertEquals(0x0400, Half.floatToFp16(0x1p-14f, true) & 0xFFFF);
        assertEquals(0x7C00, Half.floatToFp16(1e6f, true) & 0xFFFF);
        assertEquals(0x7E00, Half.floatToFp16(Float.NaN, true) & 0xFFFF);
        // FP16 subnormal inputs read as signed zeros, normals unchanged
        assertEquals(Float.floatToRawIntBits(0f), Float.floatToRawIntBits(Half.fp16ToFloat((short) 0x0001, true)));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Half.fp16ToFloat((short) 0x83FF, true)));
        assertEquals(0x1p-14f, Half.fp16ToFloat((short) 0x0400, true));
        // BF16 the same
        assertEquals(0x0000, Half.floatToBf16(0x1p-133f, true) & 0xFFFF);
        assertEquals(0x8000, Half.floatToBf16(-0x1p-127f, true) & 0xFFFF);
        assertEquals(0x0080, Half.floatToBf16(Math.nextDown(0x1p-126f), true) & 0xFFFF);
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Half.bf16ToFloat((short) 0x8001, true)));
        assertEquals(0x1p-126f, Half.bf16ToFloat((short) 0x0080, true));
        // without ftz nothing is flushed
        assertEquals(0x0001, Half.floatToFp16(0x1p-24f, false) & 0xFFFF);
        assertEquals(0x0001, Half.floatToBf16(0x1p-133f, false) & 0xFFFF);
        // every FP32 pattern in the FP16 subnormal range flushes with ftz and agrees with the plain result
        // when that result is normal
        Rng rng = new Rng(11);
        for (int k = 0; k < 200_000; k++) {
            int bits = randomPattern(rng, k, k % 2 == 0 ? 13 : 16, k % 2 == 0 ? 100 : 0, k % 2 == 0 ? 114 : 8);
            float f = Float.intBitsToFloat(bits);
            for (boolean fp16 : new boolean[] {true, false}) {
                int plain = (fp16 ? Half.floatToFp16(f) : Half.floatToBf16(f)) & 0xFFFF;
                int flushed = (fp16 ? Half.floatToFp16(f, true) : Half.floatToBf16(f, true)) & 0xFFFF;
                int expMask = fp16 ? 0x7C00 : 0x7F80;
                int expected = (plain & expMask) == 0 ? plain & 0x8000 : plain;
                assertEquals(expected, flushed, () -> "ftz of " + hex32(bits));
            }
        }
    }

    // -------------------------------------------------------------------------------------------------------------
    // Millions of random FP32 patterns against independent references
    // -------------------------------------------------------------------------------------------------------------

    @Test
    void fp16MatchesTheJdkOnRandomAndExhaustiveBinades() {
        Rng rng = new Rng(1);
        int n = 1 << 24;
        for (int k = 0; k < n; k++) {
            checkFp16AgainstJdk(randomPattern(rng, k, 13, 102, 143));
        }
        // every FP32 in the binades where FP16's rounding changes character: first nonzero results (2^-25),
        // last subnormal binade (2^-15), first normal (2^-14), top binade (2^15, overflow at 65520)
        for (int e : new int[] {102, 112, 113, 142}) {
            for (int m = 0; m < (1 << 23); m++) {
                checkFp16AgainstJdk((e << 23) | m);
            }
        }
    }

    @Test
    void bf16MatchesTheNeighbourReferenceOnRandomPatterns() {
        Rng rng = new Rng(2);
        int n = 1 << 24;
        for (int k = 0; k < n; k++) {
            int bits = randomPattern(rng, k, 16, 0, 255);
            float f = Float.intBitsToFloat(bits);
            int got = Half.floatToBf16(f) & 0xFFFF;
            if (Float.isNaN(f)) {
                assertNaNKept(bits, got, 0x7F80, BF16_QUIET);
            } else if (got != bf16ByNeighbours(bits)) {
                fail("BF16 of " + hex32(bits) + ": got " + hex16(got) + ", reference " + hex16(bf16ByNeighbours(bits)));
            }
        }
    }

    @Test
    void bf16MatchesTheTableReferenceOnRandomPatterns() {
        Table t = Table.BF16;
        Rng rng = new Rng(12);
        int n = 1 << 20;
        for (int k = 0; k < n; k++) {
            int bits = randomPattern(rng, k, 16, 0, 255);
            float f = Float.intBitsToFloat(bits);
            int got = Half.floatToBf16(f) & 0xFFFF;
            if (Float.isNaN(f)) {
                assertNaNKept(bits, got, 0x7F80, BF16_QUIET);
            } else if (got != t.nearest(f)) {
                fail("BF16 of " + hex32(bits) + ": got " + hex16(got) + ", reference " + hex16(t.nearest(f)));
            }
        }
    }

    /**
     * BF16 by its two neighbours: the BF16 patterns just below and above |x| are the FP32 pattern truncated to 16
     * bits and that plus one (patterns are ordered like magnitudes, across binades too; one past the largest
     * finite is Inf, standing for 2^128). Pick the nearer by exact double differences, ties to the even pattern.
     */
    private static int bf16ByNeighbours(int bits) {
        int sign = (bits >>> 16) & 0x8000;
        int mag = bits & 0x7FFF_FFFF;
        int lo = mag >>> 16;
        if ((mag & 0xFFFF) == 0) {
            return sign | lo; // exactly representable (Inf included)
        }
        int hi = lo + 1;
        double x = Float.intBitsToFloat(mag);
        double loValue = Float.intBitsToFloat(lo << 16);
        double hiValue = hi == 0x7F80 ? 0x1p128 : Float.intBitsToFloat(hi << 16);
        double down = x - loValue;
        double up = hiValue - x;
        return sign | (down < up ? lo : up < down ? hi : (lo & 1) == 0 ? lo : hi);
    }

    @Test
    void fp16MatchesTheTableReferenceOnRandomPatterns() {
        Table t = Table.FP16;
        Rng rng = new Rng(3);
        int n = 1 << 22;
        for (int k = 0; k < n; k++) {
            int bits = randomPattern(rng, k, 13, 102, 143);
            float f = Float.intBitsToFloat(bits);
            int got = Half.floatToFp16(f) & 0xFFFF;
            if (Float.isNaN(f)) {
                assertNaNKept(bits, got, 0x7C00, FP16_QUIET);
            } else if (got != t.nearest(f)) {
                fail("FP16 of " + hex32(bits) + ": got " + hex16(got) + ", reference " + hex16(t.nearest(f)));
            }
        }
    }

    @Test
    void bothMatchAnExactBigDecimalReference() {
        Rng rng = new Rng(4);
        for (int k = 0; k < 50_000; k++) {
            float f = Float.intBitsToFloat(randomPattern(rng, k, 13, 100, 145));
            if (Float.isNaN(f)) {
                continue;
            }
            assertEquals(bigDecimalNearest(Table.FP16, f), Half.floatToFp16(f) & 0xFFFF, () -> "FP16 " + f);
            float g = Float.intBitsToFloat(randomPattern(rng, k, 16, 0, 255));
            if (!Float.isNaN(g)) {
                assertEquals(bigDecimalNearest(Table.BF16, g), Half.floatToBf16(g) & 0xFFFF, () -> "BF16 " + g);
            }
        }
        // and on every representable value's neighbourhood: the value, the midpoints to its neighbours, and the
        // FP32 numbers just beside those midpoints
        for (Table t : new Table[] {Table.FP16, Table.BF16}) {
            for (int p = 0; p < t.values.length - 1; p++) {
                double mid = (t.values[p] + t.values[p + 1]) / 2;
                float m = (float) mid;
                if ((double) m != mid) {
                    continue; // midpoint not an FP32 (happens only above FP32's range)
                }
                for (float f : new float[] {(float) t.values[p], m, Math.nextUp(m), Math.nextDown(m)}) {
                    if (Float.isInfinite(f)) {
                        continue;
                    }
                    int expected = bigDecimalNearest(t, f);
                    int got = (t == Table.FP16 ? Half.floatToFp16(f) : Half.floatToBf16(f)) & 0xFFFF;
                    assertEquals(expected, got, () -> t.name + " of " + hex32(Float.floatToRawIntBits(f)));
                    assertEquals(expected | 0x8000, (t == Table.FP16 ? Half.floatToFp16(-f)
                            : Half.floatToBf16(-f)) & 0xFFFF);
                }
            }
        }
    }

    // -------------------------------------------------------------------------------------------------------------
    // Vector path == scalar path
    // -------------------------------------------------------------------------------------------------------------

    @Test
    void vectorPathsEqualScalarTwinsBitForBit() {
        Rng rng = new Rng(5);
        int[] lengths = {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 127, 1000, 4099};
        for (int n : lengths) {
            for (int off : new int[] {0, 1, 3}) {
                float[] src = new float[n + off + 2];
                for (int i = 0; i < src.length; i++) {
                    src[i] = Float.intBitsToFloat(randomPattern(rng, i, i % 2 == 0 ? 13 : 16, 95, 150));
                }
                for (boolean ftz : new boolean[] {false, true}) {
                    String what = " n=" + n + " off=" + off + " ftz=" + ftz;
                    short[] v = new short[n + 5];
                    short[] s = new short[n + 5];
                    Half.toFp16(v, 2, src, off, n, ftz);
                    Half.toFp16Scalar(s, 2, src, off, n, ftz);
                    assertArrayEquals(s, v, "toFp16" + what);
                    float[] fv = new float[n + 4];
                    float[] fs = new float[n + 4];
                    Half.fromFp16(fv, 1, s, 2, n, ftz);
                    Half.fromFp16Scalar(fs, 1, s, 2, n, ftz);
                    assertBitsEqual(fs, fv, "fromFp16" + what);

                    Half.toBf16(v, 2, src, off, n, ftz);
                    Half.toBf16Scalar(s, 2, src, off, n, ftz);
                    assertArrayEquals(s, v, "toBf16" + what);
                    Half.fromBf16(fv, 1, s, 2, n, ftz);
                    Half.fromBf16Scalar(fs, 1, s, 2, n, ftz);
                    assertBitsEqual(fs, fv, "fromBf16" + what);

                    float[] rv = src.clone();
                    float[] rs = src.clone();
                    Half.roundToFp16(rv, off, n, ftz);
                    Half.roundToFp16Scalar(rs, off, n, ftz);
                    assertBitsEqual(rs, rv, "roundToFp16" + what);
                    for (int i = 0; i < src.length; i++) {
                        float expected = i >= off && i < off + n ? Half.roundFp16(src[i], ftz) : src[i];
                        assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(rs[i]));
                    }
                    rv = src.clone();
                    rs = src.clone();
                    Half.roundToBf16(rv, off, n, ftz);
                    Half.roundToBf16Scalar(rs, off, n, ftz);
                    assertBitsEqual(rs, rv, "roundToBf16" + what);
                    for (int i = 0; i < src.length; i++) {
                        float expected = i >= off && i < off + n ? Half.roundBf16(src[i], ftz) : src[i];
                        assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(rs[i]));
                    }
                }
            }
        }
    }

    @Test
    void vectorPathsOnManyRandomPatterns() {
        Rng rng = new Rng(6);
        int n = 1 << 18;
        float[] src = new float[n + 3];
        for (int i = 0; i < src.length; i++) {
            src[i] = Float.intBitsToFloat(randomPattern(rng, i, i % 2 == 0 ? 13 : 16, 95, 150));
        }
        short[] v = new short[n];
        short[] s = new short[n];
        Half.toFp16(v, 0, src, 3, n);
        Half.toFp16Scalar(s, 0, src, 3, n, false);
        assertArrayEquals(s, v);
        Half.toBf16(v, 0, src, 3, n);
        Half.toBf16Scalar(s, 0, src, 3, n, false);
        assertArrayEquals(s, v);
        float[] rv = src.clone();
        float[] rs = src.clone();
        Half.roundToFp16(rv, 1, n);
        Half.roundToFp16Scalar(rs, 1, n, false);
        assertBitsEqual(rs, rv, "roundToFp16");
    }

    @Test
    void roundToDispatchesByDtype() {
        float[] x = {1f + 0x1p-9f, 1f + 0x1p-12f, 70000f};
        float[] y = x.clone();
        Half.roundTo(DType.FP32, y, 0, 3, false);
        assertArrayEquals(x, y);
        Half.roundTo(DType.FP16, y, 0, 3, false);
        assertArrayEquals(new float[] {1f + 0x1p-9f, 1f, Float.POSITIVE_INFINITY}, y);
        y = x.clone();
        Half.roundTo(DType.BF16, y, 0, 3, false);
        assertArrayEquals(new float[] {1f, 1f, 70144f}, y);
        assertEquals(1f, Half.round(DType.BF16, 1f + 0x1p-9f, false));
    }

    @Test
    void badRangesNameTheProblem() {
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                () -> Half.toFp16(new short[4], 0, new float[8], 2, 7));
        assertTrue(e.getMessage().contains("n=7"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> Half.roundToBf16(new float[4], -1, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> Half.fromBf16(new float[4], 0, new short[4], 0, -1));
    }

    /**
     * Whole blocks of 2^20 consecutive FP32 patterns, scalar against the references and vector against scalar (with
     * and without ftz): by default the blocks where the rounding changes character (FP16 flush, subnormal/normal
     * edge, overflow; BF16 subnormal/normal edge, overflow; the NaNs), each for both signs. With
     * {@code -Dsixpd.exhaustive=true} all 2^32 patterns (a few minutes): {@code mvn -B -q -pl tensor test
     * -Dtest=HalfTest#wholeBlocksOfFp32Patterns -Dsixpd.exhaustive=true}.
     */
    @Test
    void wholeBlocksOfFp32Patterns() {
        long[] bases;
        if (Boolean.getBoolean("sixpd.exhaustive")) {
            bases = new long[4096];
            for (int k = 0; k < bases.length; k++) {
                bases[k] = (long) k << 20;
            }
        } else {
            long[] positive = {0x0000_0000L, 0x0070_0000L, 0x0080_0000L, 0x3300_0000L, 0x3870_0000L, 0x3880_0000L,
                0x4770_0000L, 0x7F70_0000L, 0x7F80_0000L, 0x7FC0_0000L};
            bases = new long[2 * positive.length];
            for (int k = 0; k < positive.length; k++) {
                bases[2 * k] = positive[k];
                bases[2 * k + 1] = positive[k] | 0x8000_0000L;
            }
        }
        int chunk = 1 << 20;
        float[] x = new float[chunk];
        short[] v = new short[chunk];
        short[] s = new short[chunk];
        float[] rv = new float[chunk];
        float[] rs = new float[chunk];
        for (long base : bases) {
            for (int i = 0; i < chunk; i++) {
                int bits = (int) (base + i);
                x[i] = Float.intBitsToFloat(bits);
                checkFp16AgainstJdk(bits);
                int b = Half.floatToBf16(x[i]) & 0xFFFF;
                if (Float.isNaN(x[i])) {
                    assertNaNKept(bits, b, 0x7F80, BF16_QUIET);
                } else if (b != bf16ByNeighbours(bits)) {
                    fail("BF16 of " + hex32(bits) + ": got " + hex16(b) + ", reference " + hex16(bf16ByNeighbours(bits)));
                }
            }
            for (boolean ftz : new boolean[] {false, true}) {
                String what = " from " + hex32((int) base) + " ftz=" + ftz;
                Half.toFp16(v, 0, x, 0, chunk, ftz);
                Half.toFp16Scalar(s, 0, x, 0, chunk, ftz);
                assertArrayEquals(s, v, "toFp16" + what);
                Half.toBf16(v, 0, x, 0, chunk, ftz);
                Half.toBf16Scalar(s, 0, x, 0, chunk, ftz);
                assertArrayEquals(s, v, "toBf16" + what);
                System.arraycopy(x, 0, rv, 0, chunk);
                System.arraycopy(x, 0, rs, 0, chunk);
                Half.roundToFp16(rv, 0, chunk, ftz);
                Half.roundToFp16Scalar(rs, 0, chunk, ftz);
                assertBitsEqual(rs, rv, "roundToFp16" + what);
                System.arraycopy(x, 0, rv, 0, chunk);
                System.arraycopy(x, 0, rs, 0, chunk);
                Half.roundToBf16(rv, 0, chunk, ftz);
                Half.roundToBf16Scalar(rs, 0, chunk, ftz);
                assertBitsEqual(rs, rv, "roundToBf16" + what);
            }
        }
    }

    // -------------------------------------------------------------------------------------------------------------
    // Helpers and references
    // -------------------------------------------------------------------------------------------------------------

    /**
     * A random FP32 pattern. A quarter uniform over all 2^32 patterns; a quarter with the exponent in [eLo, eHi]
     * (where the 16-bit format's interesting cases live); a quarter exactly on a rounding tie (the dropped
     * {@code drop} low bits = 100...0); a quarter one FP32 ulp beside a tie.
     */
    static int randomPattern(Rng rng, int k, int drop, int eLo, int eHi) {
        int bits = (int) rng.nextLong();
        int mode = k & 3;
        if (mode == 0) {
            return bits;
        }
        int e = eLo + rng.nextInt(eHi - eLo + 1);
        bits = (bits & 0x807F_FFFF) | (e << 23);
        if (mode >= 2) {
            int low = (1 << drop) - 1;
            bits = (bits & ~low) | (1 << (drop - 1));
            if (mode == 3) {
                bits += (rng.nextLong() & 1) == 0 ? 1 : -1;
            }
        }
        return bits;
    }

    private static void checkFp16AgainstJdk(int bits) {
        float f = Float.intBitsToFloat(bits);
        int got = Half.floatToFp16(f) & 0xFFFF;
        if (Float.isNaN(f)) {
            assertNaNKept(bits, got, 0x7C00, FP16_QUIET);
            return;
        }
        int jdk = Float.floatToFloat16(f) & 0xFFFF;
        if (got != jdk) {
            fail("FP16 of " + hex32(bits) + " (" + f + "): got " + hex16(got) + ", JDK " + hex16(jdk));
        }
    }

    private static void assertNaNKept(int bits, int got, int expMask, int quiet) {
        boolean ok = (got & expMask) == expMask && (got & quiet) != 0 && (got & 0x8000) == (bits >>> 16 & 0x8000);
        if (!ok) {
            fail("NaN " + hex32(bits) + " became " + hex16(got) + ": want a quiet NaN with the same sign");
        }
    }

    /** The representable finite non-negative values of a 16-bit format, ascending with the bit pattern. */
    private static final class Table {
        static final Table FP16 = new Table("FP16", 0x7C00, 0x1p16, Half::fp16ToFloat);
        static final Table BF16 = new Table("BF16", 0x7F80, 0x1p128, Half::bf16ToFloat);

        final String name;
        final int infPattern;
        /** values[p] = value of pattern p for p < infPattern; values[infPattern] = 2^(emax+1), Inf's stand-in. */
        final double[] values;

        interface Decode {
            float apply(short h);
        }

        /** {@code next} = 2^(emax+1): where the binade after the largest finite would start. */
        Table(String name, int infPattern, double next, Decode decode) {
            this.name = name;
            this.infPattern = infPattern;
            values = new double[infPattern + 1];
            for (int p = 0; p < infPattern; p++) {
                // the decoder is itself checked against the JDK (FP16) and the bit layout (BF16) above
                values[p] = decode.apply((short) p);
            }
            // IEEE rounds as if the exponent were unbounded, and rounds to Inf whatever would round to 2^(emax+1)
            values[infPattern] = next;
        }

        private BigDecimal[] exact;

        /** {@link #values} as exact decimals (BigDecimal(double) is exact), made once. */
        synchronized BigDecimal[] exact() {
            if (exact == null) {
                exact = new BigDecimal[values.length];
                for (int p = 0; p < values.length; p++) {
                    exact[p] = new BigDecimal(values[p]);
                }
            }
            return exact;
        }

        /** Round to nearest by the definition: the closer neighbour, ties to the even pattern; sign applied. */
        int nearest(float f) {
            double x = Math.abs((double) f);
            int sign = Float.floatToRawIntBits(f) < 0 ? 0x8000 : 0;
            if (x >= values[infPattern]) {
                return sign | infPattern;
            }
            // largest p with values[p] <= x
            int lo = 0;
            int hi = infPattern;
            while (hi - lo > 1) {
                int mid = (lo + hi) >>> 1;
                if (values[mid] <= x) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            if (values[lo] == x) {
                return sign | lo;
            }
            // both differences are exact in double: the operands are floats within a 2^40 range of each other
            double down = x - values[lo];
            double up = values[lo + 1] - x;
            int p = down < up ? lo : up < down ? lo + 1 : (lo % 2 == 0 ? lo : lo + 1);
            return sign | p;
        }
    }

    /** The same definition in exact decimal arithmetic. */
    private static int bigDecimalNearest(Table t, float f) {
        int sign = Float.floatToRawIntBits(f) < 0 ? 0x8000 : 0;
        if (Float.isInfinite(f)) {
            return sign | t.infPattern;
        }
        BigDecimal x = new BigDecimal(Math.abs((double) f));
        BigDecimal[] exact = t.exact();
        int lo = 0;
        int hi = t.infPattern + 1;
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (exact[mid].compareTo(x) <= 0) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        if (lo == t.infPattern) {
            return sign | lo;
        }
        BigDecimal down = x.subtract(exact[lo]);
        BigDecimal up = exact[lo + 1].subtract(x);
        int c = down.compareTo(up);
        int p = c < 0 ? lo : c > 0 ? lo + 1 : (lo % 2 == 0 ? lo : lo + 1);
        return sign | p;
    }

    private static void expectFp16(float f, int expected) {
        int got = Half.floatToFp16(f) & 0xFFFF;
        assertEquals(expected, got, () -> "FP16 of " + f + " (" + hex32(Float.floatToRawIntBits(f)) + "): got "
                + hex16(got) + ", want " + hex16(expected));
        if (!Float.isNaN(f)) {
            assertEquals(Float.floatToFloat16(f) & 0xFFFF, got, "JDK disagrees on " + f);
            assertEquals(bigDecimalNearest(Table.FP16, f), got, "BigDecimal reference disagrees on " + f);
        }
    }

    private static void expectFp16Bits(int bits, int expected) {
        expectFp16(Float.intBitsToFloat(bits), expected);
    }

    private static void expectBf16(float f, int expected) {
        int got = Half.floatToBf16(f) & 0xFFFF;
        assertEquals(expected, got, () -> "BF16 of " + f + " (" + hex32(Float.floatToRawIntBits(f)) + "): got "
                + hex16(got) + ", want " + hex16(expected));
        if (!Float.isNaN(f)) {
            assertEquals(bigDecimalNearest(Table.BF16, f), got, "BigDecimal reference disagrees on " + f);
        }
    }

    private static void expectBf16Bits(int bits, int expected) {
        expectBf16(Float.intBitsToFloat(bits), expected);
    }

    static void assertBitsEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            int e = Float.floatToRawIntBits(expected[i]);
            int a = Float.floatToRawIntBits(actual[i]);
            if (e != a) {
                fail(what + ": element " + i + " is " + hex32(a) + ", want " + hex32(e));
            }
        }
    }

    static String hex16(int h) {
        return String.format("0x%04X", h & 0xFFFF);
    }

    static String hex32(int b) {
        return String.format("0x%08X", b);
    }
}
