package dev.sixpd.nn.plan;

import java.nio.charset.StandardCharsets;

/**
 * Measures how many bytes of real text one token stands for, so the planner's storage line uses a measured ratio
 * instead of an assumed one: {@code bytes/token = UTF-8 bytes of the sample / tokens the tokenizer makes of it}.
 * Stateless and thread-safe (if the encoder is).
 */
public final class BytesPerToken {
    /** A tokenizer's encode function, e.g. {@code tokenizer::encode}. */
    @FunctionalInterface
    public interface Encoder {
        int[] encode(String text);
    }

    private BytesPerToken() {
    }

    /**
     * UTF-8 bytes of {@code text} divided by the number of tokens {@code encoder} produces for it.
     *
     * @throws IllegalArgumentException for an empty sample or one that encodes to no tokens
     */
    public static double measure(String text, Encoder encoder) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("bytes per token needs a non-empty text sample");
        }
        int[] tokens = encoder.encode(text);
        if (tokens == null || tokens.length == 0) {
            throw new IllegalArgumentException("the tokenizer produced no tokens for a " + text.length()
                    + "-character sample; cannot measure bytes per token");
        }
        return (double) text.getBytes(StandardCharsets.UTF_8).length / tokens.length;
    }
}
