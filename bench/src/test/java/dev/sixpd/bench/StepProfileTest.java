package dev.sixpd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sixpd.tensor.KernelProfile;
import dev.sixpd.tensor.Ledger;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code bench step --profile}: the profile's FLOPs are the ledger's, its times fit the steps, the bits are kept. */
class StepProfileTest {
    @Test
    void profileMatchesLedgerAndKeepsTheBits() {
        TrainingStep plain = new TrainingStep("tiny");
        TrainingStep profiled = new TrainingStep("tiny");
        double[] losses = new double[3];
        for (int i = 0; i < losses.length; i++) {
            losses[i] = plain.step();
        }
        Ledger.Snapshot before = Ledger.snapshot();
        StepProfile p = StepCommand.profile(profiled, 1, 2, Double.NaN, 100, 10); // 1 dropped + 2 profiled steps
        Ledger.Snapshot d = Ledger.snapshot().minus(before);
        assertFalse(KernelProfile.running());

        assertEquals(Double.doubleToRawLongBits(losses[2]), Double.doubleToRawLongBits(profiled.lastLoss()),
                "profiling changed the arithmetic");
        // every step does the same work: the ledger saw 3 steps, the profile kept 2
        assertEquals(d.totalFlops() * 2, p.flops() * 3);
        for (Ledger.Phase ph : Ledger.Phase.values()) {
            assertEquals(d.flops(ph) * 2, p.flops(ph) * 3, ph.name());
        }
        assertTrue(p.kernelMs() <= p.stepMs(), p.kernelMs() + " ms of kernels in a " + p.stepMs() + " ms step");
        assertTrue(p.kernelMs() > 0.5 * p.stepMs(), "kernels cover most of the step: " + p.kernelMs() + " of "
                + p.stepMs() + " ms");
        List<String> kernels = p.entries().stream().map(e -> e.kernel + " @ " + e.site).toList();
        assertTrue(kernels.contains("Gemm.gemm @ GeluMlp/Linear"), kernels.toString());
        assertTrue(kernels.stream().anyMatch(k -> k.startsWith("AdamW.")), kernels.toString());
        String md = p.markdown();
        assertTrue(md.contains("| kernel | site | phase | kind | ms/step | % of step | GFLOP/s | GB/s |"), md);
        assertTrue(md.contains("| Gemm.gemm | GeluMlp/Linear | forward | matmul |"), md);
    }

    @Test
    void option() {
        CommandLine.ParseResult pr = BenchMain.commandLine().parseArgs("step", "--profile", "--attention", "flash");
        StepCommand s = pr.subcommand().commandSpec().commandLine().getCommand();
        assertTrue(s.profile);
        assertEquals("flash", s.attention);
        StepCommand d = BenchMain.commandLine().parseArgs("step").subcommand().commandSpec().commandLine()
                .getCommand();
        assertFalse(d.profile);
    }
}
