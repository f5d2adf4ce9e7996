package dev.sixpd.nn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MarkovSourceTest {
    private static double h(double p) {
        return -p * Math.log(p) - (1 - p) * Math.log(1 - p);
    }

    @Test
    void twoStateChainHasTheHandComputedEntropyRate() {
        // P = [[0.9, 0.1], [0.4, 0.6]]: π = (b, a)/(a + b) with a = 0.1, b = 0.4 -> (0.8, 0.2);
        // H = 0.8·h(0.1) + 0.2·h(0.4)
        MarkovSource m = new MarkovSource(new double[][] {{0.9, 0.1}, {0.4, 0.6}});
        assertArrayEquals(new double[] {0.8, 0.2}, m.stationary(), 1e-15);
        assertEquals(0.8 * h(0.1) + 0.2 * h(0.4), m.entropyRate(), 1e-15);
    }

    @Test
    void uniformAndDeterministicChains() {
        assertEquals(Math.log(7), MarkovSource.random(7, 0.0, 1).entropyRate(), 1e-14);
        // a deterministic cycle 0 -> 1 -> 2 -> 0 has entropy 0 and uniform π
        MarkovSource cyc = new MarkovSource(new double[][] {{0, 1, 0}, {0, 0, 1}, {1, 0, 0}});
        assertEquals(0.0, cyc.entropyRate(), 0);
        assertArrayEquals(new double[] {1 / 3.0, 1 / 3.0, 1 / 3.0}, cyc.stationary(), 1e-15);
    }

    @Test
    void randomChainIsSeededAndItsSamplesMatchItsEntropy() {
        MarkovSource m = MarkovSource.standard();
        MarkovSource again = MarkovSource.standard();
        assertEquals(m.entropyRate(), again.entropyRate(), 0);
        assertEquals(1.832, m.entropyRate(), 0.001); // the figure quoted in standard()'s Javadoc
        int n = 400_000;
        int[] s = m.sample(n, 42);
        assertArrayEquals(s, again.sample(n, 42));
        // empirical conditional entropy of the sample ≈ H
        int k = m.alphabetSize();
        long[][] c = new long[k][k];
        for (int t = 1; t < n; t++) {
            c[s[t - 1]][s[t]]++;
        }
        double nll = 0;
        for (int t = 1; t < n; t++) {
            nll -= Math.log(m.transition(s[t - 1], s[t]));
        }
        assertEquals(m.entropyRate(), nll / (n - 1), 0.01);
        // and the text maps back to the symbols through the source's tokenizer
        String text = m.text(1000, 42);
        int[] ids = m.tokenizer().encode(text);
        assertArrayEquals(java.util.Arrays.copyOf(s, 1000), ids);
        assertEquals(k, m.tokenizer().vocabSize());
    }

    @Test
    void badMatricesAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new MarkovSource(new double[][] {{0.5, 0.6}, {0.5, 0.5}}));
        assertTrue(e.getMessage().contains("row 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new MarkovSource(new double[][] {{1, 0}, {0, 1}}));
        assertTrue(e.getMessage().contains("stationary"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new MarkovSource(new double[][] {{1, 0}}));
        assertThrows(IllegalArgumentException.class, () -> MarkovSource.random(27, 1, 1));
    }
}
