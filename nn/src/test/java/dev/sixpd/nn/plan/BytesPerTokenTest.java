package dev.sixpd.nn.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class BytesPerTokenTest {
    /** A toy tokenizer: one token per whitespace-separated word. */
    private static int[] words(String s) {
        return s.isBlank() ? new int[0] : new int[s.trim().split("\\s+").length];
    }

    /** A character-level tokenizer: one token per UTF-16 char. */
    private static int[] chars(String s) {
        return s.chars().toArray();
    }

    @Test
    void bytesOfUtf8TextPerToken() {
        assertEquals(11.0 / 2, BytesPerToken.measure("hello world", BytesPerTokenTest::words));
        assertEquals(1.0, BytesPerToken.measure("hello", BytesPerTokenTest::chars));
        // 'é' is 2 UTF-8 bytes: "héllo" is 6 bytes over 5 characters
        assertEquals(6.0 / 5, BytesPerToken.measure("h\u00e9llo", BytesPerTokenTest::chars));
    }

    @Test
    void refusesEmptySamples() {
        assertThrows(IllegalArgumentException.class, () -> BytesPerToken.measure("", BytesPerTokenTest::chars));
        assertThrows(IllegalArgumentException.class, () -> BytesPerToken.measure("   ", BytesPerTokenTest::words));
    }
}
