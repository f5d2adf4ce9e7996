package dev.sixpd.tensor;

/**
 * Conversions between FP32 and the 16-bit formats BF16 and FP16: round to nearest, ties to even; subnormals
 * kept; overflow to ±Inf; NaN stays a quiet NaN; signed zeros kept.
 */
public final class Half {
    private Half() {
    }

    /** The FP32 value of a BF16 bit pattern (exact: BF16 is the top half of an FP32). */
    public static float bf16ToFloat(short h) {
        return Float.intBitsToFloat((h & 0xFFFF) << 16);
    }

    /** The BF16 nearest to {@code f} (ties to even); NaN becomes a quiet NaN with the same sign. */
    public static short floatToBf16(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7FFF_FFFF) > 0x7F80_0000) {
            return (short) ((x >>> 16) | 0x0040);
        }
        // add 0x7FFF plus the lowest kept bit: rounds to nearest, ties to even, carrying into the exponent
        int rounded = x + 0x7FFF + ((x >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    /** The FP32 value of an FP16 bit pattern (exact). */
    public static float fp16ToFloat(short h) {
        return Float.float16ToFloat(h);
    }

    /** The FP16 nearest to {@code f} (ties to even), ±Inf above 65504 after rounding. */
    public static short floatToFp16(float f) {
        return Float.floatToFloat16(f);
    }
}
