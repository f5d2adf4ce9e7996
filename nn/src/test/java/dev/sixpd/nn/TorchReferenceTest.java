package dev.sixpd.nn;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sixpd.nn.GptConfig.Block;
import dev.sixpd.nn.GptConfig.Family;
import dev.sixpd.nn.GptConfig.Mlp;
import dev.sixpd.nn.GptConfig.Norm;
import dev.sixpd.nn.GptConfig.Pos;
import dev.sixpd.nn.io.SafeTensors;
import dev.sixpd.optim.Param;
import dev.sixpd.tensor.DType;
import dev.sixpd.tensor.Rng;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * sixpd against PyTorch, as llm.c's {@code test_gpt2.c} checks itself: the same parameters, tokens and targets go to
 * an independent model written plainly in torch.nn ({@code bench/peers/torch_llama.py}: RMSNorm, RoPE with
 * {@code rotate_half}, SwiGLU, grouped-query attention by repeating K/V heads, parallel blocks, biases, tied or
 * untied head, and GPT-2's LayerNorm, GELU and learned positions), which computes in float64; the loss, the logits
 * and every parameter's gradient of sixpd's FP32 model must match it up to FP32 rounding.
 *
 * <p>Each config is one switch alone on a tiny GPT-2 (V 31, T 9, L 2, C 16, NH 4), or LLaMA's combination. The
 * parameters are moved away from the initialisation (gains from 1, biases from 0) so every term carries a
 * gradient. One Python process computes all configs (it costs a few seconds to import torch).
 *
 * <p>Tolerances, for FP32 against float64 on these sizes (measured on AVX2, 16 configs: loss ≤ 3.6e-8, logits ≤
 * 3.1e-7, gradients ≤ 1.9e-6): loss relative 1e-6; logits max|Δ| ≤ 3e-6 · max|logit|; each gradient tensor
 * max|Δ| ≤ 2e-5 · max|its gradient| (a tensor-wide scale, because single elements of a gradient can be near zero
 * and their relative error meaningless). One gradient is exactly zero in exact arithmetic: a separate key bias
 * without RoPE ({@code k_proj.bias}) adds q·b_k to every score of a row, which softmax cancels; there both sides
 * must be rounding noise (sixpd ≤ 1e-6 absolute, torch's float64 ≤ 1e-12), where every other gradient must be
 * alive (max|torch's| > 1e-6).
 *
 * <p>Runs when {@code /usr/bin/python3} (or {@code -Dsixpd.python}) can {@code import torch} (Debian's
 * {@code python3-torch}); skipped with a message otherwise (CI installs no torch).
 */
public class TorchReferenceTest {
    /** Debian's interpreter, where {@code python3-torch} installs; {@code -Dsixpd.python=...} picks another. */
    private static final Path PYTHON = Path.of(System.getProperty("sixpd.python", "/usr/bin/python3"));
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A tiny GPT-2: V 31, context 9, 2 layers, C 16, 4 heads of 4 (even, for RoPE). */
    private static final GptConfig BASE = GptConfig.gpt2(31, 9, 2, 16, 4);
    private static final int B = 3;

    private static final double LOSS_TOL = 1e-6;
    private static final double LOGITS_TOL = 3e-6;
    private static final double GRAD_TOL = 2e-5;

    @TempDir
    static Path dir;

    /** Why the test is skipped, or null when torch ran. */
    private static String skip;
    private static final Map<String, Gpt> MODELS = new LinkedHashMap<>();
    private static final Map<String, Integer> SEQ = new LinkedHashMap<>();
    private static final Map<String, Double> LOSSES = new LinkedHashMap<>();
    /** Per config: loss relative difference, logits and worst gradient max|Δ| / max|ref|. */
    private static final Map<String, double[]> MAX_DIFFS = new LinkedHashMap<>();
    private static final Map<String, String> WORST = new LinkedHashMap<>();

    static Stream<Arguments> configs() {
        GptConfig llama = GptConfig.llama(31, 9, 2, 16, 4, 2);
        return Stream.of(
                Arguments.of("gpt2", BASE, 9),
                Arguments.of("rmsnorm", BASE.withNorm(Norm.RMSNORM), 9),
                Arguments.of("rope", BASE.withPos(Pos.ROPE), 9),
                Arguments.of("swiglu", BASE.withMlp(Mlp.SWIGLU), 9),
                Arguments.of("swiglu hidden 24", BASE.withMlp(Mlp.SWIGLU).withMlpHidden(24), 9),
                Arguments.of("gqa 2 kv heads", BASE.withKvHeads(2), 9),
                Arguments.of("mqa 1 kv head", BASE.withKvHeads(1), 9),
                Arguments.of("parallel block", BASE.withBlock(Block.PARALLEL), 9),
                Arguments.of("no bias", BASE.withBias(false), 9),
                Arguments.of("untied head", BASE.withTieHead(false), 9),
                Arguments.of("flash attention", BASE.withAttention(GptConfig.Attn.FLASH), 9),
                Arguments.of("llama", llama, 9),
                Arguments.of("llama, T 6 < context", llama, 6),
                Arguments.of("llama, flash attention", llama.withAttention(GptConfig.Attn.FLASH), 9),
                Arguments.of("llama, parallel, biases, tied", llama.withBlock(Block.PARALLEL).withBias(true)
                        .withTieHead(true), 9),
                Arguments.of("llama names, GPT-2 parts", new GptConfig(Family.LLAMA, 31, 9, 2, 16, 4, 4, 0,
                        Norm.LAYERNORM, Pos.LEARNED, Mlp.GELU, Block.SEQUENTIAL, true, false, GptConfig.Attn.NAIVE),
                        9));
    }

    @BeforeAll
    static void runTorch() throws Exception {
        skip = torchMissing("TorchReferenceTest");
        if (skip != null) {
            return;
        }
        Path script = Path.of("").toAbsolutePath().getParent().resolve("bench/peers/torch_llama.py");
        assertTrue(Files.exists(script), "the PyTorch reference " + script + " is missing from the checkout");
        List<String> cmd = new ArrayList<>(List.of(PYTHON.toString(), script.toString(), "--dtype", "float64"));
        int i = 0;
        for (Arguments a : configs().toList()) {
            String name = (String) a.get()[0];
            GptConfig cfg = (GptConfig) a.get()[1];
            int T = (Integer) a.get()[2];
            Gpt m = scrambled(cfg, 1000L + i);
            Rng rng = new Rng(77 + i);
            int[] tokens = new int[B * T];
            int[] targets = new int[B * T];
            for (int k = 0; k < B * T; k++) {
                tokens[k] = rng.nextInt(cfg.vocab());
                targets[k] = rng.nextInt(cfg.vocab());
            }
            Path in = dir.resolve("in" + i + ".safetensors");
            List<SafeTensors.Entry> ps = new ArrayList<>();
            for (Param p : m.params()) {
                ps.add(new SafeTensors.Entry(p.name, DType.FP32, p.shape(), p.data));
            }
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("config", JSON.writeValueAsString(cfg.toMap()));
            meta.put("batch", Integer.toString(B));
            meta.put("seq", Integer.toString(T));
            meta.put("tokens", JSON.writeValueAsString(tokens));
            meta.put("targets", JSON.writeValueAsString(targets));
            SafeTensors.write(in, ps, meta);
            cmd.addAll(List.of("--in", in.toString(), "--out", dir.resolve("out" + i + ".safetensors").toString()));
            // sixpd's side: loss, logits and gradients of the same batch
            double loss = m.forward(tokens, targets, B, T);
            m.backward(1f);
            LOSSES.put(name, loss);
            MODELS.put(name, m);
            SEQ.put(name, i);
            i++;
        }
        runPython(cmd, "the PyTorch reference");
    }

    /**
     * Runs {@code cmd} (Debian's python3 and a peer script) on one thread (OMP, OpenBLAS, MKL), at most 120 s, and
     * returns its output; fails naming {@code what} when it does not finish or exits non-zero.
     */
    public static String runPython(List<String> cmd, String what) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(Map.of("OMP_NUM_THREADS", "1", "OPENBLAS_NUM_THREADS", "1", "MKL_NUM_THREADS", "1"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(what + " did not finish in 120 s: " + String.join(" ", cmd));
        }
        assertEquals(0, p.exitValue(), () -> what + " failed: " + String.join(" ", cmd) + "\n" + out);
        return out;
    }

    @AfterAll
    static void printDiffs() {
        if (skip == null && !MAX_DIFFS.isEmpty()) {
            System.out.println("TorchReferenceTest: max differences, sixpd FP32 vs torch float64"
                    + " (loss rel, logits max|Δ|/max|logit|, worst gradient tensor max|Δ|/max|grad|)");
            MAX_DIFFS.forEach((k, v) -> {
                System.out.printf("  %-32s loss %.2e  logits %.2e  grads %.2e (%s)%n", k, v[0], v[1], v[2],
                    WORST.get(k));
            });
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void matchesPyTorch(String name, GptConfig cfg, int T) {
        Assumptions.assumeTrue(skip == null, skip);
        Gpt m = MODELS.get(name);
        int i = SEQ.get(name);
        Map<String, SafeTensors.Entry> ref = SafeTensors.read(dir.resolve("out" + i + ".safetensors")).tensors();
        double loss = LOSSES.get(name);
        double refLoss = ref.get("loss").data()[0];
        double lossRel = Math.abs(loss - refLoss) / Math.abs(refLoss);
        assertTrue(lossRel <= LOSS_TOL, name + ": loss " + loss + " vs torch " + refLoss);

        float[] refLogits = ref.get("logits").data();
        assertEquals(B * T * cfg.vocab(), refLogits.length, name + ": logits size");
        double logitsRel = scaledMaxDiff(m.logits(), refLogits, refLogits.length);
        assertTrue(logitsRel <= LOGITS_TOL, name + ": logits max|Δ|/max|logit| = " + logitsRel);

        double worst = 0;
        String worstName = "";
        int grads = 0;
        for (Param p : m.params()) {
            SafeTensors.Entry g = ref.get("grad." + p.name);
            assertTrue(g != null, name + ": torch returned no gradient for " + p.name);
            assertEquals(Arrays.toString(p.shape()), Arrays.toString(g.shape()), name + ": shape of " + p.name);
            if (p.name.endsWith("k_proj.bias") && cfg.pos() != Pos.ROPE) {
                // softmax cancels q·b_k (the same for every key of a row): the exact gradient is 0
                assertTrue(maxAbs(g.data()) <= 1e-12, name + ": torch's " + p.name + " gradient is not zero");
                assertTrue(maxAbs(p.grad) <= 1e-6, name + ": sixpd's " + p.name + " gradient is not zero: "
                        + maxAbs(p.grad));
                grads++;
                continue;
            }
            assertTrue(maxAbs(g.data()) > 1e-6, name + ": torch's gradient of " + p.name + " is zero (a dead path)");
            double d = scaledMaxDiff(p.grad, g.data(), g.data().length);
            assertTrue(d <= GRAD_TOL, name + ": gradient of " + p.name + " max|Δ|/max|grad| = " + d);
            if (d >= worst) {
                worst = d;
                worstName = p.name;
            }
            grads++;
        }
        assertEquals(m.params().size(), grads);
        assertEquals(grads, ref.size() - 2, name + ": torch has gradients of tensors sixpd does not: " + ref.keySet());
        MAX_DIFFS.put(name, new double[] {lossRel, logitsRel, worst});
        WORST.put(name, worstName);
    }

    /** {@code max|a - ref| / max|ref|} over the first n values. */
    private static double scaledMaxDiff(float[] a, float[] ref, int n) {
        double d = 0;
        double s = 0;
        for (int k = 0; k < n; k++) {
            d = Math.max(d, Math.abs((double) a[k] - ref[k]));
            s = Math.max(s, Math.abs(ref[k]));
        }
        return s == 0 ? d : d / s;
    }

    private static double maxAbs(float[] a) {
        double s = 0;
        for (float v : a) {
            s = Math.max(s, Math.abs(v));
        }
        return s;
    }

    /** Parameters moved away from the init (gains from 1, biases from 0) so every path carries a gradient. */
    private static Gpt scrambled(GptConfig cfg, long seed) {
        Gpt m = new Gpt(cfg, B, seed);
        Rng rng = new Rng(seed + 1);
        for (Param p : m.params()) {
            for (int k = 0; k < p.data.length; k++) {
                p.data[k] += (float) ((p.shape().length == 1 ? 0.2 : 0.08) * rng.nextGaussian());
            }
            p.syncWorking();
        }
        return m;
    }

    /**
     * Null when {@code /usr/bin/python3 -c "import torch"} works, else why {@code test} is skipped (other torch
     * tests call this too).
     */
    public static String torchMissing(String test) {
        String what = test + " skipped: needs " + PYTHON + " with PyTorch (Debian: apt-get install"
                + " python3-torch); ";
        if (!Files.isExecutable(PYTHON)) {
            return what + PYTHON + " not found";
        }
        try {
            Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import torch, numpy").redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return what + "`import torch` did not finish in 60 s";
            }
            if (p.exitValue() != 0) {
                return what + "`import torch, numpy` fails: " + (out.isEmpty() ? "exit " + p.exitValue()
                        : out.substring(out.lastIndexOf('\n') + 1));
            }
        } catch (IOException e) {
            return what + "cannot start it: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return what + "interrupted";
        }
        return null;
    }
}
