package dev.sixpd.mpi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The binding on real ranks: {@code mpirun -np N} starts {@link MpiCheckMain}, which checks every collective
 * against a serial computation; this test asserts on mpirun's exit code and each rank's output line. Skipped, with
 * a message, when Open MPI is not installed (CI installs it: .ci/run).
 */
class MpiTest {
    /** Light JVMs for the ranks: the checks are small, start-up dominates. */
    static final List<String> RANK_FLAGS = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx128m");
    static final Duration TIMEOUT = Duration.ofSeconds(60);

    static void assumeMpi() {
        Assumptions.assumeTrue(MpiRun.mpirun().isPresent() && Mpi.findLibrary().isPresent(),
                "Open MPI is not installed (no mpirun or libmpi.so.40): skipping the multi-rank tests;"
                        + " install it with apt-get install " + Mpi.PACKAGES + " (.ci/run does)");
    }

    private static MpiRun.Result run(int ranks, String... args) throws Exception {
        MpiRun.Result r = MpiRun.run(ranks, RANK_FLAGS, MpiCheckMain.class.getName(), List.of(args), TIMEOUT);
        assertFalse(r.timedOut(), "mpirun did not finish within " + TIMEOUT + ":\n" + r.output());
        return r;
    }

    @Test
    void collectivesOnTwoRanksEqualTheSerialComputationBitForBit() throws Exception {
        assumeMpi();
        MpiRun.Result r = run(2);
        assertEquals(0, r.exitCode(), "mpirun exit code; output:\n" + r.output());
        for (int rank = 0; rank < 2; rank++) {
            assertTrue(r.output().contains("rank " + rank + " OK: "), "rank " + rank + " did not pass:\n" + r.output());
        }
        assertTrue(r.output().contains("error mapped: MPI_Bcast(count=4, type=FLOAT, root=2) failed: MPI_ERR_ROOT"),
                r.output());
        assertFalse(r.output().contains("FAIL"), r.output());
    }

    @Test
    void collectivesOnThreeRanks() throws Exception {
        assumeMpi();
        MpiRun.Result r = run(3);
        assertEquals(0, r.exitCode(), "mpirun exit code; output:\n" + r.output());
        for (int rank = 0; rank < 3; rank++) {
            assertTrue(r.output().contains("rank " + rank + " OK: "), "rank " + rank + " did not pass:\n" + r.output());
        }
    }

    @Test
    void aFailingRankFailsTheJob() throws Exception {
        assumeMpi();
        MpiRun.Result r = run(2, "--fail-on-rank", "1");
        assertNotEquals(0, r.exitCode(), "a rank failed but mpirun exited 0:\n" + r.output());
        assertTrue(r.output().contains("rank 1 FAIL: java.lang.AssertionError: deliberate failure on rank 1"),
                r.output());
        assertFalse(r.output().contains("rank 1 OK"), r.output());
    }

    @Test
    void aMissingLibraryNamesThePackagesToInstall() {
        String old = System.getProperty("sixpd.mpi.lib");
        System.setProperty("sixpd.mpi.lib", "/nonexistent/libmpi.so.40");
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class, Mpi::init);
            assertTrue(e.getMessage().contains("apt-get install openmpi-bin libopenmpi-dev"), e.getMessage());
            assertTrue(e.getMessage().contains("/nonexistent/libmpi.so.40"), e.getMessage());
        } finally {
            if (old == null) {
                System.clearProperty("sixpd.mpi.lib");
            } else {
                System.setProperty("sixpd.mpi.lib", old);
            }
        }
    }

    @Test
    void theCommandLineWorksWithoutSshAndAsRoot() {
        List<String> cmd = MpiRun.command(java.nio.file.Path.of("/usr/bin/mpirun"), 2, List.of("java", "Main"));
        assertEquals(List.of("/usr/bin/mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-np",
                "2", "java", "Main"), cmd);
        assertEquals("isolated", MpiRun.environment().get("OMPI_MCA_plm"));
        assertThrows(IllegalArgumentException.class, () -> MpiRun.command(java.nio.file.Path.of("mpirun"), 0,
                List.of()));
    }
}
