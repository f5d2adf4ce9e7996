package dev.sixpd.nn.plan;

import java.util.Locale;

/**
 * A tiny JSON writer: objects, arrays, strings (escaped per RFC 8259), numbers (non-finite written as {@code null})
 * and booleans, appended to a {@link StringBuilder} with commas placed automatically. Not thread-safe; one writer per
 * document.
 */
public final class Json {
    private final StringBuilder out = new StringBuilder();
    /** Whether the current container already holds an element (needs a comma before the next). */
    private final java.util.ArrayDeque<Boolean> hasElement = new java.util.ArrayDeque<>();
    private boolean afterKey;

    public Json beginObject() {
        value();
        out.append('{');
        hasElement.push(false);
        return this;
    }

    public Json endObject() {
        hasElement.pop();
        out.append('}');
        return this;
    }

    public Json beginArray() {
        value();
        out.append('[');
        hasElement.push(false);
        return this;
    }

    public Json endArray() {
        hasElement.pop();
        out.append(']');
        return this;
    }

    /** An object key; the next call writes its value. */
    public Json key(String k) {
        comma();
        string(k);
        out.append(':');
        afterKey = true;
        return this;
    }

    public Json value(String s) {
        value();
        if (s == null) {
            out.append("null");
        } else {
            string(s);
        }
        return this;
    }

    public Json value(double d) {
        value();
        if (!Double.isFinite(d)) {
            out.append("null");
        } else if (d == Math.rint(d) && Math.abs(d) < 1e15) {
            out.append((long) d);
        } else {
            out.append(Double.toString(d)); // shortest round-trip form, e.g. 6.0E19: valid JSON
        }
        return this;
    }

    public Json value(boolean b) {
        value();
        out.append(b);
        return this;
    }

    /** Convenience: {@code key(k).value(v)}. */
    public Json field(String k, String v) {
        return key(k).value(v);
    }

    public Json field(String k, double v) {
        return key(k).value(v);
    }

    public Json field(String k, boolean v) {
        return key(k).value(v);
    }

    @Override
    public String toString() {
        return out.toString();
    }

    private void value() {
        if (afterKey) {
            afterKey = false;
            return;
        }
        comma();
    }

    private void comma() {
        if (!hasElement.isEmpty()) {
            if (hasElement.peek()) {
                out.append(',');
            } else {
                hasElement.pop();
                hasElement.push(true);
            }
        }
    }

    private void string(String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
