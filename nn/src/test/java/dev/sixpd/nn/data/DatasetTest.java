package dev.sixpd.nn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sixpd.tensor.Rng;
import org.junit.jupiter.api.Test;

class DatasetTest {
    private static int[] iota(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        return a;
    }

    @Test
    void splitIsTheLastFractionAndDeterministic() {
        Dataset d = new Dataset(iota(1000), 0.1, 8);
        assertEquals(900, d.train().length);
        assertEquals(100, d.validation().length);
        assertEquals(899, d.train()[899]);
        assertEquals(900, d.validation()[0]);
        Dataset none = new Dataset(iota(50), 0.0, 8);
        assertEquals(50, none.train().length);
        assertThrows(IllegalStateException.class, () -> none.randomBatch(Dataset.Split.VALIDATION, 1, new Rng(1)));
    }

    @Test
    void windowsAreConsecutiveWithTargetsShiftedByOneAndSeeded() {
        int t = 5;
        Dataset d = new Dataset(iota(200), 0.1, t);
        Dataset.Batch a = d.randomBatch(Dataset.Split.TRAIN, 4, new Rng(7));
        Dataset.Batch b = d.randomBatch(Dataset.Split.TRAIN, 4, new Rng(7));
        assertArrayEquals(a.inputs(), b.inputs());
        assertArrayEquals(a.targets(), b.targets());
        assertEquals(4 * t, a.inputs().length);
        for (int r = 0; r < 4; r++) {
            int s = a.inputs()[r * t];
            for (int k = 0; k < t; k++) {
                assertEquals(s + k, a.inputs()[r * t + k]);
                assertEquals(s + k + 1, a.targets()[r * t + k]);
            }
            assertTrue(s + t < 180, "window must stay inside the training split");
        }
        // every start 0 .. n-T-1 is reachable, and nothing beyond
        Rng rng = new Rng(3);
        boolean[] hit = new boolean[180];
        for (int i = 0; i < 5000; i++) {
            hit[d.randomBatch(Dataset.Split.TRAIN, 1, rng).inputs()[0]] = true;
        }
        for (int s = 0; s < 180; s++) {
            assertEquals(s <= 180 - t - 1, hit[s], "start " + s);
        }
        Dataset.Batch v = d.randomBatch(Dataset.Split.VALIDATION, 2, new Rng(1));
        assertTrue(v.inputs()[0] >= 180);
    }

    @Test
    void sequentialBatchesAreFixedAndSpread() {
        Dataset d = new Dataset(iota(1000), 0.5, 10);
        Dataset.Batch x = d.sequentialBatch(Dataset.Split.VALIDATION, 4, 1, 8);
        Dataset.Batch y = d.sequentialBatch(Dataset.Split.VALIDATION, 4, 1, 8);
        assertArrayEquals(x.inputs(), y.inputs());
        // 490 starts, 8 windows: stride 61.25; window 4 starts at floor(4 * 61.25) = 245 -> token 500 + 245
        assertEquals(745, x.inputs()[0]);
        assertEquals(746, x.targets()[0]);
    }

    @Test
    void tooShortDataSaysWhatToDo() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Dataset(iota(60), 0.1, 64));
        assertTrue(e.getMessage().contains("54") && e.getMessage().contains("65")
                && e.getMessage().contains("training"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Dataset(iota(200), 0.1, 64));
        assertTrue(e.getMessage().contains("validation") && e.getMessage().contains("20 tokens"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Dataset(iota(200), 1.0, 4));
    }
}
