package dev.sixpd.nn.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import org.agrona.collections.Int2IntHashMap;

/**
 * Character-level tokenizer: one id per distinct Unicode code point of the corpus it was built from, ids assigned
 * in ascending code-point order (so the same corpus always gives the same ids). Works on code points, not UTF-16
 * chars, so characters outside the Basic Multilingual Plane (e.g. emoji) are one token.
 *
 * <p>There is no unknown-token id: encoding a character the corpus did not contain throws
 * {@link IllegalArgumentException} naming the character, its code point and its position — the vocabulary is
 * fixed by the training corpus and the model has no embedding for anything else. Immutable, thread-safe.
 */
public final class CharTokenizer implements Tokenizer {
    private final int[] codePoints;
    private final Int2IntHashMap idOf;

    private CharTokenizer(int[] sortedDistinctCodePoints) {
        this.codePoints = sortedDistinctCodePoints;
        this.idOf = new Int2IntHashMap(Math.max(8, codePoints.length * 2), 0.65f, -1);
        for (int i = 0; i < codePoints.length; i++) {
            idOf.put(codePoints[i], i);
        }
    }

    /** The tokenizer of {@code corpus}'s distinct code points, sorted ascending. */
    public static CharTokenizer fromCorpus(String corpus) {
        int[] cps = corpus.codePoints().distinct().sorted().toArray();
        if (cps.length == 0) {
            throw new IllegalArgumentException("cannot build a character tokenizer from empty text");
        }
        return new CharTokenizer(cps);
    }

    /** The tokenizer with exactly these code points (any order; duplicates are an error). */
    public static CharTokenizer ofCodePoints(int... codePoints) {
        int[] cps = codePoints.clone();
        Arrays.sort(cps);
        for (int i = 0; i < cps.length; i++) {
            if (!Character.isValidCodePoint(cps[i])) {
                throw new IllegalArgumentException("not a Unicode code point: " + cps[i]);
            }
            if (i > 0 && cps[i] == cps[i - 1]) {
                throw new IllegalArgumentException("code point U+" + String.format("%04X", cps[i]) + " listed twice");
            }
        }
        if (cps.length == 0) {
            throw new IllegalArgumentException("a character tokenizer needs at least one character");
        }
        return new CharTokenizer(cps);
    }

    @Override
    public int[] encode(String text) {
        int[] out = new int[text.codePointCount(0, text.length())];
        int k = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int id = idOf.get(cp);
            if (id < 0) {
                throw new IllegalArgumentException("character " + describe(cp) + " at index " + i
                        + " is not in this character tokenizer's vocabulary of " + codePoints.length
                        + " characters (built from the training corpus); remove it from the text or train on data"
                        + " that contains it");
            }
            out[k++] = id;
            i += Character.charCount(cp);
        }
        return out;
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder b = new StringBuilder(ids.length);
        for (int id : ids) {
            if (id < 0 || id >= codePoints.length) {
                throw new IllegalArgumentException("token id " + id + " is outside the character vocabulary [0, "
                        + codePoints.length + ")");
            }
            b.appendCodePoint(codePoints[id]);
        }
        return b.toString();
    }

    @Override
    public int vocabSize() {
        return codePoints.length;
    }

    /** The code point of id {@code id}. */
    public int codePoint(int id) {
        return codePoints[id];
    }

    @Override
    public String type() {
        return "char";
    }

    /** {@code {"type":"char","code_points":[10,32,...]}}: ids are the positions in the list. */
    @Override
    public String toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("type", "char");
        ArrayNode cps = o.putArray("code_points");
        for (int cp : codePoints) {
            cps.add(cp);
        }
        return o.toString();
    }

    /** The inverse of {@link #toJson()} on its parsed object; errors name the field. */
    static CharTokenizer fromJsonObject(JsonNode o) {
        JsonNode l = o.path("code_points");
        if (!l.isArray()) {
            throw new IllegalArgumentException("char tokenizer field \"code_points\" must be a JSON array, got "
                    + (l.isMissingNode() ? "none" : l));
        }
        int[] cps = new int[l.size()];
        for (int i = 0; i < cps.length; i++) {
            JsonNode v = l.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new IllegalArgumentException("code_points[" + i + "] must be an integer, got " + v);
            }
            cps[i] = v.intValue();
        }
        for (int i = 1; i < cps.length; i++) {
            if (cps[i] <= cps[i - 1]) {
                throw new IllegalArgumentException("char tokenizer code_points must be strictly ascending; entry " + i
                        + " (" + cps[i] + ") is not above entry " + (i - 1) + " (" + cps[i - 1] + ")");
            }
        }
        return ofCodePoints(cps);
    }

    static String describe(int cp) {
        String shown = Character.isISOControl(cp) || Character.isWhitespace(cp) ? "" : "'" + Character.toString(cp)
                + "' ";
        return shown + String.format("(U+%04X)", cp);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CharTokenizer c && Arrays.equals(codePoints, c.codePoints);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(codePoints);
    }

    @Override
    public String toString() {
        return "char tokenizer, " + codePoints.length + " characters";
    }
}
