package dev.sixpd.nn.cli;

import dev.sixpd.nn.UserException;
import dev.sixpd.nn.io.Checkpoint;
import dev.sixpd.nn.train.TrainSettings;
import dev.sixpd.nn.train.Trainer;
import dev.sixpd.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code sixpd train}: train a GPT on a text corpus. Options left out take the defaults below, or, with
 * {@code --resume}, the values the checkpoint was trained with.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a GPT-2-style model on the CPU.",
                "Default: the 'small' preset, character tokens, on the Java sources of java.base from the JDK's "
                        + "lib/src.zip; a few minutes on 2 cores."},
        footer = {"", "Examples:", "  sixpd train", "  sixpd train --preset tiny --steps 200 --data input.txt",
                "  sixpd train --resume out/train --steps 800"})
public final class TrainCommand implements Callable<Integer> {
    // defaults: chosen so that `sixpd train` on the default corpus with 2 cores takes about 3-4 minutes
    static final String PRESET = "small";
    static final int STEPS = 1800;
    static final int BATCH = 16;
    static final double LR = 2e-3;
    static final long SEED = 1337;
    static final String OUT = "out/train";

    @Option(names = "--preset", paramLabel = "NAME", description = "model preset: tiny, small, medium (default: "
            + PRESET + ")")
    String preset;
    @Option(names = "--context", paramLabel = "T", description = "override the preset's context length")
    Integer context;
    @Option(names = "--layers", paramLabel = "L", description = "override the preset's layer count")
    Integer layers;
    @Option(names = "--d-model", paramLabel = "C", description = "override the preset's width")
    Integer dModel;
    @Option(names = "--heads", paramLabel = "NH", description = "override the preset's head count (must divide C)")
    Integer heads;
    @Option(names = "--data", paramLabel = "FILE", description = "UTF-8 text to train on (default: java.base "
            + "sources from $JAVA_HOME/lib/src.zip)")
    Path data;
    @Option(names = "--synthetic", paramLabel = "CHARS", description = "train on CHARS characters of the built-in "
            + "Markov source, whose entropy rate (the best loss possible) is known exactly")
    Integer synthetic;
    @Option(names = "--tokenizer", paramLabel = "char|bpe", description = "tokenizer (default: char)")
    String tokenizer;
    @Option(names = "--vocab", paramLabel = "N", description = "BPE vocabulary size (default: 512)")
    Integer vocab;
    @Option(names = "--steps", paramLabel = "N", description = "optimizer steps in total; the cosine schedule ends "
            + "here (default: " + STEPS + ")")
    Integer steps;
    @Option(names = "--stop-after", paramLabel = "N", description = "stop after step N with a checkpoint, as if "
            + "interrupted (the schedule still ends at --steps); continue with --resume")
    Integer stopAfter;
    @Option(names = "--batch", paramLabel = "B", description = "sequences per step (default: " + BATCH + ")")
    Integer batch;
    @Option(names = "--micro-batches", paramLabel = "K", description = "split each batch into K micro-batches and "
            + "accumulate gradients (less activation memory, same result up to rounding; default: 1)")
    Integer microBatches;
    @Option(names = "--lr", paramLabel = "LR", description = "peak learning rate (default: " + LR + ")")
    Double lr;
    @Option(names = "--warmup", paramLabel = "N", description = "linear warm-up steps (default: steps/10, at most "
            + "100)")
    Integer warmup;
    @Option(names = "--weight-decay", paramLabel = "WD", description = "AdamW weight decay on weight matrices "
            + "(default: 0.1)")
    Double weightDecay;
    @Option(names = "--clip", paramLabel = "NORM", description = "global gradient-norm clip, 0 = off (default: 1.0)")
    Double clip;
    @Option(names = "--seed", paramLabel = "N", description = "seed of init, batches and sampling (default: "
            + SEED + ")")
    Long seed;
    @Option(names = "--threads", paramLabel = "N", description = "kernel threads (default: all cores); results are "
            + "bit-identical for the same seed and thread count")
    Integer threads;
    @Option(names = "--out", paramLabel = "DIR", description = "checkpoint directory (default: " + OUT
            + ", or the --resume directory)")
    Path out;
    @Option(names = "--resume", paramLabel = "DIR", description = "continue the run saved in DIR; its settings are "
            + "kept, --steps may extend it")
    Path resume;
    @Option(names = "--log", paramLabel = "FILE", description = "write one JSON object per step (step, loss, "
            + "val_loss, tokens_per_s, lr, grad_norm); appended to on --resume")
    Path log;
    @Option(names = "--eval-every", paramLabel = "N", description = "validation loss every N steps and at the end "
            + "(default: steps/10)")
    Integer evalEvery;
    @Option(names = "--eval-windows", paramLabel = "N", description = "validation windows of T tokens (default: 32)")
    Integer evalWindows;
    @Option(names = "--checkpoint-every", paramLabel = "N", description = "checkpoint every N steps and at the end "
            + "(default: steps/4)")
    Integer checkpointEvery;
    @Option(names = "--keep", paramLabel = "N", description = "keep the last N checkpoints (default: 2)")
    Integer keep;
    @Option(names = "--sample-tokens", paramLabel = "N", description = "tokens to generate at the end, 0 = none "
            + "(default: 400)")
    Integer sampleTokens;

    @Option(names = "--recompute", description = "per-block activation recomputation: keep only each block's "
            + "output, re-run the block's forward in backward (about 8·P·D instead of 6·P·D, less memory)")
    Boolean recompute;
    @Option(names = "--ledger", description = "print the FLOP/byte ledger of the run at the end: forward, backward, "
            + "optimizer FLOPs beside 6·P·D, memory by category")
    boolean ledger;
    @Option(names = "--ledger-json", paramLabel = "FILE", description = "write the ledger report as JSON to FILE")
    Path ledgerJson;

    @Option(names = "--precision", paramLabel = "fp32|bf16|fp16", description = "working dtype of weights, "
            + "activations and gradients; masters and AdamW state stay FP32 (default: fp32)")
    String precision;
    @Option(names = "--loss-scale", paramLabel = "none|N|dynamic", description = "loss scaling: none, a fixed N, or "
            + "dynamic (2^16, x2 after 2000 clean steps, /2 and skip on overflow) (default: none)")
    String lossScale;

    @Override
    public Integer call() throws Exception {
        if (data != null && synthetic != null) {
            throw new UserException("--data and --synthetic both given: choose one");
        }
        TrainSettings s;
        Checkpoint.State st = null;
        if (resume != null) {
            st = Checkpoint.readState(resume);
            s = resumed(Trainer.settingsFromCheckpoint(st));
        } else {
            s = fresh();
        }
        PrintStream stdout = System.out;
        Trainer trainer = new Trainer(s, st, stdout);
        Checkpoint.prepare(s.out(), keep != null ? keep : Checkpoint.KEEP);
        trainer.run();
        return 0;
    }

    private TrainSettings fresh() {
        int nSteps = or(steps, STEPS);
        TrainSettings.DataSpec d = data != null ? TrainSettings.DataSpec.file(data)
                : synthetic != null ? TrainSettings.DataSpec.markov(synthetic, or(seed, SEED))
                : TrainSettings.DataSpec.javaBase();
        if (synthetic != null && synthetic < 1) {
            throw new UserException("--synthetic must be >= 1 characters, got " + synthetic);
        }
        positiveIfGiven("--context", context);
        positiveIfGiven("--layers", layers);
        positiveIfGiven("--d-model", dModel);
        positiveIfGiven("--heads", heads);
        return new TrainSettings(or(preset, PRESET), or(context, 0), or(layers, 0), or(dModel, 0), or(heads, 0), d,
                or(tokenizer, "char"), or(vocab, 512), 0.1, nSteps, or(stopAfter, 0), or(batch, BATCH),
                or(microBatches, 1), or(lr, LR), 0.1, or(warmup, Math.min(100, nSteps / 10)), or(weightDecay, 0.1),
                or(clip, 1.0), or(seed, SEED), or(threads, Runtime.getRuntime().availableProcessors()),
                or(out, Path.of(OUT)), log, or(evalEvery, Math.max(1, nSteps / 10)), or(evalWindows, 32),
                or(checkpointEvery, Math.max(1, nSteps / 4)), or(sampleTokens, 400), or(recompute, false), ledger,
                ledgerJson, DType.parse(or(precision, "fp32")), or(lossScale, "none"));
    }

    /** The checkpoint's settings with the options that may change on resume applied; others must not be given. */
    private TrainSettings resumed(TrainSettings c) {
        fixed("--preset", preset);
        fixed("--context", context);
        fixed("--layers", layers);
        fixed("--d-model", dModel);
        fixed("--heads", heads);
        fixed("--tokenizer", tokenizer);
        fixed("--vocab", vocab);
        fixed("--synthetic", synthetic);
        fixed("--batch", batch);
        fixed("--micro-batches", microBatches);
        fixed("--lr", lr);
        fixed("--warmup", warmup);
        fixed("--weight-decay", weightDecay);
        fixed("--clip", clip);
        fixed("--seed", seed);
        fixed("--eval-windows", evalWindows);
        fixed("--precision", precision);
        fixed("--loss-scale", lossScale);
        TrainSettings.DataSpec d = data != null ? TrainSettings.DataSpec.file(data) : c.data();
        if (threads != null && threads != c.threads()) {
            System.err.println("sixpd: note: resuming with " + threads + " threads, trained with " + c.threads()
                    + ": the losses may differ in the last bits from an uninterrupted run");
        }
        return new TrainSettings(c.preset(), c.context(), c.layers(), c.dModel(), c.heads(), d, c.tokenizer(),
                c.vocab(), c.valFraction(), or(steps, c.steps()), or(stopAfter, 0), c.batch(), c.microBatches(),
                c.lr(), c.minLrRatio(), c.warmup(), c.weightDecay(), c.clip(), c.seed(), or(threads, c.threads()),
                or(out, resume), log, or(evalEvery, c.evalEvery()), c.evalWindows(),
                or(checkpointEvery, c.checkpointEvery()), or(sampleTokens, c.sampleTokens()),
                or(recompute, c.recompute()), ledger, ledgerJson, c.precision(), c.lossScale());
    }

    private static void positiveIfGiven(String option, Integer v) {
        if (v != null && v < 1) {
            throw new UserException(option + " must be positive, got " + v);
        }
    }

    private static void fixed(String option, Object given) {
        if (given != null) {
            throw new UserException(option + " cannot change when resuming (the checkpoint fixes it); leave it out,"
                    + " or start a new run without --resume");
        }
    }

    private static <T> T or(T v, T dflt) {
        return v != null ? v : dflt;
    }
}
