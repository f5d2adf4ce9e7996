package dev.sixpd.nn.cli;

import dev.sixpd.nn.UserException;
import dev.sixpd.nn.train.PrecisionExperiment;
import dev.sixpd.nn.train.TrainSettings;
import dev.sixpd.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code sixpd precision}: the same model, data and seed trained in FP32, BF16, FP16 without loss scaling and FP16
 * with dynamic loss scaling; a table, two PNG charts, per-run JSONL logs and a JSON summary.
 */
@Command(name = "precision", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train the same model four times: fp32, bf16, fp16 without loss scaling, fp16 with dynamic "
                + "loss scaling; compare the losses and the gradient values lost to underflow.",
                "",
                "Weights, activations and gradients are stored in the run's dtype; FP32 master weights and AdamW "
                        + "state. Every run multiplies the loss by a gradient scale k before backward and divides "
                        + "the gradients by k again in FP32 before the optimizer: the updates are those of the plain "
                        + "loss, but the 16-bit gradients are k times smaller. Why: the mean loss over a batch of N "
                        + "tokens has logit gradients of about 1/N; this model averages over 16 x 128 = 2,048 "
                        + "tokens, GPT-2 and GPT-3 over about 0.5M, 256 times more. With k = 1 FP16 without "
                        + "scaling flushes well under 1% of this small model's gradients and trains about as well "
                        + "as FP32; the default k = " + PrecisionCommand.GRAD_SCALE_TEXT + " = 1/256 gives its "
                        + "gradients the magnitudes of such a batch, and FP16 without scaling visibly suffers. Pass "
                        + "--grad-scale 1 to see the plain model.",
                "",
                "Flushed = nonzero FP32 parameter-gradient values that storing them in the run's dtype turns into "
                        + "zero, over all steps (counted before the rounding, no second backward; activation "
                        + "gradients that underflow inside backward are not counted, so this understates FP16's "
                        + "loss; --fp32-reference counts against an FP32 backward of the same step instead, at "
                        + "about twice the cost). Default: about 3-4 minutes on 2 cores."},
        footer = {"", "Output (--out, default " + PrecisionCommand.OUT + "): table.txt, summary.json, loss.png, "
                + "grad-histogram.png, <run>.jsonl (the train --log format), checkpoint-<run>/.",
                "", "Examples:", "  sixpd precision", "  sixpd precision --preset tiny --steps 200 --grad-scale 1",
                "  sixpd precision --synthetic 200000 --out out/prec-markov"})
public final class PrecisionCommand implements Callable<Integer> {
    // defaults: chosen so that the four runs on the default corpus with 2 cores take about 3-4 minutes in all
    static final String PRESET = "small";
    static final int STEPS = 200;
    static final int BATCH = 16;
    static final double LR = 2e-3;
    static final String GRAD_SCALE_TEXT = "2^-8";
    static final long SEED = 1337;
    static final String OUT = "out/precision";

    @Mixin
    ModelOptions model;
    @Mixin
    DataOptions text;
    @Option(names = "--steps", paramLabel = "N", description = "optimizer steps per run (default: " + STEPS + ")")
    Integer steps;
    @Option(names = "--batch", paramLabel = "B", description = "sequences per step (default: " + BATCH + ")")
    Integer batch;
    @Option(names = "--lr", paramLabel = "LR", description = "peak learning rate, cosine decay to 10% (default: "
            + LR + ")")
    Double lr;
    @Option(names = "--grad-scale", paramLabel = "K", description = "gradient scale k: the loss is multiplied by k "
            + "before backward and the FP32 gradients divided by k before the optimizer: 2^E or a number (a power "
            + "of two keeps FP32 exact; default: " + GRAD_SCALE_TEXT + ")")
    String gradScale;
    @Option(names = "--round-accumulator", paramLabel = "BLOCK", description = "two more runs, bf16-acc and "
            + "fp16-dynamic-acc, whose weight matmuls round their running sum to the 16-bit dtype after every BLOCK "
            + "products (1: a pure 16-bit accumulator). Slow (a simple kernel): try with --preset tiny")
    Integer roundAccumulator;
    @Option(names = "--fp32-reference", description = "also run each 16-bit step's backward in FP32 and report "
            + "the gradient values it makes nonzero that the 16-bit run has as zero (underflow anywhere in backward, "
            + "not only in the final store); about 1.5-2x the time")
    boolean fp32Reference;
    @Option(names = "--seed", paramLabel = "N", description = "seed of init and batches (default: " + SEED + ")")
    Long seed;
    @Option(names = "--threads", paramLabel = "N", description = "kernel threads (default: all cores)")
    Integer threads;
    @Option(names = "--eval-every", paramLabel = "N", description = "validation loss every N steps and at the end "
            + "(default: steps/10)")
    Integer evalEvery;
    @Option(names = "--eval-windows", paramLabel = "N", description = "validation windows of T tokens (default: 32)")
    Integer evalWindows;
    @Option(names = "--out", paramLabel = "DIR", description = "output directory (default: " + OUT + ")")
    Path out;

    @Override
    public Integer call() throws Exception {
        int acc = or(roundAccumulator, 0);
        if (roundAccumulator != null && acc < 1) {
            throw new UserException("--round-accumulator must be >= 1 products, got " + acc);
        }
        float k = PrecisionExperiment.parseScale(or(gradScale, GRAD_SCALE_TEXT));
        int nSteps = or(steps, STEPS);
        long sd = or(seed, SEED);
        Path dir = or(out, Path.of(OUT));
        TrainSettings.Builder b = TrainSettings.builder().model(model.choice(PRESET)).data(text.spec(sd))
                .steps(nSteps).batch(or(batch, BATCH)).lr(or(lr, LR)).seed(sd).out(dir).checkpointEvery(0)
                .sampleTokens(0).evalWindows(or(evalWindows, 32));
        text.apply(b);
        if (threads != null) {
            b.threads(threads);
        }
        if (evalEvery != null) {
            b.evalEvery(evalEvery);
        }
        TrainSettings base = b.build();
        base.validate();
        PrintStream stdout = System.out;
        stdout.printf(Locale.ROOT, "precision: %s preset, %d steps × batch %d, lr %s, seed %d, %d threads, gradient"
                        + " scale k = %s; runs %s one after another%n", base.preset(),
                nSteps, base.batch(), base.lr(), sd, base.threads(), PrecisionExperiment.pow2(k),
                String.join(", ", PrecisionExperiment.settings(acc).stream()
                        .map(PrecisionExperiment.Setting::name).toList()));
        PrecisionExperiment.Result r = new PrecisionExperiment(base, k, acc, fp32Reference, dir, stdout).run();
        stdout.println();
        stdout.print(PrecisionExperiment.table(r.rows()));
        stdout.println();
        for (Path p : PrecisionExperiment.write(r, dir)) {
            stdout.println("wrote " + p);
        }
        return 0;
    }

    private static <T> T or(T v, T dflt) {
        return v != null ? v : dflt;
    }
}
