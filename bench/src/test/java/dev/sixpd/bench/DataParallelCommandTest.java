package dev.sixpd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sixpd.mpi.Mpi;
import dev.sixpd.mpi.MpiRun;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code bench dp}: its options, and the ranks' side on 2 real ranks (tiny, 2 steps): rank 0 alone reports one JSON
 * line whose reduction time lies inside the step time. Nothing is asserted about speed. The ranks are skipped,
 * with a message, when Open MPI is not installed.
 */
class DataParallelCommandTest {
    @Test
    void options() {
        CommandLine cl = BenchMain.commandLine();
        assertTrue(cl.getSubcommands().get("dp").getCommand() instanceof DataParallelCommand);
        cl.parseArgs("dp", "--preset", "small", "--zero", "1", "--ranks", "4");
        DataParallelCommand c = cl.getSubcommands().get("dp").getCommand();
        assertEquals("small", c.preset);
        assertEquals(1, c.zero);
        assertEquals(4, c.ranks);
    }

    @Test
    void twoRanksReportOneLine() throws Exception {
        Assumptions.assumeTrue(MpiRun.mpirun().isPresent() && Mpi.findLibrary().isPresent(),
                "Open MPI is not installed: skipping; install it with apt-get install " + Mpi.PACKAGES);
        // ZeRO-2 and ZeRO-3 communicate layer by layer inside backward (and forward): the reduction is timed there
        for (String zero : List.of("2", "3")) {
            twoRanks(zero);
        }
    }

    private static void twoRanks(String zero) throws Exception {
        MpiRun.Result r = MpiRun.run(2, List.of("-Xmx512m"), DataParallelCommand.class.getName(),
                List.of("tiny", "2", zero, "2", "1", "0"), Duration.ofSeconds(120));
        assertFalse(r.timedOut(), r.output());
        assertEquals(0, r.exitCode(), r.output());
        List<String> lines = r.output().lines().filter(l -> l.startsWith("{\"dp\"")).toList();
        assertEquals(1, lines.size(), r.output());
        JsonNode o = new ObjectMapper().readTree(lines.get(0));
        double step = o.get("step_ms").asDouble();
        double reduce = o.get("reduce_ms").asDouble();
        assertTrue(reduce >= 0 && reduce < step, r.output());
    }
}
