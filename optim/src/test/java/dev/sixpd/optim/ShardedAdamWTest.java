package dev.sixpd.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sixpd.mpi.Mpi;
import dev.sixpd.mpi.MpiRun;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * ZeRO stages 0 to 3 on real ranks: {@code mpirun -np N} starts {@link ShardedAdamWCheckMain}, which compares
 * every step with the unsharded {@link AdamW}; this test asserts on the exit code and each rank's output. Skipped,
 * with a message, when Open MPI is not installed (CI installs it: .ci/run). Plus the formulas, locally.
 */
class ShardedAdamWTest {
    private static final List<String> RANK_FLAGS = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Xmx256m");
    private static final Duration TIMEOUT = Duration.ofSeconds(90);

    private static MpiRun.Result run(int ranks) throws Exception {
        Assumptions.assumeTrue(MpiRun.mpirun().isPresent() && Mpi.findLibrary().isPresent(),
                "Open MPI is not installed (no mpirun or libmpi.so.40): skipping the multi-rank tests;"
                        + " install it with apt-get install " + Mpi.PACKAGES + " (.ci/run does)");
        MpiRun.Result r = MpiRun.run(ranks, RANK_FLAGS, ShardedAdamWCheckMain.class.getName(), List.of(), TIMEOUT);
        assertFalse(r.timedOut(), "mpirun did not finish within " + TIMEOUT + ":\n" + r.output());
        assertEquals(0, r.exitCode(), "mpirun exit code; output:\n" + r.output());
        for (int rank = 0; rank < ranks; rank++) {
            assertTrue(r.output().contains("rank " + rank + " OK"), "rank " + rank + " did not pass:\n" + r.output());
        }
        assertFalse(r.output().contains("FAIL"), r.output());
        return r;
    }

    @Test
    void zero0123OnTwoRanksEqualUnshardedAdamWBitForBit() throws Exception {
        MpiRun.Result r = run(2);
        for (int stage = 0; stage <= 3; stage++) {
            assertTrue(r.output().contains("stage " + stage + ", N=2"), r.output());
        }
    }

    @Test
    void zero0123OnThreeRanksWithPadding() throws Exception {
        run(3);
    }

    @Test
    void memoryFormulasGiveThePapersNumbersFor7BOn8Devices() {
        long psi = 7_000_000_000L;
        // ZeRO paper, Figure 1: 120 GB... for 7.5B; the planner's 7B on 8 devices: 112 / 38.5 / 26.25 / 14 GB
        assertEquals(112e9, ShardedAdamW.Memory.mixedPrecisionFormula(0, psi, 8), 1);
        assertEquals(38.5e9, ShardedAdamW.Memory.mixedPrecisionFormula(1, psi, 8), 1);
        assertEquals(26.25e9, ShardedAdamW.Memory.mixedPrecisionFormula(2, psi, 8), 1);
        assertEquals(14e9, ShardedAdamW.Memory.mixedPrecisionFormula(3, psi, 8), 1);
        assertEquals(16 * 100.0, ShardedAdamW.Memory.fp32Formula(0, 100, 4), 0);
        assertEquals(4 * 100.0 + 12 * 100.0 / 4, ShardedAdamW.Memory.fp32Formula(2, 100, 4), 0);
        // traffic: 2Ψ for all-reduce and ZeRO-1/2, 3Ψ for ZeRO-3, × 4 bytes × (N-1)/N
        assertEquals(2 * 4.0 * 1000 / 2, ShardedAdamW.trafficFormulaBytes(1, 1000, 2), 0);
        assertEquals(3 * 4.0 * 1000 * 3 / 4, ShardedAdamW.trafficFormulaBytes(3, 1000, 4), 0);
    }

    @Test
    void unknownStagesAreRefusedWithAMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ShardedAdamW(null, 4, AdamW.gptDefaults(), List.of()));
        assertTrue(e.getMessage().contains("0, 1, 2 or 3") && e.getMessage().contains("got 4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ShardedAdamW(null, -1, AdamW.gptDefaults(), List.of()));
    }
}
