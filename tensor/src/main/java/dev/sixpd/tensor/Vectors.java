package dev.sixpd.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
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

    // exp(x) for floats, Cephes' expf: x = n·ln2 + r with |r| <= ln2/2, e^r by a degree-7 polynomial, times 2^n.
    private static final float EXP_LO = -110f; // e^-110 is below half the smallest subnormal: the result is 0
    private static final float EXP_HI = 89f; // e^89 is above Float.MAX_VALUE: the result is +Inf
    private static final float LOG2E = 1.44269504088896341f;
    private static final float ROUND = 0x1.8p23f; // adding and subtracting 1.5·2^23 rounds to the nearest integer
    private static final float LN2_HI = 0.693359375f; // ln2 = LN2_HI + LN2_LO, LN2_HI with 9 significant bits
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;

    /**
     * e^x in every lane, within 2 ulp of the exact value for normal results; 0 below about -103.3 (through the
     * subnormals), +Inf above about 88.72, NaN for NaN. Use this, never {@code lanewise(EXP)}: the Vector API
     * computes EXP differently in the interpreter (Math.exp per lane) and in C2 (a vector library), so results
     * change in the last bit once the JIT compiles a kernel and the same seed no longer gives the same numbers.
     * Built from add, multiply, fma and bit shifts only, so every tier gives the same bits, and so does
     * {@link #exp(float)}, its scalar twin.
     */
    public static FloatVector exp(FloatVector x) {
        VectorSpecies<Float> sp = x.species();
        FloatVector xc = x.max(EXP_LO).min(EXP_HI);
        // n = round(x / ln2), r = x - n·ln2 in two steps (Cody-Waite), |r| <= ln2/2
        FloatVector n = xc.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(sp, -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(sp, -LN2_LO), r);
        // e^r = 1 + r + r²·(P5 + r·(P4 + r·(P3 + r·(P2 + r·(P1 + r·P0)))))
        FloatVector p = r.fma(FloatVector.broadcast(sp, P0), FloatVector.broadcast(sp, P1));
        p = p.fma(r, FloatVector.broadcast(sp, P2));
        p = p.fma(r, FloatVector.broadcast(sp, P3));
        p = p.fma(r, FloatVector.broadcast(sp, P4));
        p = p.fma(r, FloatVector.broadcast(sp, P5));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        // times 2^n as 2^(n>>1)·2^(n - n>>1): both factors are normal floats for every n in [-159, 129], and the
        // last multiply rounds into the subnormals (or to Inf) the IEEE way
        IntVector ni = (IntVector) n.convert(VectorOperators.F2I, 0);
        IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
        IntVector n2 = ni.sub(n1);
        FloatVector s1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return y.mul(s1).mul(s2);
    }

    /** Scalar twin of {@link #exp(FloatVector)}: the same operations in the same order, so the same bits. */
    public static float exp(float x) {
        float xc = Math.min(Math.max(x, EXP_LO), EXP_HI);
        float n = xc * LOG2E + ROUND - ROUND;
        float r = Math.fma(n, -LN2_HI, xc);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, P0, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        int ni = (int) n;
        int n1 = ni >> 1;
        int n2 = ni - n1;
        return y * Float.intBitsToFloat((n1 + 127) << 23) * Float.intBitsToFloat((n2 + 127) << 23);
    }
}
