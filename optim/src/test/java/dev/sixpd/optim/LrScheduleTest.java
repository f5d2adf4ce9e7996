package dev.sixpd.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LrScheduleTest {
    @Test
    void warmupThenCosineToMin() {
        LrSchedule s = new LrSchedule(1e-3, 1e-4, 10, 110);
        assertEquals(1e-4, s.lr(0), 1e-15); // (0+1)/10 of max
        assertEquals(5e-4, s.lr(4), 1e-15);
        assertEquals(1e-3, s.lr(9), 1e-15); // warm-up ends at max
        assertEquals(1e-3, s.lr(10), 1e-15); // cosine starts at max
        assertEquals(5.5e-4, s.lr(60), 1e-15); // half way: (max+min)/2
        assertEquals(1e-4 + 0.5 * (1 + Math.cos(Math.PI * 0.25)) * 9e-4, s.lr(35), 1e-15);
        assertEquals(1e-4, s.lr(110), 1e-15); // end
        assertEquals(1e-4, s.lr(1000), 1e-15);
        assertEquals(3e-4, LrSchedule.constant(3e-4).lr(12345), 0);
    }

    @Test
    void noWarmup() {
        LrSchedule s = new LrSchedule(2.0, 0.0, 0, 4);
        assertEquals(2.0, s.lr(0), 1e-15);
        assertEquals(1.0, s.lr(2), 1e-15);
        assertEquals(0.0, s.lr(4), 1e-15);
    }

    @Test
    void badArguments() {
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(0, 0, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1, 2, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1, 0, 5, 4));
    }
}
