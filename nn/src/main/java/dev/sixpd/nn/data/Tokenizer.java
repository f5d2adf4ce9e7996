package dev.sixpd.nn.data;

import java.util.Map;

/**
 * Text to token ids and back. Implementations: {@link CharTokenizer} (one id per Unicode code point seen in the
 * training corpus) and {@link BpeTokenizer} (byte-level BPE). Ids are {@code 0 .. vocabSize()-1}.
 *
 * <p>A tokenizer is saved with a checkpoint as a JSON object ({@link #toJson()}), with a {@code "type"} field
 * ({@code "char"} or {@code "bpe"}) that {@link #fromJson} dispatches on. Immutable and thread-safe.
 */
public interface Tokenizer {
    /** The token ids of {@code text}; throws {@link IllegalArgumentException} if the text cannot be encoded. */
    int[] encode(String text);

    /** The text of {@code ids}; throws {@link IllegalArgumentException} naming an id outside the vocabulary. */
    String decode(int[] ids);

    /** Number of distinct token ids. */
    int vocabSize();

    /** {@code "char"} or {@code "bpe"}. */
    String type();

    /** A self-contained JSON object describing this tokenizer, to embed in a checkpoint's JSON. */
    String toJson();

    /**
     * Builds a tokenizer of the given type from a corpus: {@code "char"} ({@link CharTokenizer#fromCorpus}, vocabSize
     * ignored) or {@code "bpe"} ({@link BpeTokenizer#train} up to {@code vocabSize} tokens).
     */
    static Tokenizer train(String type, String corpus, int vocabSize) {
        return switch (type) {
            case "char" -> CharTokenizer.fromCorpus(corpus);
            case "bpe" -> BpeTokenizer.train(corpus, vocabSize);
            default -> throw new IllegalArgumentException("unknown tokenizer '" + type + "': use char or bpe");
        };
    }

    /** Rebuilds a tokenizer from {@link #toJson()}; errors name what is wrong. */
    static Tokenizer fromJson(String json) {
        return fromJsonObject(Json.object(Json.parse(json), "tokenizer"));
    }

    /** Rebuilds a tokenizer from an already parsed JSON object (a {@code Map} as produced by a JSON reader). */
    static Tokenizer fromJsonObject(Map<String, Object> o) {
        String type = Json.string(o.get("type"), "tokenizer field \"type\"");
        return switch (type) {
            case "char" -> CharTokenizer.fromJsonObject(o);
            case "bpe" -> BpeTokenizer.fromJsonObject(o);
            default -> throw new IllegalArgumentException("unknown tokenizer type '" + type
                    + "': expected \"char\" or \"bpe\"");
        };
    }
}
