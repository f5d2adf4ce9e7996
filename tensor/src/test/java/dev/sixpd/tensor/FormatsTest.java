package dev.sixpd.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class FormatsTest {
    @Test
    void fp16NumbersByHand() {
        Formats.Format f = Formats.FP16;
        assertEquals(16, f.bits());
        assertEquals(15, f.bias());
        assertEquals(5.9604644775390625e-8, f.smallestSubnormal(), 0.0); // 2^-24
        assertEquals(6.103515625e-5, f.smallestNormal(), 0.0); // 2^-14
        assertEquals(65504.0, f.largestFinite(), 0.0);
        assertEquals(9.765625e-4, f.epsilon(), 0.0); // 2^-10
        assertEquals(65520.0, f.overflowThreshold(), 0.0);
        assertEquals(2.98023223876953125e-8, f.underflowThreshold(), 0.0); // 2^-25
        assertEquals(3.31, f.decimalDigits(), 0.01);
    }

    @Test
    void bf16NumbersByHand() {
        Formats.Format f = Formats.BF16;
        assertEquals(127, f.bias());
        assertEquals(9.18354961579912e-41, f.smallestSubnormal(), 1e-54); // 2^-133
        assertEquals(1.1754943508222875e-38, f.smallestNormal(), 0.0); // 2^-126
        assertEquals(3.3895313892515355e38, f.largestFinite(), 0.0); // (2 - 2^-7)·2^127
        assertEquals(0.0078125, f.epsilon(), 0.0); // 2^-7
        assertEquals(0x1p-133, f.smallestSubnormal(), 0.0);
    }

    @Test
    void fp32NumbersMatchTheJdk() {
        Formats.Format f = Formats.FP32;
        assertEquals(Float.MIN_VALUE, f.smallestSubnormal(), 0.0);
        assertEquals(Float.MIN_NORMAL, f.smallestNormal(), 0.0);
        assertEquals(Float.MAX_VALUE, f.largestFinite(), 0.0);
        assertEquals(Math.ulp(1f), f.epsilon(), 0.0);
        assertEquals(Float.MIN_EXPONENT, f.minExponent());
        assertEquals(Float.MAX_EXPONENT, f.maxExponent());
    }

    @Test
    void numbersAreWhatTheConversionsProduce() {
        // the landmark bit patterns decode to the computed numbers
        assertEquals(Formats.FP16.smallestSubnormal(), Half.fp16ToFloat((short) 0x0001), 0.0);
        assertEquals(Formats.FP16.smallestNormal(), Half.fp16ToFloat((short) 0x0400), 0.0);
        assertEquals(Formats.FP16.largestFinite(), Half.fp16ToFloat((short) 0x7BFF), 0.0);
        assertEquals(1 + Formats.FP16.epsilon(), Half.fp16ToFloat((short) 0x3C01), 0.0);
        assertEquals(Formats.BF16.smallestSubnormal(), Half.bf16ToFloat((short) 0x0001), 0.0);
        assertEquals(Formats.BF16.smallestNormal(), Half.bf16ToFloat((short) 0x0080), 0.0);
        assertEquals(Formats.BF16.largestFinite(), Half.bf16ToFloat((short) 0x7F7F), 0.0);
        assertEquals(1 + Formats.BF16.epsilon(), Half.bf16ToFloat((short) 0x3F81), 0.0);
        // and the thresholds are where rounding changes
        for (Formats.Format f : new Formats.Format[] {Formats.FP16, Formats.BF16}) {
            float over = (float) f.overflowThreshold();
            float under = (float) f.underflowThreshold();
            assertTrue(Float.isInfinite(Half.round(f.dtype(), over, false)), f.name());
            assertEquals(f.largestFinite(), Half.round(f.dtype(), Math.nextDown(over), false), 0.0, f.name());
            assertEquals(0f, Half.round(f.dtype(), under, false), f.name());
            assertEquals(f.smallestSubnormal(), Half.round(f.dtype(), Math.nextUp(under), false), 0.0, f.name());
        }
    }

    @Test
    void ofMapsDtypes() {
        assertSame(Formats.FP32, Formats.of(DType.FP32));
        assertSame(Formats.BF16, Formats.of(DType.BF16));
        assertSame(Formats.FP16, Formats.of(DType.FP16));
    }

    @Test
    void tableShowsTheNumbersWithTheirFormulas() {
        String t = Formats.table();
        for (String s : new String[] {"FP32", "BF16", "FP16", "2^-24 ≈ 5.96e-08", "2^-14 ≈ 6.10e-05",
            "(2-2^-10)·2^15 = 65504", "2^-10 ≈ 9.77e-04", "2^-133 ≈ 9.18e-41", "2^-126 ≈ 1.18e-38",
            "(2-2^-7)·2^127 ≈ 3.39e+38", "2^-7 = 0.0078125", "2^-149 ≈ 1.40e-45", "(2-2^-11)·2^15 = 65520",
            "smallest subnormal", "smallest normal", "largest finite", "epsilon"}) {
            assertTrue(t.contains(s), () -> "table lacks '" + s + "':\n" + t);
        }
        assertEquals(12, t.lines().count(), t);
        assertTrue(t.endsWith("\n"));
    }
}
