package dev.sixpd.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The kernel profile: its FLOPs are the ledger's, its intervals fit in the wall time, it names the kernels. */
class KernelProfileTest {
    @AfterEach
    void off() {
        KernelProfile.stop();
        Ledger.setPhase(Ledger.Phase.OTHER);
    }

    @Test
    void flopsAreTheLedgersAndTimesFitTheRegion() {
        boolean was = Ledger.enabled();
        Ledger.setEnabled(true);
        int n = 100_003;
        float[] a = new float[n];
        float[] b = new float[n];
        new Rng(1).fillNormal(a, 0, 1);
        Ledger.Snapshot before = Ledger.snapshot();
        long t0 = System.nanoTime();
        KernelProfile.start();
        Ledger.setPhase(Ledger.Phase.FORWARD);
        Gelu.forward(b, a, n);
        Elementwise.accumulate(b, a, n);   // reaches the ledger through Elementwise.add
        Elementwise.accumulate(b, a, n);   // the same kernel again, right after: one interval
        Ledger.setPhase(Ledger.Phase.BACKWARD);
        Gelu.backward(a, b, b, n);
        KernelProfile.pause();
        long wall = System.nanoTime() - t0;
        List<KernelProfile.Entry> es = KernelProfile.stop();
        Ledger.Snapshot d = Ledger.snapshot().minus(before);
        Ledger.setEnabled(was);

        assertEquals(3, es.size());
        assertEquals("Gelu.forward", es.get(0).kernel);
        assertEquals("Elementwise.accumulate", es.get(1).kernel); // the entry point, not the private helper
        assertEquals(Set.of(Ledger.Kind.ELEMENTWISE), es.get(1).kinds());
        assertEquals(1, es.get(1).intervals());
        assertEquals(Ledger.Phase.BACKWARD, es.get(2).phase);
        assertEquals("Gelu.backward", es.get(2).kernel);
        long flops = 0;
        long nanos = 0;
        for (KernelProfile.Entry e : es) {
            flops += e.flops();
            nanos += e.nanos();
            assertTrue(e.nanos() > 0, e.kernel);
        }
        assertEquals(d.totalFlops(), flops);
        assertEquals(Gelu.flopsForward(n) + 2L * n + Gelu.flopsBackward(n), flops);
        assertTrue(nanos <= wall, nanos + " ns of kernels in " + wall + " ns");
    }

    @Test
    void offByDefaultAndAfterStop() {
        assertFalse(KernelProfile.running());
        KernelProfile.start();
        assertTrue(KernelProfile.running());
        KernelProfile.stop();
        assertFalse(KernelProfile.running());
        Gelu.forward(new float[3], new float[3], 3);
        assertTrue(KernelProfile.stop().isEmpty());
    }
}
