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
