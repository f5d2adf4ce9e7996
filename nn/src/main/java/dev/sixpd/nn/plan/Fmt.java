package dev.sixpd.nn.plan;

import java.math.BigDecimal;
import java.util.Locale;

/**
 * Number formatting for formulas that teach: inputs as people write them ({@code 7e9}, {@code 124,439,808},
 * {@code 0.4}), results with three significant figures ({@code 6.00e19}), and human units ({@code 14.0 GB},
 * {@code 5.56 days}). Bytes use decimal prefixes (1 GB = 10⁹ bytes), as GPU data sheets do, with the binary value
 * beside them where it differs ({@link #bytesBoth}: {@code 30.6 GB = 28.5 GiB}). Stateless.
 */
public final class Fmt {
    private Fmt() {
    }

    /**
     * An input-style number: whole numbers of at least 10⁶ with at most 4 significant digits as {@code 7e9},
     * {@code 3.12e14} or {@code 1.652e14}; other whole numbers below 10¹⁵ grouped ({@code 124,439,808},
     * {@code 32,000}); fractions with up to 4 significant digits ({@code 0.4}, {@code 2.445}).
     */
    public static String num(double x) {
        if (Double.isNaN(x)) {
            return "n/a";
        }
        if (Double.isInfinite(x)) {
            return x > 0 ? "∞" : "-∞";
        }
        if (x == Math.rint(x) && Math.abs(x) < 1e18) {
            BigDecimal b = new BigDecimal(x).stripTrailingZeros();
            int sig = b.precision();
            if (Math.abs(x) >= 1e6 && sig <= 4) {
                int exp = b.precision() - b.scale() - 1;
                BigDecimal mant = b.movePointLeft(exp).stripTrailingZeros();
                return mant.toPlainString() + "e" + exp;
            }
            if (Math.abs(x) < 1e15) {
                return String.format(Locale.ROOT, "%,d", (long) x);
            }
        }
        if (Math.abs(x) >= 1e4 || (x != 0 && Math.abs(x) < 1e-3)) {
            String sc = sci(x, 4);
            int e = sc.indexOf('e');
            String mant = sc.substring(0, e).replaceFirst("0+$", "").replaceFirst("\\.$", "");
            return mant + sc.substring(e);
        }
        BigDecimal b = new BigDecimal(x).round(new java.math.MathContext(4)).stripTrailingZeros();
        return b.toPlainString();
    }

    /** A result with 3 significant figures: {@code 6.00e19} for large or tiny values, {@code 0.694} otherwise. */
    public static String res(double x) {
        if (Double.isNaN(x)) {
            return "n/a";
        }
        if (Double.isInfinite(x)) {
            return x > 0 ? "∞" : "-∞";
        }
        double a = Math.abs(x);
        if (a >= 1e5 || (a != 0 && a < 1e-3)) {
            return sci(x, 3);
        }
        if (a == 0) {
            return "0";
        }
        // digits after rounding to 3 significant figures, so 9.9996 prints as 10.0, not 10.00
        double r = new BigDecimal(a).round(new java.math.MathContext(3)).doubleValue();
        int digits = Math.max(0, 2 - (int) Math.floor(Math.log10(r)));
        return String.format(Locale.ROOT, "%." + digits + "f", x);
    }

    /**
     * {@link #res}, widened to 4 or 5 significant figures when those are exact: {@code 2.625e10} for 26.25 GB (not
     * {@code 2.63e10}), {@code 1.40e10} for 14 GB; for sizes whose exact value the reader checks by hand.
     */
    public static String resExact(double x) {
        double a = Math.abs(x);
        if (Double.isNaN(x) || Double.isInfinite(x) || a < 1e5) {
            return res(x);
        }
        for (int sig = 3; sig <= 5; sig++) {
            String s = sci(x, sig);
            if (Math.abs(Double.parseDouble(s) - x) <= a * 1e-12) {
                return s;
            }
        }
        return res(x);
    }

    /** Scientific notation with {@code sig} significant figures and a compact exponent: {@code 6.00e19}. */
    public static String sci(double x, int sig) {
        String s = String.format(Locale.ROOT, "%." + (sig - 1) + "e", x);
        int e = s.indexOf('e');
        String mant = s.substring(0, e);
        int exp = Integer.parseInt(s.substring(e + 1));
        return mant + "e" + exp;
    }

    /**
     * Bytes with a decimal prefix and enough digits: 3 significant figures, or 4 or 5 when those show the value
     * exactly ({@code 26.25 GB}, not {@code 26.3 GB}; {@code 14.0 GB}; {@code 1.08 GB} for 1,075,838,976 B).
     */
    public static String bytes(double b) {
        return prefixed(b, 1000, new String[] {"B", "kB", "MB", "GB", "TB", "PB", "EB"});
    }

    /** Bytes with a binary prefix (1 GiB = 2³⁰ B), digits as {@link #bytes}: {@code 24.4 GiB}. */
    public static String bytesBinary(double b) {
        return prefixed(b, 1024, new String[] {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"});
    }

    /**
     * Bytes in decimal and, where the two differ at the shown precision, binary units: {@code 26.25 GB = 24.4 GiB};
     * {@code 512 B} alone. Data sheets quote GB (10⁹), many articles and tools GiB (2³⁰, 7.4 % more).
     */
    public static String bytesBoth(double b) {
        String dec = bytes(b);
        String bin = bytesBinary(b);
        if (Double.isNaN(b) || dec.equals(bin.replace("i", "").replace("KB", "kB"))) {
            return dec;
        }
        return dec + " = " + bin;
    }

    private static String prefixed(double b, double base, String[] units) {
        if (Double.isNaN(b)) {
            return "n/a";
        }
        int u = 0;
        double v = b;
        while (Math.abs(v) >= 1000 && u < units.length - 1) {
            v /= base;
            u++;
        }
        return (u == 0 ? String.format(Locale.ROOT, "%.0f", v) : exactish(v)) + " " + units[u];
    }

    /** {@link #res} for values below 1000, widened to 4 or 5 significant figures when they are exact. */
    private static String exactish(double v) {
        if (v == 0 || Double.isInfinite(v)) {
            return res(v);
        }
        int intDigits = Math.max(1, (int) Math.floor(Math.log10(Math.abs(v))) + 1);
        for (int sig = 4; sig <= 5; sig++) {
            int decimals = Math.max(0, sig - intDigits);
            double scale = Math.pow(10, decimals);
            double r = Math.rint(v * scale) / scale;
            if (Math.abs(r - v) <= Math.abs(v) * 1e-12 && Math.abs(Math.rint(v * scale / 10) - v * scale / 10) > 1e-9) {
                return String.format(Locale.ROOT, "%." + decimals + "f", v);
            }
        }
        return res(v);
    }

    /**
     * The argument of a ceiling ⌈x⌉, with enough digits that a fractional value never looks whole: {@code 1,669.3}
     * (not {@code 1669}, whose ceiling would read as a mistake), {@code 6.5625}, {@code 5.73}; a whole value as
     * {@link #num}.
     */
    public static String ceilArg(double x) {
        if (Double.isNaN(x) || Double.isInfinite(x) || x == Math.rint(x)) {
            return num(x);
        }
        if (Math.abs(x) >= 1e15) {
            return sci(x, 6);
        }
        for (int decimals = 1; decimals <= 12; decimals++) {
            BigDecimal b = new BigDecimal(x).setScale(decimals, java.math.RoundingMode.HALF_EVEN);
            boolean whole = b.stripTrailingZeros().scale() <= 0;
            boolean enough = b.stripTrailingZeros().precision() >= 3 || decimals >= 2;
            if (!whole && enough) {
                b = b.stripTrailingZeros();
                String intPart = String.format(Locale.ROOT, "%,d", b.toBigInteger());
                String plain = b.toPlainString();
                return intPart + plain.substring(plain.indexOf('.'));
            }
        }
        return sci(x, 12);
    }

    /** A duration: seconds, minutes, hours, days or years, 3 significant figures. */
    public static String duration(double seconds) {
        if (Double.isNaN(seconds)) {
            return "n/a";
        }
        double a = Math.abs(seconds);
        if (a < 120) {
            return res(seconds) + " s";
        }
        if (a < 2 * 3600) {
            return res(seconds / 60) + " min";
        }
        if (a < 2 * 86400) {
            return res(seconds / 3600) + " h";
        }
        if (a < 2 * 365.25 * 86400) {
            return res(seconds / 86400) + " days";
        }
        return res(seconds / (365.25 * 86400)) + " years";
    }

    /** A rate in FLOP/s with a prefix: {@code 989 TFLOP/s}, {@code 152 GFLOP/s}. */
    public static String flops(double perSecond) {
        if (Double.isNaN(perSecond)) {
            return "n/a";
        }
        if (Math.abs(perSecond) >= 1e15) {
            return res(perSecond / 1e15) + " PFLOP/s";
        }
        if (Math.abs(perSecond) >= 1e12) {
            return res(perSecond / 1e12) + " TFLOP/s";
        }
        return res(perSecond / 1e9) + " GFLOP/s";
    }

    /** Money in US dollars, grouped: {@code $1,234,567}; below $100 with cents. */
    public static String usd(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        if (Math.abs(v) < 100) {
            return String.format(Locale.ROOT, "$%.2f", v);
        }
        return String.format(Locale.ROOT, "$%,.0f", v);
    }
}
