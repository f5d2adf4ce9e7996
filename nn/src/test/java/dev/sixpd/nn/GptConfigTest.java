package dev.sixpd.nn;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GptConfigTest {
    @Test
    void presetsHaveTheIssueShapes() {
        GptConfig tiny = GptConfig.preset("tiny", 100);
        assertEquals(new GptConfig(100, 64, 2, 64, 4), tiny);
        assertEquals(new GptConfig(100, 128, 4, 128, 4), GptConfig.preset("small", 100));
        assertEquals(new GptConfig(100, 256, 6, 384, 6), GptConfig.preset("MEDIUM", 100));
        assertEquals(16, tiny.headSize());
    }

    @Test
    void unknownPresetListsThePresets() {
        var e = assertThrows(IllegalArgumentException.class, () -> GptConfig.preset("huge", 10));
        assertTrue(e.getMessage().contains("huge") && e.getMessage().contains("tiny, small, medium"), e.getMessage());
    }

    @Test
    void headsMustDivideDModel() {
        var e = assertThrows(IllegalArgumentException.class, () -> new GptConfig(10, 8, 1, 64, 5));
        assertTrue(e.getMessage().contains("heads (5) must divide d_model (64)"), e.getMessage());
        assertTrue(e.getMessage().contains("e.g. 4"), e.getMessage());
    }

    @Test
    void sizesMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> new GptConfig(0, 8, 1, 8, 1));
        assertThrows(IllegalArgumentException.class, () -> new GptConfig(5, -1, 1, 8, 1));
        var e = assertThrows(IllegalArgumentException.class, () -> new GptConfig(5, 8, 0, 8, 1));
        assertTrue(e.getMessage().contains("layers must be positive"), e.getMessage());
    }

    @Test
    void parameterCountFormula() {
        // GPT-2 small: V=50257, T=1024, L=12, C=768 has 124,439,808 parameters
        assertEquals(124_439_808L, new GptConfig(50257, 1024, 12, 768, 12).parameterCount());
    }

    @Test
    void mapRoundTrip() {
        GptConfig c = new GptConfig(77, 32, 3, 48, 6);
        assertEquals(c, GptConfig.fromMap(c.toMap()));
    }
}
