package dev.sixpd.tensor;

/**
 * Storage types of sixpd's buffers and checkpoints. Arithmetic is always done in FP32; BF16 and FP16 are storage formats whose
 * values are rounded (round to nearest, ties to even) when stored. See {@code Half} for the bit-exact conversions.
 */
public enum DType {
    /** IEEE 754 binary32: 1 sign, 8 exponent, 23 fraction bits. */
    FP32(4, "F32"),
    /** bfloat16: the top 16 bits of an FP32, 1 sign, 8 exponent, 7 fraction bits: FP32's range, less precision. */
    BF16(2, "BF16"),
    /** IEEE 754 binary16: 1 sign, 5 exponent, 10 fraction bits: more precision than BF16, range to 65504. */
    FP16(2, "F16");

    /** Bytes one element takes in storage. */
    public final int bytes;
    /** The dtype's name in the safetensors format. */
    public final String safetensorsName;

    DType(int bytes, String safetensorsName) {
        this.bytes = bytes;
        this.safetensorsName = safetensorsName;
    }

    /** Parses {@code fp32}, {@code bf16} or {@code fp16} (any case), or a safetensors name. */
    public static DType parse(String s) {
        for (DType d : values()) {
            if (d.name().equalsIgnoreCase(s) || d.safetensorsName.equalsIgnoreCase(s)) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown dtype '" + s + "': use fp32, bf16 or fp16");
    }
}
