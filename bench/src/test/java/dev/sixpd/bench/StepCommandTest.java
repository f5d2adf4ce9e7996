package dev.sixpd.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.ledger.Analytic;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code bench step}'s bookkeeping: options, the peer's output and absence, MFU arithmetic. Nothing is timed. */
class StepCommandTest {
    @Test
    void defaults() {
        CommandLine cl = BenchMain.commandLine();
        CommandLine.ParseResult pr = cl.parseArgs("step");
        StepCommand s = pr.subcommand().commandSpec().commandLine().getCommand();
        assertEquals(List.of("small", "medium"), s.presets);
        assertNull(s.threads); // 1 and all cores
        assertEquals(10, s.steps);
        assertEquals(Path.of("/usr/bin/python3"), s.python);
        assertNull(s.json);

        CommandLine.ParseResult pr2 = BenchMain.commandLine().parseArgs("step", "--preset", "tiny,medium",
                "--threads", "1,2", "--steps", "4", "--json", "s.json");
        StepCommand s2 = pr2.subcommand().commandSpec().commandLine().getCommand();
        assertEquals(List.of("tiny", "medium"), s2.presets);
        assertArrayEquals(new int[] {1, 2}, s2.threads);
        assertEquals(4, s2.steps);
        assertEquals("s.json", s2.json);
    }

    @Test
    void presetBatches() {
        assertEquals(16, TrainingStep.defaultBatch("tiny"));
        assertEquals(16, TrainingStep.defaultBatch("small"));
        assertEquals(8, TrainingStep.defaultBatch("Medium"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainingStep.defaultBatch("huge"));
        assertTrue(e.getMessage().contains("tiny, small, medium"), e.getMessage());
    }

    @Test
    void mfuArithmetic() throws Exception {
        // 100 GFLOP per step in 1,000 ms on a 200 GFLOP/s peak: half the peak
        assertEquals(0.5, StepRow.mfu(100e9, 1000, 200), 1e-12);
        assertTrue(Double.isNaN(StepRow.mfu(1e9, 10, Double.NaN)));
        assertTrue(Double.isNaN(StepRow.mfu(1e9, 0, 100)));
        TorchPeer.Result torch = new TorchPeer.Result("medium", 1, 8, 256, 10_770_816, 2000, 1024, "1.13.0");
        // 8·256 = 2048 tokens in 1,600 ms: 1,280 tokens/s; PyTorch 1,024 tokens/s -> 1.25x
        StepRow r = new StepRow("medium", 1, 8, 256, 10_770_816, 10, 1600, 1500, 1700, 140_000_000_000L,
                170_000_000L, 100, 78.25, torch, null, null);
        assertEquals(2048, r.tokens());
        assertEquals(1280, r.tokensPerS(), 1e-9);
        assertEquals(1.25, r.ratio(), 1e-12);
        assertEquals(140e9 / 1.6 / 100e9, r.mfu(), 1e-12);
        assertEquals(140e9 / 1.6 / 78.25e9, r.mfuNominal(), 1e-12);
        assertEquals(140e9 / 2.0 / 100e9, r.torchMfu(), 1e-12);
        assertEquals(87.5, r.gflops(), 1e-9);
        assertEquals(6L * 10_770_816 * 2048, r.sixPD());
        String md = StepCommand.markdown(List.of(r));
        assertTrue(md.contains("| medium | 1 | 8×256 | 1280 | 1600 | 1024 | 1.25× |"), md);
        JsonNode row = new ObjectMapper().readTree(StepCommand.json(List.of(r), dev.sixpd.tensor.Peak.nominal()))
                .get("rows").get(0);
        assertEquals(1.25, row.get("ratio_vs_torch").doubleValue(), 1e-12);
        assertEquals(0.875, row.get("mfu").doubleValue(), 1e-12);
    }

    @Test
    void bf16AutocastIsASeparateTable() throws Exception {
        TorchPeer.Result fp32 = new TorchPeer.Result("medium", 1, 8, 256, 1, 2000, 1024, "1.13.0");
        TorchPeer.Result bf16 = new TorchPeer.Result("medium", 1, 8, 256, 1, 1000, 2048, "1.13.0");
        StepRow r = new StepRow("medium", 1, 8, 256, 1, 10, 1600, 1500, 1700, 140_000_000_000L, 0, 100, 78.25, fp32,
                null, bf16);
        String md = StepCommand.markdown(List.of(r));
        assertTrue(md.contains("| medium | 1 | 2048 | 1024 | 1280 | 0.63× |"), md);
        assertEquals(2048.0, new ObjectMapper().readTree(StepCommand.json(List.of(r), dev.sixpd.tensor.Peak.nominal()))
                .get("rows").get(0).get("torch_bf16_autocast_tokens_per_s").doubleValue(), 1e-9);
    }

    @Test
    void withoutThePeerTheRowSaysWhy() throws Exception {
        StepRow r = new StepRow("small", 2, 16, 128, 1, 10, 100, 90, 110, 1_000_000_000L, 0, 150, Double.NaN, null,
                "PyTorch peer skipped: /usr/bin/python3 not found; " + TorchPeer.INSTALL, null);
        assertTrue(Double.isNaN(r.ratio()) && Double.isNaN(r.torchMfu()) && Double.isNaN(r.mfuNominal()));
        String md = StepCommand.markdown(List.of(r));
        assertTrue(md.contains("install python3-torch"), md);
        assertTrue(new ObjectMapper().readTree(StepCommand.json(List.of(r), dev.sixpd.tensor.Peak.nominal()))
                .get("rows").get(0).get("torch_tokens_per_s").isNull());
    }

    @Test
    void peerOutputIsParsed() throws IOException {
        String out = "some warning from torch\n{\"peer\": \"pytorch\", \"version\": \"1.13.0a0\","
                + " \"preset\": \"small\","
                + " \"threads\": 2, \"batch\": 16, \"context\": 128, \"params\": 816768, \"step_ms\": 61.5,"
                + " \"tokens_per_s\": 33300.8}\n";
        TorchPeer.Result r = TorchPeer.parse(out);
        assertEquals("small", r.preset());
        assertEquals(2, r.threads());
        assertEquals(61.5, r.stepMs());
        assertEquals(33300.8, r.tokensPerS());
        assertEquals(816768, r.params());
        assertEquals("?", r.blas());
        assertTrue(!r.referenceBlas());
        TorchPeer.Result ref = TorchPeer.parse("{\"preset\": \"tiny\", \"threads\": 1, \"step_ms\": 430.5,"
                + " \"tokens_per_s\": 2378.6, \"blas\": \"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0\"}");
        assertTrue(ref.referenceBlas());
        assertTrue(!TorchPeer.parse("{\"preset\": \"tiny\", \"threads\": 1, \"step_ms\": 77.4, \"tokens_per_s\":"
                + " 13224.7, \"blas\": \"/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so\"}")
                .referenceBlas());
        assertThrows(IOException.class, () -> TorchPeer.parse("Traceback (most recent call last): ..."));
        assertThrows(IOException.class, () -> TorchPeer.parse("{\"preset\": \"small\"}"));
    }

    @Test
    void missingPythonOrScriptIsASkipNotAFailure(@TempDir Path dir) throws IOException {
        Path script = Files.writeString(dir.resolve("peer.py"), "print('{}')\n");
        Optional<String> noPython = new TorchPeer(dir.resolve("no-python3"), script).unavailable();
        assertTrue(noPython.isPresent() && noPython.get().contains("install python3-torch"), noPython.toString());
        Optional<String> noScript = new TorchPeer(Path.of("/bin/sh"), dir.resolve("missing.py")).unavailable();
        assertTrue(noScript.isPresent() && noScript.get().contains("not found"), noScript.toString());
        // an interpreter without torch: /bin/false exits 1 for `-c "import torch"`
        if (Files.isExecutable(Path.of("/bin/false"))) {
            Optional<String> noTorch = new TorchPeer(Path.of("/bin/false"), script).unavailable();
            assertTrue(noTorch.isPresent() && noTorch.get().contains("install python3-torch"), noTorch.toString());
        }
    }

    @Test
    void peerCommandPinsTheThreadPools() {
        TorchPeer p = new TorchPeer(Path.of("/usr/bin/python3"), Path.of("bench/peers/torch_gpt_step.py"));
        assertEquals(List.of("/usr/bin/python3", "bench/peers/torch_gpt_step.py", "--preset", "medium", "--threads",
                "2", "--warmup", "3", "--steps", "10"), p.command("medium", 2, 3, 10));
        assertEquals("2", TorchPeer.environment(2).get("OMP_NUM_THREADS"));
        assertEquals("2", TorchPeer.environment(2).get("OPENBLAS_NUM_THREADS"));
        assertEquals("2", TorchPeer.environment(2).get("MKL_NUM_THREADS"));
        assertEquals("PASSIVE", TorchPeer.environment(2).get("OMP_WAIT_POLICY"));
        assertTrue(TorchPeer.defaultScript().toString().endsWith("torch_gpt_step.py"));
        assertEquals(List.of("/usr/bin/python3", "bench/peers/torch_gpt_step.py", "--preset", "tiny", "--threads",
                "1", "--warmup", "3", "--steps", "10", "--autocast", "bf16"), p.command("tiny", 1, 3, 10, true));
    }

    @Test
    void oneTinyStepCountsAtLeastTheMatmulFlops() {
        // not timed: a tiny model with batch 2 takes milliseconds
        TrainingStep s = new TrainingStep("tiny", 2);
        long[] f = s.ledgerFlopsOfOneStep();
        assertTrue(Double.isFinite(s.lastLoss()));
        Analytic a = new Analytic(s.config(), 2, s.config().context());
        long matmul = 3 * a.forwardMatmulFlopsPerPass(); // forward + 2x backward
        assertTrue(f[0] > matmul, f[0] + " <= " + matmul);
        assertTrue(f[1] > 0);
        assertTrue(f[2] > 0);
        assertEquals(2 * 64, s.tokens());
    }

    @Test
    void aFlashStepCountsTheRecomputedScoresAndLosesNoMatmul() {
        TrainingStep naive = new TrainingStep("tiny", 2);
        TrainingStep flash = new TrainingStep("tiny", 2, GptConfig.Attn.FLASH);
        assertEquals(GptConfig.Attn.FLASH, flash.config().attention());
        long[] n = naive.ledgerFlopsOfOneStep();
        long[] f = flash.ledgerFlopsOfOneStep();
        // same weights (seed 0), same batch: the same loss up to the kernels' rounding
        assertEquals(naive.lastLoss(), flash.lastLoss(), 1e-5);
        // flash backward recomputes Q·Kᵀ: more model FLOPs than the naive step, never fewer
        assertTrue(f[0] > n[0], f[0] + " <= " + n[0]);
        assertEquals(n[1], f[1]); // AdamW does not care
    }

    @Test
    void everyModelPresetHasABatchAndTheLlamaPresetsAreLlama() {
        for (String p : GptConfig.PRESETS.keySet()) {
            assertTrue(TrainingStep.defaultBatch(p) > 0, p);
        }
        assertEquals(16, TrainingStep.defaultBatch("llama-tiny"));
        assertEquals(16, TrainingStep.defaultBatch("LLaMA-small"));
        TrainingStep s = new TrainingStep("llama-small", 1);
        GptConfig c = s.config();
        assertEquals(GptConfig.Family.LLAMA, c.family());
        assertEquals(GptConfig.Norm.RMSNORM, c.norm());
        assertEquals(GptConfig.Pos.ROPE, c.pos());
        assertEquals(GptConfig.Mlp.SWIGLU, c.mlp());
        assertEquals(2, c.kvHeads());
        assertEquals(352, c.mlpHidden()); // 8·128/3 = 341.3, up to a multiple of 32
        assertTrue(!c.bias() && !c.tieHead());
        long[] f = s.ledgerFlopsOfOneStep();
        assertTrue(Double.isFinite(s.lastLoss()) && f[0] > 0);
    }

    /**
     * The PyTorch peer builds the same models: for every preset its batch, context and parameter count equal
     * sixpd's ({@code torch_gpt_step.py --list}: builds each model, runs nothing). Skipped without
     * {@code /usr/bin/python3} and torch.
     */
    @Test
    void thePeerBuildsTheSameModels() throws Exception {
        TorchPeer peer = new TorchPeer(TorchPeer.DEFAULT_PYTHON, TorchPeer.defaultScript());
        Optional<String> why = peer.unavailable();
        Assumptions.assumeTrue(why.isEmpty(), () -> why.orElse(""));
        List<String> cmd = List.of(TorchPeer.DEFAULT_PYTHON.toString(), TorchPeer.defaultScript().toString(),
                "--list", "--vocab", Integer.toString(TrainingStep.VOCAB));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(TorchPeer.environment(1));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the peer did not finish: " + cmd);
        assertEquals(0, p.exitValue(), () -> cmd + "\n" + out);
        Map<String, JsonNode> peerPresets = new HashMap<>();
        for (String line : out.strip().split("\n")) {
            if (line.startsWith("{")) {
                JsonNode n = new ObjectMapper().readTree(line);
                peerPresets.put(n.get("preset").asText(), n);
            }
        }
        assertEquals(TrainingStep.BATCH.keySet(), peerPresets.keySet(), out);
        for (String preset : TrainingStep.BATCH.keySet()) {
            JsonNode n = peerPresets.get(preset);
            TrainingStep s = new TrainingStep(preset, 1);
            assertEquals(s.parameterCount(), n.get("params").asLong(), preset + ": parameters, sixpd vs PyTorch");
            assertEquals(s.config().context(), n.get("context").asInt(), preset + ": context");
            assertEquals(s.config().kvHeads(), n.get("kv_heads").asInt(), preset + ": K/V heads");
            assertEquals(TrainingStep.defaultBatch(preset), n.get("batch").asInt(), preset + ": batch");
        }
    }
}
