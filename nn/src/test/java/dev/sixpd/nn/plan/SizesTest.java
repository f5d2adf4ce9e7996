package dev.sixpd.nn.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SizesTest {
    @Test
    void parsesCountsWithSuffixesAndExponents() {
        assertEquals(7e9, Sizes.parseCount("7e9"));
        assertEquals(7e9, Sizes.parseCount("7B"));
        assertEquals(7e9, Sizes.parseCount("7b"));
        assertEquals(7e9, Sizes.parseCount("7G"));
        assertEquals(1.5e12, Sizes.parseCount("1.5T"));
        assertEquals(350e6, Sizes.parseCount("350M"));
        assertEquals(10e9, Sizes.parseCount("10B"));
        assertEquals(10e3, Sizes.parseCount("10k"));
        assertEquals(2e15, Sizes.parseCount("2P"));
        assertEquals(124_439_808, Sizes.parseCount("124,439,808"));
        assertEquals(1000, Sizes.parseCount("1_000"));
        assertEquals(1e9, Sizes.parseCount("1e3M"));
        assertEquals(0.4, Sizes.parseCount("0.4"));
        assertEquals(0.5, Sizes.parseCount(".5"));
        assertEquals(312e12, Sizes.parseCount(" 312T "));
        assertEquals(3.12e14, Sizes.parseCount("3.12E+14"));
        assertEquals(0, Sizes.parseCount("0"));
        assertEquals(12, Sizes.parseInt("--layers", "12"));
    }

    @Test
    void refusesBadCounts() {
        for (String bad : new String[] {"-7B", "7X", "", "abc", "NaN", "Infinity", "1e999", "7 B B", "0x10", "1..2"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Sizes.parseCount("--params", bad), bad);
            assertTrue(e.getMessage().startsWith("--params"), e.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sizes.parseCount("--tokens", "-1"))
                .getMessage().contains("negative"));
        assertThrows(IllegalArgumentException.class, () -> Sizes.parseInt("--layers", "1.5"));
        assertThrows(IllegalArgumentException.class, () -> Sizes.parseInt("--layers", "1T"));
    }

    @Test
    void parsesDurations() {
        assertEquals(30 * 86400, Sizes.parseDurationSeconds("--deadline", "30d"));
        assertEquals(12 * 3600, Sizes.parseDurationSeconds("--deadline", "12h"));
        assertEquals(90 * 60, Sizes.parseDurationSeconds("--deadline", "90min"));
        assertEquals(3600, Sizes.parseDurationSeconds("--deadline", "3600s"));
        assertEquals(14 * 86400, Sizes.parseDurationSeconds("--deadline", "2w"));
        assertEquals(3 * 86400, Sizes.parseDurationSeconds("--deadline", "3"));
        assertThrows(IllegalArgumentException.class, () -> Sizes.parseDurationSeconds("--deadline", "soon"));
        assertThrows(IllegalArgumentException.class, () -> Sizes.parseDurationSeconds("--deadline", "-2d"));
    }

    @Test
    void bytesWithDecimalAndBinaryUnits() {
        assertEquals(24e9, Sizes.parseBytes("--memory", "24GB"));
        assertEquals(24e9, Sizes.parseBytes("--memory", "24 gb"));
        assertEquals(80.0 * (1L << 30), Sizes.parseBytes("--memory", "80GiB"));
        assertEquals(1.5e12, Sizes.parseBytes("--data-bytes", "1.5TB"));
        assertEquals(8e10, Sizes.parseBytes("--memory", "8e10"));
        assertEquals(512, Sizes.parseBytes("--memory", "512B"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Sizes.parseBytes("--memory", "24 gigs"));
        assertTrue(e.getMessage().contains("--memory") && e.getMessage().contains("unknown unit"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Sizes.parseBytes("--memory", "-1GB"));
    }
}
