package dev.sixpd.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sixpd.bench.KernelSuite.Family;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The command line's parsing (nothing is run: no timed tests). */
class BenchMainTest {
    @Test
    void everyFamilyHasASubcommandAndGemmKeepsItsOwn() {
        CommandLine cl = BenchMain.commandLine();
        for (String name : List.of("gemm", "peak", "jmh", "attention", "softmax", "layernorm", "gelu", "crossentropy",
                "adamw", "convert")) {
            assertTrue(cl.getSubcommands().containsKey(name), name);
        }
        assertTrue(cl.getSubcommands().get("gemm").getCommand() instanceof GemmCommand);
        assertEquals(Family.HALF, Family.parse("convert"));
        assertEquals("convert", Family.HALF.command());
        assertEquals("crossentropy", Family.CROSSENTROPY.command());
    }

    @Test
    void suiteOptions() {
        CommandLine cl = BenchMain.commandLine();
        cl.parseArgs("--threads", "1,2", "--json", "--only", "gelu,attention");
        BenchMain m = cl.getCommand();
        assertArrayEquals(new int[] {1, 2}, m.threads);
        assertEquals(SuiteRun.STDOUT, m.json); // --json without a file: JSON on stdout
        assertArrayEquals(new String[] {"gelu", "attention"}, m.only);
        assertEquals(Path.of(SuiteRun.DEFAULT_CHART), m.chart);
        assertFalse(m.full);

        CommandLine cl3 = BenchMain.commandLine();
        cl3.parseArgs("--only", "gemm,step"); // family names, though gemm and step are also subcommands
        assertArrayEquals(new String[] {"gemm", "step"}, ((BenchMain) cl3.getCommand()).only);

        CommandLine cl2 = BenchMain.commandLine();
        cl2.parseArgs("--full", "--json", "k.json", "--chart", "c.png");
        BenchMain m2 = cl2.getCommand();
        assertTrue(m2.full);
        assertEquals("k.json", m2.json);
        assertEquals(Path.of("c.png"), m2.chart);
        assertNull(m2.threads);
    }

    @Test
    void familyOptions() {
        CommandLine cl = BenchMain.commandLine();
        CommandLine.ParseResult pr = cl.parseArgs("attention", "--threads", "1", "--json", "a.json");
        FamilyCommand f = pr.subcommand().commandSpec().commandLine().getCommand();
        assertArrayEquals(new int[] {1}, f.threads);
        assertEquals("a.json", f.json);
        assertNull(f.chart);
    }

    @Test
    void progressShowsFailures() {
        assertTrue(ProgressFormat.looksLikeFailure("<failure>"));
        assertTrue(ProgressFormat.looksLikeFailure("java.lang.IllegalStateException: boom"));
        assertFalse(ProgressFormat.looksLikeFailure("# Warmup Iteration   1: 283.0 ops/s"));
    }
}
