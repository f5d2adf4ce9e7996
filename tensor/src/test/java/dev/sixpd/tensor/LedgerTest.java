package dev.sixpd.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class LedgerTest {
    @Test
    void countsByPhaseAndKindAndSnapshotsSubtract() {
        Ledger.Phase old = Ledger.setPhase(Ledger.Phase.FORWARD);
        try {
            Ledger.Snapshot s0 = Ledger.snapshot();
            Ledger.add(Ledger.Kind.MATMUL, 100, 8);
            Ledger.setPhase(Ledger.Phase.BACKWARD);
            Ledger.add(Ledger.Kind.MATMUL, 200, 8);
            Ledger.add(Ledger.Kind.NORM, 5, 8);
            Ledger.setEnabled(false);
            Ledger.add(Ledger.Kind.NORM, 1000, 8);
            Ledger.setEnabled(true);
            Ledger.Snapshot d = Ledger.snapshot().minus(s0);
            assertEquals(100, d.flops(Ledger.Phase.FORWARD, Ledger.Kind.MATMUL));
            assertEquals(205, d.flops(Ledger.Phase.BACKWARD));
            assertEquals(305, d.totalFlops());
            assertEquals(16, d.bytes(Ledger.Phase.BACKWARD, Ledger.Kind.MATMUL) + d.bytes(Ledger.Phase.FORWARD, Ledger.Kind.MATMUL));
        } finally {
            Ledger.setPhase(old);
            Ledger.setEnabled(true);
        }
    }
}
