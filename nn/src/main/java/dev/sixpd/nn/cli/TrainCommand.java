package dev.sixpd.nn.cli;

import dev.sixpd.mpi.Mpi;
import dev.sixpd.nn.UserException;
import dev.sixpd.nn.io.Checkpoint;
import dev.sixpd.nn.io.CheckpointException;
import dev.sixpd.nn.train.DataParallel;
import dev.sixpd.nn.train.TrainSettings;
import dev.sixpd.nn.train.Trainer;
import dev.sixpd.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code sixpd train}: train a GPT on a text corpus. Options left out take the defaults below, or, with
 * {@code --resume}, the values the checkpoint was trained with.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a GPT-2- or LLaMA-style model on the CPU.",
                "Default: the 'small' preset, character tokens, on the Java sources of java.base from the JDK's "
                        + "lib/src.zip; a few minutes on 2 cores."},
        footer = {"", "Examples:", "  sixpd train", "  sixpd train --preset tiny --steps 200 --data input.txt",
                "  sixpd train --resume out/train --steps 800"})
public final class TrainCommand implements Callable<Integer> {
    // defaults: chosen so that `sixpd train` on the default corpus with 2 cores takes about 3-4 minutes
    static final String PRESET = TrainSettings.DEFAULT_PRESET;
    static final int STEPS = TrainSettings.DEFAULT_STEPS;
    static final int BATCH = TrainSettings.DEFAULT_BATCH;
    static final double LR = TrainSettings.DEFAULT_LR;
    static final long SEED = TrainSettings.DEFAULT_SEED;
    static final String OUT = TrainSettings.DEFAULT_OUT;

    @Mixin
    ModelOptions model;
    @Mixin
    DataOptions text;
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
    @Option(names = "--dry-run", description = "print the model, its FLOPs per token and the memory a training step"
            + " would hold (the layers' own buffer sizes, nothing allocated), then stop")
    boolean dryRun;
    @Option(names = "--ledger-json", paramLabel = "FILE", description = "write the ledger report as JSON to FILE")
    Path ledgerJson;

    @Option(names = "--precision", paramLabel = "fp32|bf16|fp16", description = "working dtype of weights, "
            + "activations and gradients; masters and AdamW state stay FP32 (default: fp32)")
    String precision;
    @Option(names = "--loss-scale", paramLabel = "none|N|dynamic", description = "loss scaling: none, a fixed N, or "
            + "dynamic (2^16, x2 after 2000 clean steps, /2 and skip on overflow) (default: none)")
    String lossScale;

    @Option(names = "--ranks", paramLabel = "N", description = "data parallelism on this machine: run this command "
            + "in N processes with Open MPI's mpirun, each taking batch/N sequences of every step (for several "
            + "machines run mpirun --hostfile FILE -np N sixpd train ... instead)")
    Integer ranks;
    @Option(names = "--zero", paramLabel = "0|1|2|3", description = "with several ranks, the ZeRO stage: 0 = plain"
            + " data parallelism, 1 = AdamW state sharded over the ranks, 2 = gradients too (reduce-scattered layer by"
            + " layer in backward), 3 = weights too (all-gathered layer by layer in forward and backward)"
            + " (default: 0)")
    Integer zero;
    @Option(names = "--overlap", description = "with several ranks and --zero 0: start each layer's gradient"
            + " all-reduce (non-blocking) as soon as its backward ends, so it runs while backward computes the"
            + " earlier layers, as PyTorch DDP does; the same losses bit for bit on 2 ranks (default: off)")
    Boolean overlap;
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (ranks != null && !dryRun) {
            return DataParallel.launch(ranks, spec.commandLine().getParseResult().originalArgs());
        }
        if (!Mpi.launchedByMpirun()) {
            return train();
        }
        // one rank of mpirun: finalize MPI on the way out; a user error was thrown on every rank alike, rank 0
        // reports it; anything else may have left the other ranks in a collective: abort them all
        boolean root = "0".equals(System.getenv("OMPI_COMM_WORLD_RANK"));
        try {
            int code = train();
            DataParallel.finish();
            return code;
        } catch (UserException | CheckpointException | IllegalArgumentException e) {
            DataParallel.finish();
            if (!root) {
                return Main.USAGE;
            }
            throw e;
        } catch (Throwable t) {
            t.printStackTrace();
            Mpi.init().abort(1);
            throw t;
        }
    }

    private int train() throws Exception {
        TrainSettings s;
        Checkpoint.State st = null;
        if (resume != null) {
            st = Checkpoint.readState(resume);
            s = resumed(Trainer.settingsFromCheckpoint(st));
        } else {
            s = fresh();
        }
        PrintStream stdout = System.out;
        if (dryRun) {
            Trainer.dryRun(s, stdout);
            return 0;
        }
        Trainer trainer = new Trainer(s, st, stdout);
        if (dev.sixpd.mpi.Mpi.launchedRank() == 0) {
            // rank 0 alone writes checkpoints (and holds the directory's lock); the other ranks only train
            Checkpoint.prepare(s.out(), keep != null ? keep : Checkpoint.KEEP);
        }
        trainer.run();
        return 0;
    }

    private TrainSettings fresh() {
        TrainSettings.Builder b = TrainSettings.builder().model(model.choice(PRESET)).data(text.spec(or(seed, SEED)));
        text.apply(b);
        if (steps != null) {
            b.steps(steps);
        }
        if (stopAfter != null) {
            b.stopAfter(stopAfter);
        }
        if (batch != null) {
            b.batch(batch);
        }
        if (microBatches != null) {
            b.microBatches(microBatches);
        }
        if (lr != null) {
            b.lr(lr);
        }
        if (warmup != null) {
            b.warmup(warmup);
        }
        if (weightDecay != null) {
            b.weightDecay(weightDecay);
        }
        if (clip != null) {
            b.clip(clip);
        }
        if (seed != null) {
            b.seed(seed);
        }
        if (threads != null) {
            b.threads(threads);
        }
        if (out != null) {
            b.out(out);
        }
        if (evalEvery != null) {
            b.evalEvery(evalEvery);
        }
        if (evalWindows != null) {
            b.evalWindows(evalWindows);
        }
        if (checkpointEvery != null) {
            b.checkpointEvery(checkpointEvery);
        }
        if (sampleTokens != null) {
            b.sampleTokens(sampleTokens);
        }
        if (recompute != null) {
            b.recompute(recompute);
        }
        if (precision != null) {
            b.precision(DType.parse(precision));
        }
        if (lossScale != null) {
            b.lossScale(lossScale);
        }
        if (zero != null) {
            b.zero(zero);
        }
        if (overlap != null) {
            b.overlap(overlap);
        }
        if (threads == null && Mpi.launchedByMpirun()) {
            b.threads(DataParallel.defaultThreads());
        }
        return b.log(log).ledger(ledger).ledgerJson(ledgerJson).build();
    }

    /** The checkpoint's settings with the options that may change on resume applied; others must not be given. */
    private TrainSettings resumed(TrainSettings c) {
        String m = model.anyGiven();
        if (m != null) {
            fixed(m, m);
        }
        fixed("--tokenizer", text.tokenizer);
        fixed("--vocab", text.vocab);
        fixed("--synthetic", text.synthetic);
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
        if (threads != null && threads != c.threads()) {
            System.err.println("sixpd: note: resuming with " + threads + " threads, trained with " + c.threads()
                    + ": the losses may differ in the last bits from an uninterrupted run");
        }
        TrainSettings.Builder b = c.toBuilder().data(text.data != null ? TrainSettings.DataSpec.file(text.data)
                : c.data()).stopAfter(or(stopAfter, 0)).threads(or(threads, c.threads())).out(or(out, resume))
                .log(log).evalEvery(or(evalEvery, c.evalEvery())).checkpointEvery(or(checkpointEvery,
                        c.checkpointEvery())).sampleTokens(or(sampleTokens, c.sampleTokens()))
                .recompute(or(recompute, c.recompute())).ledger(ledger).ledgerJson(ledgerJson)
                .zero(or(zero, c.zero())).overlap(or(overlap, c.overlap()));
        if (steps != null) {
            b.steps(steps);
        }
        return b.build();
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
