package dev.sixpd.nn;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A polynomial in the model's size symbols with integer coefficients, e.g. {@code 12C² + 13C} or
 * {@code 2C² + 2C·HS·KVH + 3C·H}: how a parameter count reads as a formula. Used to print P and N as formulas of
 * the chosen architecture; {@link #eval} gives the number, which a test checks against the tensors' sizes.
 * Immutable.
 */
public final class Poly {
    /**
     * Symbols in print order: vocabulary, context, layers, width, MLP width, heads, K/V heads, head size, LoRA rank.
     */
    static final List<String> SYMBOLS = List.of("V", "T", "L", "C", "H", "NH", "KVH", "HS", "r");

    /** monomial (exponent of each symbol, in SYMBOLS order, as a string key) → coefficient. */
    private final TreeMap<String, Long> terms;

    private Poly(TreeMap<String, Long> terms) {
        this.terms = terms;
    }

    public static final Poly ZERO = new Poly(new TreeMap<>());

    /** {@code coef · s1 · s2 · ...} (symbols may repeat: {@code of(3, "C", "C")} is 3C²). */
    public static Poly of(long coef, String... symbols) {
        int[] e = new int[SYMBOLS.size()];
        for (String s : symbols) {
            int i = SYMBOLS.indexOf(s);
            if (i < 0) {
                throw new IllegalArgumentException("unknown size symbol " + s);
            }
            e[i]++;
        }
        TreeMap<String, Long> t = new TreeMap<>();
        if (coef != 0) {
            t.put(key(e), coef);
        }
        return new Poly(t);
    }

    private static String key(int[] e) {
        // print order: higher powers of the earlier symbols first (V·C, T·C, C², C·H, C·KVH·HS, C, H)
        StringBuilder sb = new StringBuilder("||");
        for (int x : e) {
            sb.append((char) ('z' - x));
        }
        return sb.toString();
    }

    private static int[] exponents(String key) {
        int[] e = new int[SYMBOLS.size()];
        for (int i = 0; i < e.length; i++) {
            e[i] = 'z' - key.charAt(2 + i);
        }
        return e;
    }

    public Poly plus(Poly o) {
        TreeMap<String, Long> t = new TreeMap<>(terms);
        o.terms.forEach((k, v) -> t.merge(k, v, Long::sum));
        t.values().removeIf(v -> v == 0);
        return new Poly(t);
    }

    /** This times {@code s1 · s2 · ...}. */
    public Poly times(long coef, String... symbols) {
        Poly m = of(1, symbols);
        int[] add = exponents(m.terms.firstKey());
        TreeMap<String, Long> t = new TreeMap<>();
        terms.forEach((k, v) -> {
            int[] e = exponents(k);
            for (int i = 0; i < e.length; i++) {
                e[i] += add[i];
            }
            t.merge(key(e), v * coef, Long::sum);
        });
        t.values().removeIf(v -> v == 0);
        return new Poly(t);
    }

    /** The value with {@code values} for the symbols (missing symbols are an error). */
    public long eval(Map<String, Long> values) {
        long sum = 0;
        for (Map.Entry<String, Long> t : terms.entrySet()) {
            long p = t.getValue();
            int[] e = exponents(t.getKey());
            for (int i = 0; i < e.length; i++) {
                for (int k = 0; k < e[i]; k++) {
                    Long v = values.get(SYMBOLS.get(i));
                    if (v == null) {
                        throw new IllegalArgumentException("no value for " + SYMBOLS.get(i));
                    }
                    p = Math.multiplyExact(p, v);
                }
            }
            sum = Math.addExact(sum, p);
        }
        return sum;
    }

    public boolean isZero() {
        return terms.isEmpty();
    }

    /** E.g. {@code 12C² + 13C}, {@code V·C}, {@code 2C·HS·KVH}. */
    @Override
    public String toString() {
        if (terms.isEmpty()) {
            return "0";
        }
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, Long> t : terms.entrySet()) {
            int[] e = exponents(t.getKey());
            StringBuilder m = new StringBuilder();
            for (int i = 0; i < e.length; i++) {
                if (e[i] == 0) {
                    continue;
                }
                if (m.length() > 0) {
                    m.append('·');
                }
                m.append(SYMBOLS.get(i));
                if (e[i] == 2) {
                    m.append('²');
                } else if (e[i] == 3) {
                    m.append('³');
                } else if (e[i] > 3) {
                    m.append('^').append(e[i]);
                }
            }
            long c = t.getValue();
            String coef = m.length() == 0 ? Long.toString(Math.abs(c)) : Math.abs(c) == 1 ? ""
                    : Math.abs(c) + (Character.isDigit(m.charAt(0)) ? "·" : "");
            String term = coef + m;
            parts.add((c < 0 ? "- " : parts.isEmpty() ? "" : "+ ") + term);
        }
        return String.join(" ", parts);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Poly p && p.terms.equals(terms);
    }

    @Override
    public int hashCode() {
        return terms.hashCode();
    }
}
