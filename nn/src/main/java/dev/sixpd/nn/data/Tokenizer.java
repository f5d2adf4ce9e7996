package dev.sixpd.nn.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * Text to token ids and back. Implementations: {@link CharTokenizer} (one id per Unicode code point seen in the
 * training corpus), {@link BpeTokenizer} (byte-level BPE) and {@link ByteLevelBpe} (a Hugging Face byte-level BPE,
 * GPT-2's, read from its files). Ids are {@code 0 .. vocabSize()-1}.
 *
 * <p>A tokenizer is saved with a checkpoint as a JSON object ({@link #toJson()}), with a {@code "type"} field
 * ({@code "char"}, {@code "bpe"} or {@code "bytelevel-bpe"}) that {@link #fromJson} dispatches on; written and read
 * with Jackson, in the shape of sixpd's first checkpoints (which {@code TokenizerTest} reads back). Immutable and thread-safe.
 */
public interface Tokenizer {
    /** The token ids of {@code text}; throws {@link IllegalArgumentException} if the text cannot be encoded. */
    int[] encode(String text);

    /** The text of {@code ids}; throws {@link IllegalArgumentException} naming an id outside the vocabulary. */
    String decode(int[] ids);

    /** Number of distinct token ids. */
    int vocabSize();

    /** {@code "char"}, {@code "bpe"} or {@code "bytelevel-bpe"}. */
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

    /** Rebuilds a tokenizer from {@link #toJson()}'s text; errors name what is wrong. */
    static Tokenizer fromJson(String json) {
        JsonNode o;
        try {
            o = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build().readTree(json);
        } catch (JsonProcessingException e) {
            String at = e.getLocation() == null ? ""
                    : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
            throw new IllegalArgumentException("bad JSON for a tokenizer: " + e.getOriginalMessage() + at);
        }
        return fromJson(o);
    }

    /** Rebuilds a tokenizer from an already parsed JSON object, e.g. the {@code "tokenizer"} of a checkpoint. */
    static Tokenizer fromJson(JsonNode o) {
        if (o == null || !o.isObject()) {
            throw new IllegalArgumentException("a tokenizer must be a JSON object, got "
                    + (o == null || o.isMissingNode() ? "no JSON value" : o));
        }
        JsonNode type = o.path("type");
        if (!type.isTextual()) {
            throw new IllegalArgumentException("tokenizer field \"type\" must be a string (\"char\" or \"bpe\"), got "
                    + (type.isMissingNode() ? "none" : type));
        }
        return switch (type.asText()) {
            case "char" -> CharTokenizer.fromJsonObject(o);
            case "bpe" -> BpeTokenizer.fromJsonObject(o);
            case "bytelevel-bpe" -> ByteLevelBpe.fromJsonObject(o);
            default -> throw new IllegalArgumentException("unknown tokenizer type " + type
                    + ": expected \"char\", \"bpe\" or \"bytelevel-bpe\"");
        };
    }
}
