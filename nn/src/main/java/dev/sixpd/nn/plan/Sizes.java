package dev.sixpd.nn.plan;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the counts and durations people type: {@code 7e9}, {@code 7B}, {@code 1.5T}, {@code 350M}, {@code 10k},
 * {@code 124,439,808}, {@code 1_000}; and {@code 30d}, {@code 12h}.
 *
 * <p>Count suffixes (case-insensitive, decimal): {@code k} = 10³, {@code M} = 10⁶, {@code B} or {@code G} = 10⁹,
 * {@code T} = 10¹², {@code P} = 10¹⁵. A suffix may follow an exponent ({@code 1e3M} = 10⁹). Commas and underscores
 * between digits are ignored. Negative, NaN and infinite values are refused with an {@link IllegalArgumentException}
 * naming the option. Stateless and thread-safe.
 */
public final class Sizes {
    private static final Pattern NUMBER =
            Pattern.compile("^(\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE]([+-]?\\d+))?([a-zA-Z]*)$");

    private static final Pattern BYTES =
            Pattern.compile("^((?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?)([a-zA-Z]*)$");

    private Sizes() {
    }

    /** A count such as {@code 7B}; {@code what} names the option in the error message. */
    public static double parseCount(String what, String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException(what + ": expected a number such as 7e9, 7B, 1.5T or 350M, got nothing");
        }
        String t = text.trim().replace("_", "").replace(",", "");
        if (t.startsWith("-")) {
            throw new IllegalArgumentException(what + ": '" + text + "' is negative; sizes must be >= 0");
        }
        if (t.startsWith("+")) {
            t = t.substring(1);
        }
        Matcher m = NUMBER.matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException(what + ": cannot read '" + text
                    + "' as a number; write e.g. 7e9, 7B, 1.5T, 350M, 10k or 124,439,808");
        }
        double v = Double.parseDouble(m.group(1) + (m.group(2) != null ? "e" + m.group(2) : ""));
        String suffix = m.group(3).toLowerCase(Locale.ROOT);
        double scale = switch (suffix) {
            case "" -> 1;
            case "k" -> 1e3;
            case "m" -> 1e6;
            case "b", "g" -> 1e9;
            case "t" -> 1e12;
            case "p" -> 1e15;
            default -> throw new IllegalArgumentException(what + ": unknown suffix '" + m.group(3) + "' in '" + text
                    + "'; use k (1e3), M (1e6), B or G (1e9), T (1e12) or P (1e15)");
        };
        double r = v * scale;
        if (!Double.isFinite(r)) {
            throw new IllegalArgumentException(what + ": '" + text + "' is too large");
        }
        return r;
    }

    /** A count with no option name in the error message. */
    public static double parseCount(String text) {
        return parseCount("size", text);
    }

    /** A positive whole number, e.g. a layer count; refuses fractions. */
    public static int parseInt(String what, String text) {
        double v = parseCount(what, text);
        if (v != Math.rint(v) || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(what + ": '" + text + "' must be a whole number <= "
                    + Integer.MAX_VALUE);
        }
        return (int) v;
    }

    /**
     * A size in bytes: a number with a unit {@code B}, {@code kB}/{@code KB}, {@code MB}, {@code GB}, {@code TB},
     * {@code PB} (decimal, 10³ steps) or {@code KiB}, {@code MiB}, {@code GiB}, {@code TiB}, {@code PiB} (binary,
     * 2¹⁰ steps), case-insensitive; a bare number is bytes ({@code 8e10}).
     */
    public static double parseBytes(String what, String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException(what + ": expected a size such as 24GB, 80GiB or 1.5TB, got nothing");
        }
        String t = text.trim().replace("_", "").replace(",", "").replace(" ", "");
        Matcher m = BYTES.matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException(what + ": cannot read '" + text
                    + "' as a size; write e.g. 24GB, 80GiB, 1.5TB or 8e10 (bytes)");
        }
        double v = parseCount(what, m.group(1));
        String unit = m.group(2).toLowerCase(Locale.ROOT);
        double scale = switch (unit) {
            case "", "b" -> 1;
            case "kb" -> 1e3;
            case "mb" -> 1e6;
            case "gb" -> 1e9;
            case "tb" -> 1e12;
            case "pb" -> 1e15;
            case "kib" -> 0x1p10;
            case "mib" -> 0x1p20;
            case "gib" -> 0x1p30;
            case "tib" -> 0x1p40;
            case "pib" -> 0x1p50;
            default -> throw new IllegalArgumentException(what + ": unknown unit '" + m.group(2) + "' in '" + text
                    + "'; use B, kB, MB, GB, TB, PB or KiB, MiB, GiB, TiB, PiB");
        };
        return v * scale;
    }

    /**
     * A duration in seconds: a number with a unit {@code s}, {@code min}, {@code h}, {@code d} (days) or {@code w}
     * (weeks); a bare number means days.
     */
    public static double parseDurationSeconds(String what, String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException(what + ": expected a duration such as 30d, 12h or 90min, got nothing");
        }
        String t = text.trim().toLowerCase(Locale.ROOT);
        double unit;
        String num;
        if (t.endsWith("min")) {
            unit = 60;
            num = t.substring(0, t.length() - 3);
        } else if (t.endsWith("s")) {
            unit = 1;
            num = t.substring(0, t.length() - 1);
        } else if (t.endsWith("h")) {
            unit = 3600;
            num = t.substring(0, t.length() - 1);
        } else if (t.endsWith("d")) {
            unit = 86400;
            num = t.substring(0, t.length() - 1);
        } else if (t.endsWith("w")) {
            unit = 7 * 86400;
            num = t.substring(0, t.length() - 1);
        } else {
            unit = 86400;
            num = t;
        }
        double v;
        try {
            v = parseCount(what, num);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": cannot read '" + text
                    + "' as a duration; write e.g. 30d, 12h, 90min, 3600s or 2w", e);
        }
        return v * unit;
    }
}
