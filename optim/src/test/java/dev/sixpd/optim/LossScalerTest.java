package dev.sixpd.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class LossScalerTest {
    @Test
    void dynamicHalvesAndSkipsOnOverflowAndDoublesAfter2000CleanSteps() {
        LossScaler s = LossScaler.dynamic();
        assertEquals(65536f, s.scale());
        s.update(false);
        assertEquals(32768f, s.scale());
        assertEquals(1, s.skippedSteps());
        for (int i = 0; i < 1999; i++) {
            s.update(true);
        }
        assertEquals(32768f, s.scale());
        assertEquals(1999, s.cleanSteps());
        s.update(true);
        assertEquals(65536f, s.scale());
        assertEquals(0, s.cleanSteps());
        // an overflow restarts the clean count
        for (int i = 0; i < 1500; i++) {
            s.update(true);
        }
        s.update(false);
        assertEquals(32768f, s.scale());
        for (int i = 0; i < 1999; i++) {
            s.update(true);
        }
        assertEquals(32768f, s.scale());
        assertEquals(2, s.skippedSteps());
    }

    @Test
    void knobsAreAdjustableAndScaleHasAFloor() {
        LossScaler s = LossScaler.dynamic(8f, 4f, 0.25f, 3, 1f);
        s.update(false);
        assertEquals(2f, s.scale());
        s.update(false);
        assertEquals(1f, s.scale()); // floor
        s.update(true);
        s.update(true);
        s.update(true);
        assertEquals(4f, s.scale());
    }

    @Test
    void unscaleAndCheckDividesAndDetectsOverflow() {
        Param p = new Param("w.weight", new int[] {9}, true);
        LossScaler s = LossScaler.dynamic();
        for (int i = 0; i < 9; i++) {
            p.grad[i] = 65536f * i;
        }
        assertTrue(s.unscaleAndCheck(List.of(p)));
        assertEquals(5f, p.grad[5]);
        assertEquals(1, s.cleanSteps());
        p.grad[8] = Float.POSITIVE_INFINITY;
        assertFalse(s.unscaleAndCheck(List.of(p)));
        assertEquals(32768f, s.scale());
        assertEquals(1, s.skippedSteps());
    }

    @Test
    void staticAndNoneKeepTheirScaleButCountSkips() {
        LossScaler st = LossScaler.parse("1024");
        assertEquals(LossScaler.Mode.STATIC, st.mode());
        st.update(false);
        assertEquals(1024f, st.scale());
        assertEquals(1, st.skippedSteps());
        LossScaler none = LossScaler.parse("none");
        assertEquals(1f, none.scale());
        Param p = new Param("b.bias", new int[] {2});
        p.grad[0] = 3f;
        assertTrue(none.unscaleAndCheck(List.of(p)));
        assertEquals(3f, p.grad[0]);
        assertEquals(LossScaler.Mode.DYNAMIC, LossScaler.parse("Dynamic").mode());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LossScaler.parse("big"));
        assertTrue(e.getMessage().contains("big"));
        assertThrows(IllegalArgumentException.class, () -> LossScaler.parse("-1"));
    }
}
