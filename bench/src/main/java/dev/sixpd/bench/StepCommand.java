package dev.sixpd.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.tensor.KernelProfile;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Parallel;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./sixpd bench step}: one full training step (forward, loss, backward, AdamW) of sixpd beside PyTorch's, in
 * the same run: tokens/s, step time, model FLOPs from the ledger and MFU, per preset and thread count.
 *
 * <p>Method, for each preset: build the model ({@link TrainingStep}); for each thread count, warm up (at least
 * {@code --warmup} steps and {@code --warmup-seconds}, and until the best step time stops improving, so C2 has
 * compiled the kernels: {@link #warmUp}), then time {@code --steps}
 * steps one by one and take the median; the ledger's snapshot difference over the timed steps gives the FLOPs;
 * then run the PyTorch peer with the same shapes, thread count, warm-up and steps. sixpd and PyTorch alternate per
 * thread count, so a burst of load from elsewhere hits both alike.
 */
@Command(name = "step", mixinStandardHelpOptions = true,
        description = {"One training step, sixpd vs PyTorch (same run): tokens/s, MFU.",
            "Times forward + loss + backward + AdamW of a GPT preset (FP32) and runs the PyTorch peer",
            "(bench/peers/torch_gpt_step.py, /usr/bin/python3 with python3-torch, eager FP32, thread pools pinned,",
            "OMP_WAIT_POLICY=PASSIVE) on the same shapes. Presets: tiny (2 layers, d 64, 4 heads, T 64, batch 16),",
            "small (4, 128, 4, 128, batch 16), medium (6, 384, 6, 256, batch 8); llama-tiny, llama-small: tiny's",
            "and small's sizes with RMSNorm, RoPE, SwiGLU, 2 K/V heads, no biases, untied head; vocabulary 65.",
            "MFU = model FLOPs per step (ledger: forward + backward) / step time / FP32 peak.",
            "Examples:",
            "  ./sixpd bench step                              small and medium, 1 and all threads",
            "  ./sixpd bench step --preset medium --threads 1 --json out/bench/step.json",
            "  ./sixpd bench step --preset medium --torch-bf16   (PyTorch bf16 autocast as separate rows)",
            "  ./sixpd bench step --preset medium --threads 1 --no-torch --profile   (time per kernel)",
            "  ./sixpd bench step --preset small,llama-small --threads 1   (GPT-2 and LLaMA parts, same size)",
            "  ./sixpd bench jmh TrainingStepBenchmark -p preset=tiny -p threads=1   (JMH)"})
final class StepCommand implements Callable<Integer> {
    @Option(names = "--preset", split = ",", defaultValue = "small,medium", paramLabel = "NAME[,NAME...]",
            description = "presets among tiny, small, medium, llama-tiny, llama-small (default ${DEFAULT-VALUE})")
    List<String> presets;

    @Option(names = "--threads", split = ",", paramLabel = "N[,N...]",
            description = "thread counts (default: 1 and all cores)")
    int[] threads;

    @Option(names = "--steps", defaultValue = "10", description = "timed steps; the median is reported (default"
            + " ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--warmup", defaultValue = "3", description = "warm-up steps, at least (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--warmup-seconds", defaultValue = "3", description = "sixpd warms up for at least this long"
            + " and until its best step time stops improving (JIT compilation), s (default ${DEFAULT-VALUE})")
    double warmupSeconds;

    @Option(names = "--peak-seconds", defaultValue = "1", description = "time to measure the FMA peak per thread"
            + " count, s (default ${DEFAULT-VALUE})")
    double peakSeconds;

    @Option(names = "--attention", defaultValue = "naive", paramLabel = "naive|flash", description = "sixpd's "
            + "attention kernel (default ${DEFAULT-VALUE}); the PyTorch peer keeps its own (naive) attention")
    String attention;

    @Option(names = "--profile", description = "after the timed steps, profile as many more: time per kernel"
            + " (ledger entries) with its GFLOP/s, GB/s and share of the step, % of FMA peak and of triad bandwidth")
    boolean profile;

    @Option(names = "--no-torch", description = "skip the PyTorch peer")
    boolean noTorch;

    @Option(names = "--torch-bf16", description = "also run PyTorch with bf16 autocast (oneDNN's bf16 instructions,"
            + " which the Vector API cannot reach), reported as separate rows")
    boolean torchBf16;

    @Option(names = "--python", defaultValue = "/usr/bin/python3", description = "the interpreter with PyTorch"
            + " (default ${DEFAULT-VALUE}, Debian's python3-torch)")
    Path python;

    @Option(names = "--peer-script", description = "the PyTorch peer script (default: bench/peers/torch_gpt_step.py"
            + " of this checkout)")
    Path peerScript;

    @Option(names = "--json", arity = "0..1", fallbackValue = SuiteRun.STDOUT, paramLabel = "FILE",
            description = "write the results as JSON to FILE (no FILE: print only the JSON on stdout)")
    String json;

    @Override
    public Integer call() throws Exception {
        if (steps < 1 || warmup < 0) {
            throw new IllegalArgumentException("--steps must be >= 1 and --warmup >= 0, got " + steps + " and "
                    + warmup);
        }
        for (String p : presets) {
            TrainingStep.defaultBatch(p); // an unknown preset fails now, not after minutes of measuring
        }
        GptConfig.Attn attn = GptConfig.parse(GptConfig.Attn.class, "--attention", attention);
        PrintStream human = SuiteRun.STDOUT.equals(json) ? System.err : System.out;
        int[] ts = KernelSuite.threadCounts(threads);
        dev.sixpd.tensor.Peak.Nominal nominal = dev.sixpd.tensor.Peak.nominal();
        human.printf(Locale.ROOT, "sixpd bench step: presets %s, threads %s, %d timed steps after >= %d warm-up"
                + " steps / %.0f s; %s attention; load average now %s (other load skews every figure)%n", presets,
                Arrays.toString(ts), steps, warmup, warmupSeconds, attn.name().toLowerCase(Locale.ROOT),
                loadAverage());
        human.println("nominal peak: " + nominal.formula());
        double[] peaks = new double[ts.length];
        double[] bandwidths = new double[ts.length];
        for (int i = 0; i < ts.length; i++) {
            peaks[i] = dev.sixpd.tensor.Peak.measureFma(ts[i], peakSeconds).best();
            human.printf(Locale.ROOT, "measured FMA peak, %d thread%s: %.1f GFLOP/s%n", ts[i], ts[i] == 1 ? "" : "s",
                    peaks[i]);
            if (profile) {
                bandwidths[i] = dev.sixpd.tensor.Peak.measureBandwidth(ts[i], peakSeconds).best();
                human.printf(Locale.ROOT, "measured triad bandwidth, %d thread%s: %.1f GB/s%n", ts[i],
                        ts[i] == 1 ? "" : "s", bandwidths[i]);
            }
        }
        TorchPeer peer = null;
        String peerNote = null;
        if (noTorch) {
            peerNote = "--no-torch";
        } else {
            peer = new TorchPeer(python, peerScript != null ? peerScript : TorchPeer.defaultScript());
            Optional<String> why = peer.unavailable();
            if (why.isPresent()) {
                peerNote = why.get();
                human.println(peerNote);
                peer = null;
            }
        }
        List<StepRow> rows = new ArrayList<>();
        List<StepProfile> profiles = new ArrayList<>();
        for (String preset : presets) {
            TrainingStep step = new TrainingStep(preset, TrainingStep.defaultBatch(preset), attn);
            for (int i = 0; i < ts.length; i++) {
                StepRow row = measure(step, ts[i], peaks[i], nominal, peer, peerNote, human);
                rows.add(row);
                human.println(progressLine(row));
                if (profile) {
                    profiles.add(profile(step, ts[i], steps, row.stepMs(), peaks[i], bandwidths[i]));
                }
            }
        }
        human.println();
        human.print(markdown(rows));
        for (StepProfile p : profiles) {
            human.println();
            human.print(p.markdown());
        }
        if (json != null) {
            String js = json(rows, nominal);
            if (SuiteRun.STDOUT.equals(json)) {
                System.out.println(js);
            } else {
                SuiteRun.write(Path.of(json), js + "\n");
                human.println("JSON: " + json);
            }
        }
        return 0;
    }

    /** Warm-up, timed steps with the ledger diff, then the peer. */
    private StepRow measure(TrainingStep step, int threads, double peak, dev.sixpd.tensor.Peak.Nominal nominal,
            TorchPeer peer, String peerNote, PrintStream human) throws Exception {
        Parallel.setThreads(threads);
        boolean ledgerWas = Ledger.enabled();
        Ledger.setEnabled(true); // as in training: the ledger's cost (one add per kernel call) is part of the step
        double[] ms = new double[steps];
        Ledger.Snapshot d;
        try {
            warmUp(step, warmup, warmupSeconds);
            Ledger.Snapshot before = Ledger.snapshot();
            for (int i = 0; i < steps; i++) {
                long t0 = System.nanoTime();
                step.step();
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            d = Ledger.snapshot().minus(before);
        } finally {
            Ledger.setEnabled(ledgerWas);
        }
        if (!Double.isFinite(step.lastLoss())) {
            throw new IllegalStateException("the " + step.preset() + " step produced a non-finite loss ("
                    + step.lastLoss() + "): the benchmark would time garbage");
        }
        double[] mmm = Stats.medianMinMax(ms);
        long model = (d.flops(Ledger.Phase.FORWARD) + d.flops(Ledger.Phase.BACKWARD)) / steps;
        long optimizer = d.flops(Ledger.Phase.OPTIMIZER) / steps;
        double nom = nominal.gflops(threads);
        TorchPeer.Result torch = null;
        TorchPeer.Result bf16 = null;
        String note = peerNote;
        if (peer != null) {
            try {
                torch = peer.run(step.preset(), threads, warmup, steps, false);
                if (torchBf16) {
                    bf16 = peer.run(step.preset(), threads, warmup, steps, true);
                }
                if (torch.referenceBlas()) {
                    human.println(String.format(Locale.ROOT, TorchPeer.REFERENCE_BLAS, torch.blas()));
                }
            } catch (java.io.IOException e) {
                note = "PyTorch peer failed: " + e.getMessage();
                human.println(note);
            }
            Thread.sleep(200); // let the peer's threads go before the next sixpd measurement
        }
        return new StepRow(step.preset(), threads, step.batch(), step.config().context(), step.parameterCount(),
                steps, mmm[0], mmm[1], mmm[2], model, optimizer, peak, Double.isFinite(nom) ? nom : Double.NaN, torch,
                note, bf16);
    }

    /**
     * Profiles {@code steps} steps of a warmed-up {@code step} at {@code threads} threads ({@link KernelProfile}: the
     * ledger on, each step's last interval closed at its end, so the kernels sum to at most the steps' time), after
     * one profiled step that is not counted.
     */
    static StepProfile profile(TrainingStep step, int threads, int steps, double unprofiledMs, double peak,
            double bandwidth) {
        Parallel.setThreads(threads);
        boolean ledgerWas = Ledger.enabled();
        Ledger.setEnabled(true);
        long total = 0;
        List<KernelProfile.Entry> entries;
        KernelProfile.start();
        try {
            step.step(); // the profiler's own code is compiled on this one, then its entries are dropped
            KernelProfile.pause();
            KernelProfile.start();
            for (int i = 0; i < steps; i++) {
                long t0 = System.nanoTime();
                step.step();
                KernelProfile.pause();
                total += System.nanoTime() - t0;
            }
        } finally {
            entries = KernelProfile.stop();
            Ledger.setEnabled(ledgerWas);
        }
        return new StepProfile(step.preset(), threads, entries, steps, total / 1e6 / steps, unprofiledMs, peak,
                bandwidth);
    }

    /**
     * Runs steps until C2 has compiled the kernels: at least {@code steps} steps and {@code seconds}, and until the
     * best step time has not improved by 5% for 3 steps (under load, compilation can take much longer than the
     * minimum: a tiny step measured 10x slow after 2 s), at most {@value #WARMUP_CAP_SECONDS} s.
     */
    static int warmUp(TrainingStep step, int steps, double seconds) {
        long t00 = System.nanoTime();
        long end = t00 + (long) (seconds * 1e9);
        long cap = t00 + (long) (Math.max(seconds, WARMUP_CAP_SECONDS) * 1e9);
        double best = Double.MAX_VALUE;
        int flat = 0;
        int i = 0;
        for (; ; i++) {
            long t0 = System.nanoTime();
            step.step();
            long t = System.nanoTime();
            double ms = (t - t0) / 1e6;
            flat = ms < best * 0.95 ? 0 : flat + 1;
            best = Math.min(best, ms);
            if (t >= cap || (i + 1 >= steps && t >= end && flat >= 3)) {
                return i + 1;
            }
        }
    }

    /** The longest sixpd warm-up, s. */
    static final double WARMUP_CAP_SECONDS = 60;

    static String progressLine(StepRow r) {
        return String.format(Locale.ROOT, "%s x%d: sixpd %s tokens/s (%.1f ms/step, range %.1f-%.1f), MFU %s;"
                        + " PyTorch %s", r.preset(), r.threads(), Report.num(r.tokensPerS()), r.stepMs(),
                r.stepMsMin(), r.stepMsMax(), Report.pct(100 * r.mfu()),
                r.torch() == null ? "-" : Report.num(r.torch().tokensPerS()) + " tokens/s");
    }

    /** The table, then the formulas with the first row's numbers, so the output explains itself. */
    static String markdown(List<StepRow> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| preset | threads | tokens/step | sixpd tokens/s | step ms | PyTorch tokens/s | sixpd/PyTorch"
                + " | model GFLOP/step | sixpd GFLOP/s | MFU (measured peak) | MFU (nominal) | PyTorch MFU |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (StepRow r : rows) {
            sb.append("| ").append(r.preset()).append(" | ").append(r.threads())
                    .append(" | ").append(r.batch()).append("×").append(r.context())
                    .append(" | ").append(Report.num(r.tokensPerS()))
                    .append(" | ").append(Report.num(r.stepMs()))
                    .append(" | ").append(r.torch() == null ? "–" : Report.num(r.torch().tokensPerS()))
                    .append(" | ").append(r.torch() == null ? "–" : String.format(Locale.ROOT, "%.2f×", r.ratio()))
                    .append(" | ").append(Report.num(r.modelFlops() * 1e-9))
                    .append(" | ").append(Report.num(r.gflops()))
                    .append(" | ").append(Report.pct(100 * r.mfu()))
                    .append(" | ").append(Report.pct(100 * r.mfuNominal()))
                    .append(" | ").append(r.torch() == null ? "–" : Report.pct(100 * r.torchMfu())).append(" |\n");
        }
        sb.append('\n');
        if (rows.stream().anyMatch(r -> r.torchBf16() != null)) {
            sb.append("PyTorch with bf16 autocast (matmuls in bf16 through oneDNN: not FP32-with-FP32; on a CPU"
                    + " without bf16 instructions oneDNN emulates them):\n\n");
            sb.append("| preset | threads | PyTorch bf16 tokens/s | PyTorch FP32 tokens/s | sixpd FP32 tokens/s |"
                    + " sixpd FP32 / PyTorch bf16 |\n|---|---:|---:|---:|---:|---:|\n");
            for (StepRow r : rows) {
                if (r.torchBf16() != null) {
                    sb.append("| ").append(r.preset()).append(" | ").append(r.threads())
                            .append(" | ").append(Report.num(r.torchBf16().tokensPerS()))
                            .append(" | ").append(r.torch() == null ? "–" : Report.num(r.torch().tokensPerS()))
                            .append(" | ").append(Report.num(r.tokensPerS()))
                            .append(" | ").append(String.format(Locale.ROOT, "%.2f×",
                                    r.tokensPerS() / r.torchBf16().tokensPerS())).append(" |\n");
                }
            }
            sb.append('\n');
        }
        if (!rows.isEmpty()) {
            StepRow r = rows.get(0);
            sb.append(String.format(Locale.ROOT, "model FLOPs/step = the ledger's forward + backward FLOPs of the timed"
                    + " steps ÷ steps (%s: %,d; 6·P·D = 6 × %,d × %,d = %,d leaves attention out); AdamW adds %,d"
                    + " FLOPs/step, not in MFU.%n", r.preset(), r.modelFlops(), r.params(), r.tokens(), r.sixPD(),
                    r.optimizerFlops()));
            sb.append(String.format(Locale.ROOT, "MFU = model FLOPs/step ÷ median step time ÷ FP32 peak of the row's"
                    + " threads (%s: %,d ÷ %.4f s ÷ %.1f GFLOP/s = %s); PyTorch's MFU uses the same FLOPs.%n",
                    r.preset(), r.modelFlops(), r.stepMs() / 1e3, r.peakGflops(), Report.pct(100 * r.mfu())));
        }
        for (StepRow r : rows) {
            if (r.torch() == null && r.torchNote() != null) {
                sb.append("PyTorch: ").append(r.torchNote()).append('\n');
                break;
            }
        }
        return sb.toString();
    }

    static String json(List<StepRow> rows, dev.sixpd.tensor.Peak.Nominal nominal) {
        ObjectNode o = JsonNodeFactory.instance.objectNode().put("benchmark", "step").put("nominal", nominal.formula());
        ArrayNode rs = o.putArray("rows");
        for (StepRow r : rows) {
            ObjectNode j = rs.addObject().put("preset", r.preset())
                    .put("threads", r.threads())
                    .put("batch", r.batch())
                    .put("context", r.context())
                    .put("params", r.params())
                    .put("steps", r.steps())
                    .put("step_ms", Report.jsonNumber(r.stepMs()))
                    .put("step_ms_min", Report.jsonNumber(r.stepMsMin()))
                    .put("step_ms_max", Report.jsonNumber(r.stepMsMax()))
                    .put("tokens_per_s", Report.jsonNumber(r.tokensPerS()))
                    .put("model_flops_per_step", r.modelFlops())
                    .put("optimizer_flops_per_step", r.optimizerFlops())
                    .put("gflops", Report.jsonNumber(r.gflops()))
                    .put("peak_gflops", Report.jsonNumber(r.peakGflops()))
                    .put("nominal_gflops", Report.jsonNumber(r.nominalGflops()))
                    .put("mfu", Report.jsonNumber(r.mfu()))
                    .put("mfu_nominal", Report.jsonNumber(r.mfuNominal()));
            if (r.torch() != null) {
                j.put("torch_tokens_per_s", Report.jsonNumber(r.torch().tokensPerS()))
                        .put("torch_step_ms", Report.jsonNumber(r.torch().stepMs()))
                        .put("torch_version", r.torch().version())
                        .put("torch_blas", r.torch().blas())
                        .put("ratio_vs_torch", Report.jsonNumber(r.ratio()))
                        .put("torch_mfu", Report.jsonNumber(r.torchMfu()));
                if (r.torchBf16() != null) {
                    j.put("torch_bf16_autocast_tokens_per_s", Report.jsonNumber(r.torchBf16().tokensPerS()))
                            .put("torch_bf16_autocast_step_ms", Report.jsonNumber(r.torchBf16().stepMs()));
                }
            } else {
                j.putNull("torch_tokens_per_s").put("torch_note", r.torchNote() == null ? "" : r.torchNote());
            }
        }
        return o.toString();
    }

    /** The 1-minute load average from /proc/loadavg, or "?" (a benchmark on a loaded machine is noise). */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0];
        } catch (java.io.IOException | RuntimeException e) {
            return "?";
        }
    }
}
