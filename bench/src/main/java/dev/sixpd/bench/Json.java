package dev.sixpd.bench;

import java.util.Locale;

/** Minimal JSON formatting for the one-object outputs of the bench commands. */
final class Json {
    private Json() {
    }

    static String num(double x) {
        return Double.isFinite(x) ? String.format(Locale.ROOT, "%.3f", x) : "null";
    }

    static String esc(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
