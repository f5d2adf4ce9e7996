package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one place that picks the Vector API width every kernel uses.
 *
 * <p>{@code FloatVector.SPECIES_PREFERRED} by default (256 bits, 8 floats, on AVX2 machines; 512 on AVX-512). The
 * system property {@code sixpd.vector.bits} (64, 128, 256 or 512) forces a width so tests can exercise every tail
 * length and a benchmark can compare widths.
 */
public final class Vectors {
    /** The float species all kernels use. */
    public static final VectorSpecies<Float> SPECIES = pick();
    /** Floats per vector of {@link #SPECIES}. */
    public static final int LANES = SPECIES.length();

    private Vectors() {
    }

    /**
     * The sum of a vector's lanes, left to right: {@code ((v0 + v1) + v2) + ...}. Use this, never
     * {@code reduceLanes(ADD)}: the Vector API leaves the order of a float ADD reduction unspecified, and it differs
     * between the interpreter (left to right) and C2 (a tree), so the same call gives results one ulp apart before and
     * after the JIT compiles it, and a rerun with the same seed would not be bit-identical.
     */
    public static float sum(FloatVector v) {
        float s = v.lane(0);
        for (int i = 1; i < LANES; i++) {
            s += v.lane(i);
        }
        return s;
    }

    private static VectorSpecies<Float> pick() {
        String bits = System.getProperty("sixpd.vector.bits");
        if (bits == null || bits.isBlank()) {
            return FloatVector.SPECIES_PREFERRED;
        }
        return switch (bits.trim()) {
            case "64" -> FloatVector.SPECIES_64;
            case "128" -> FloatVector.SPECIES_128;
            case "256" -> FloatVector.SPECIES_256;
            case "512" -> FloatVector.SPECIES_512;
            default -> throw new IllegalArgumentException(
                    "sixpd.vector.bits must be 64, 128, 256 or 512, got '" + bits + "'");
        };
    }
}
