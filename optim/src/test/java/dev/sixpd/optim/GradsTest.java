package dev.sixpd.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sixpd.tensor.Rng;
import java.util.List;
import org.junit.jupiter.api.Test;

class GradsTest {
    private static List<Param> params() {
        Rng r = new Rng(21);
        Param a = new Param("a.weight", new int[] {5, 7});
        Param b = new Param("a.bias", new int[] {5});
        Param c = new Param("c.bias", new int[] {0});
        r.fillNormal(a.grad, 0, 1);
        r.fillNormal(b.grad, 0, 1);
        return List.of(a, b, c);
    }

    private static double norm(List<Param> ps) {
        double s = 0;
        for (Param p : ps) {
            for (float g : p.grad) {
                s += (double) g * g;
            }
        }
        return Math.sqrt(s);
    }

    @Test
    void globalNormIsTheDoubleL2Norm() {
        List<Param> ps = params();
        assertEquals(norm(ps), Grads.globalNorm(ps), 1e-12 * norm(ps));
    }

    @Test
    void clippingScalesToMaxNormAndReturnsThePreClipNorm() {
        List<Param> ps = params();
        double before = norm(ps);
        float g0 = ps.get(0).grad[0];
        double ret = Grads.clipGlobalNorm(ps, 1.0);
        assertEquals(before, ret, 1e-9);
        assertEquals(1.0, norm(ps), 1e-6);
        assertEquals(g0 / before, ps.get(0).grad[0], 1e-6);
        // below the threshold nothing changes
        float[] copy = ps.get(0).grad.clone();
        assertEquals(1.0, Grads.clipGlobalNorm(ps, 10.0), 1e-6);
        assertEquals(copy[3], ps.get(0).grad[3]);
    }

    @Test
    void nonFiniteNormLeavesGradientsAlone() {
        List<Param> ps = params();
        ps.get(1).grad[2] = Float.POSITIVE_INFINITY;
        float g0 = ps.get(0).grad[0];
        assertTrue(Double.isInfinite(Grads.clipGlobalNorm(ps, 1.0)));
        assertEquals(g0, ps.get(0).grad[0]);
        assertFalse(Grads.allFinite(ps));
        ps.get(1).grad[2] = Float.NaN;
        assertFalse(Grads.allFinite(ps));
        ps.get(1).grad[2] = 0f;
        assertTrue(Grads.allFinite(ps));
    }

    @Test
    void allFiniteFindsInfInVectorBodyAndTail() {
        for (int n : new int[] {1, 7, 8, 9, 33}) {
            for (int at = 0; at < n; at++) {
                float[] a = new float[n];
                a[at] = Float.NEGATIVE_INFINITY;
                assertFalse(Grads.allFinite(a, 0, n), "n=" + n + " at=" + at);
                a[at] = Float.MAX_VALUE;
                assertTrue(Grads.allFinite(a, 0, n));
            }
        }
    }

    @Test
    void microbatchAveragingScalesByOneOverK() {
        List<Param> ps = params();
        float g = ps.get(0).grad[4];
        Grads.averageMicrobatches(ps, 4);
        assertEquals(g * 0.25f, ps.get(0).grad[4]);
        Grads.zero(ps);
        assertEquals(0f, ps.get(1).grad[0]);
    }

    @Test
    void globalNormOfALargeTensorIsTheSameForAnyThreadCount() {
        Param big = new Param("big.weight", new int[] {SlotOptimizer.PARALLEL_MIN * 3 + 5});
        new Rng(22).fillNormal(big.grad, 0, 1);
        int old = dev.sixpd.tensor.Parallel.threads();
        try {
            dev.sixpd.tensor.Parallel.setThreads(1);
            double one = Grads.globalNorm(List.of(big));
            dev.sixpd.tensor.Parallel.setThreads(3);
            double three = Grads.globalNorm(List.of(big));
            assertEquals(one, three, 0.0);
            assertEquals(norm(List.of(big)), one, 1e-12 * one);
        } finally {
            dev.sixpd.tensor.Parallel.setThreads(old);
        }
    }

    @Test
    void gradientWorkIsChargedToTheOptimizerPhase() {
        List<Param> ps = params();
        long n = Grads.count(ps);
        dev.sixpd.tensor.Ledger.Phase old = dev.sixpd.tensor.Ledger.setPhase(dev.sixpd.tensor.Ledger.Phase.BACKWARD);
        try {
            var s0 = dev.sixpd.tensor.Ledger.snapshot();
            Grads.clipGlobalNorm(ps, 1e-3); // norm (2n+1) + scale (n)
            var d = dev.sixpd.tensor.Ledger.snapshot().minus(s0);
            assertEquals(3 * n + 1, d.flops(dev.sixpd.tensor.Ledger.Phase.OPTIMIZER));
            assertEquals(0, d.flops(dev.sixpd.tensor.Ledger.Phase.BACKWARD));
            assertEquals(dev.sixpd.tensor.Ledger.Phase.BACKWARD, dev.sixpd.tensor.Ledger.phase());
        } finally {
            dev.sixpd.tensor.Ledger.setPhase(old);
        }
    }
}
