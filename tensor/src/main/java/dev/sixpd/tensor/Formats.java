package dev.sixpd.tensor;

import java.math.BigDecimal;
import java.util.List;
import java.util.Locale;

/**
 * The numbers that describe each floating-point format — smallest subnormal, smallest normal, largest finite,
 * epsilon — computed from its bit layout (exponent and fraction widths), and a table of them for
 * {@code ./sixpd formats}.
 *
 * <p>For a binary format with {@code e} exponent bits and {@code f} fraction bits: bias = 2^(e-1) − 1; normals have
 * exponents 1 − bias … bias; the smallest normal is 2^(1−bias), the smallest subnormal 2^(1−bias−f) (one unit in the
 * last place below the normals), the largest finite (2 − 2^-f)·2^bias, epsilon (the gap from 1 to the next number)
 * 2^-f. Immutable and thread-safe.
 */
public final class Formats {
    /** One binary floating-point format: 1 sign bit, {@code exponentBits}, {@code fractionBits}. */
    public record Format(String name, DType dtype, int exponentBits, int fractionBits) {
        /** Storage bits: sign + exponent + fraction. */
        public int bits() {
            return 1 + exponentBits + fractionBits;
        }

        /** Exponent bias 2^(e-1) − 1: the stored exponent minus the bias is the power of two. */
        public int bias() {
            return (1 << (exponentBits - 1)) - 1;
        }

        /** Smallest exponent of a normal number, 1 − bias. */
        public int minExponent() {
            return 1 - bias();
        }

        /** Largest exponent of a finite number, bias (the all-ones exponent field is Inf/NaN). */
        public int maxExponent() {
            return bias();
        }

        /** Smallest positive subnormal, 2^(1 − bias − f): the spacing of all numbers below the smallest normal. */
        public double smallestSubnormal() {
            return Math.scalb(1.0, minExponent() - fractionBits);
        }

        /** Smallest positive normal, 2^(1 − bias). */
        public double smallestNormal() {
            return Math.scalb(1.0, minExponent());
        }

        /** Largest finite value, (2 − 2^-f)·2^bias. */
        public double largestFinite() {
            return (2 - Math.scalb(1.0, -fractionBits)) * Math.scalb(1.0, maxExponent());
        }

        /** Machine epsilon, 2^-f: the gap between 1 and the next larger number. */
        public double epsilon() {
            return Math.scalb(1.0, -fractionBits);
        }

        /** Unit roundoff, 2^-(f+1) = epsilon / 2: the largest relative error of rounding a normal number. */
        public double unitRoundoff() {
            return Math.scalb(1.0, -fractionBits - 1);
        }

        /** Smallest |x| that rounds to Inf, (2 − 2^-(f+1))·2^bias: the largest finite plus half its ulp. */
        public double overflowThreshold() {
            return (2 - Math.scalb(1.0, -fractionBits - 1)) * Math.scalb(1.0, maxExponent());
        }

        /** Largest |x| that rounds to zero, half the smallest subnormal (the tie goes to the even zero). */
        public double underflowThreshold() {
            return smallestSubnormal() / 2;
        }

        /** Significant decimal digits, (f + 1)·log10(2). */
        public double decimalDigits() {
            return (fractionBits + 1) * Math.log10(2);
        }
    }

    /** IEEE 754 binary32. */
    public static final Format FP32 = new Format("FP32", DType.FP32, 8, 23);
    /** bfloat16: FP32's exponent, 7 fraction bits. */
    public static final Format BF16 = new Format("BF16", DType.BF16, 8, 7);
    /** IEEE 754 binary16. */
    public static final Format FP16 = new Format("FP16", DType.FP16, 5, 10);
    /** The formats in table order. */
    public static final List<Format> ALL = List.of(FP32, BF16, FP16);

    private Formats() {
    }

    /** The format of a dtype. */
    public static Format of(DType dtype) {
        return switch (dtype) {
            case FP32 -> FP32;
            case BF16 -> BF16;
            case FP16 -> FP16;
        };
    }

    /**
     * A readable table of the formats, one column per format, each number with its formula, e.g.
     * {@code 2^-24 ≈ 5.96e-08} or {@code (2-2^-10)·2^15 = 65504}. Ends with a newline.
     */
    public static String table() {
        String[] rows = {
            "bits (sign/exponent/fraction)",
            "exponent bias",
            "normal exponents",
            "smallest subnormal",
            "smallest normal",
            "largest finite",
            "epsilon (1 to next)",
            "unit roundoff (max rel. error)",
            "rounds to 0 at or below",
            "rounds to Inf from",
            "decimal digits",
        };
        String[][] cells = new String[rows.length][ALL.size()];
        for (int c = 0; c < ALL.size(); c++) {
            Format f = ALL.get(c);
            int fb = f.fractionBits();
            cells[0][c] = "1/" + f.exponentBits() + "/" + fb + " = " + f.bits();
            cells[1][c] = "2^" + (f.exponentBits() - 1) + "-1 = " + f.bias();
            cells[2][c] = f.minExponent() + " .. " + f.maxExponent();
            cells[3][c] = power(f.minExponent() - fb);
            cells[4][c] = power(f.minExponent());
            cells[5][c] = number("(2-2^-" + fb + ")·2^" + f.maxExponent(), f.largestFinite());
            cells[6][c] = power(-fb);
            cells[7][c] = power(-fb - 1);
            cells[8][c] = power(f.minExponent() - fb - 1);
            cells[9][c] = number("(2-2^-" + (fb + 1) + ")·2^" + f.maxExponent(), f.overflowThreshold());
            cells[10][c] = String.format(Locale.ROOT, "(%d+1)·log10(2) = %.2f", fb, f.decimalDigits());
        }
        int w0 = 0;
        for (String r : rows) {
            w0 = Math.max(w0, r.length());
        }
        int[] w = new int[ALL.size()];
        for (int c = 0; c < ALL.size(); c++) {
            w[c] = ALL.get(c).name().length();
            for (String[] row : cells) {
                w[c] = Math.max(w[c], row[c].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append(pad("", w0));
        for (int c = 0; c < ALL.size(); c++) {
            sb.append("  ").append(pad(ALL.get(c).name(), w[c]));
        }
        sb.append('\n');
        for (int r = 0; r < rows.length; r++) {
            sb.append(pad(rows[r], w0));
            for (int c = 0; c < ALL.size(); c++) {
                sb.append("  ").append(pad(cells[r][c], w[c]));
            }
            sb.append('\n');
        }
        // strip the trailing padding of each line
        return sb.toString().replaceAll(" +\n", "\n");
    }

    /** "2^k = exact" when the decimal is short, else "2^k ≈ 3 significant digits". */
    private static String power(int k) {
        return number("2^" + k, Math.scalb(1.0, k));
    }

    private static String number(String formula, double v) {
        String exact = new BigDecimal(v).stripTrailingZeros().toPlainString();
        if (exact.length() <= 10) {
            return formula + " = " + exact;
        }
        return formula + " ≈ " + String.format(Locale.ROOT, "%.2e", v);
    }

    private static String pad(String s, int width) {
        return s.length() >= width ? s : s + " ".repeat(width - s.length());
    }
}
