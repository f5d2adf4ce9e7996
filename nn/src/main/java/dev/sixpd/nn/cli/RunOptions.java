package dev.sixpd.nn.cli;

import dev.sixpd.mpi.Mpi;
import dev.sixpd.nn.UserException;
import dev.sixpd.nn.train.DataParallel;
import dev.sixpd.nn.train.TrainSettings;
import dev.sixpd.tensor.DType;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * The options of a training run that {@code train} and {@code finetune} share (a picocli mixin): steps and schedule,
 * batch, optimizer, precision, threads, logging, checkpoints and resuming, the ledger. Options left out keep the
 * {@link TrainSettings} defaults, or with {@code --resume} the checkpoint's values.
 */
public final class RunOptions {
    @Option(names = "--steps", paramLabel = "N", description = "optimizer steps in total; the cosine schedule ends "
            + "here (default: " + TrainSettings.DEFAULT_STEPS + " for train, " + FinetuneCommand.STEPS
            + " for finetune)")
    Integer steps;
    @Option(names = "--stop-after", paramLabel = "N", description = "stop after step N with a checkpoint, as if "
            + "interrupted (the schedule still ends at --steps); continue with --resume")
    Integer stopAfter;
    @Option(names = "--batch", paramLabel = "B", description = "sequences per step (default: "
            + TrainSettings.DEFAULT_BATCH + ")")
    Integer batch;
    @Option(names = "--micro-batches", paramLabel = "K", description = "split each batch into K micro-batches and "
            + "accumulate gradients (less activation memory, same result up to rounding; default: 1)")
    Integer microBatches;
    @Option(names = "--lr", paramLabel = "LR", description = "peak learning rate (default: " + TrainSettings.DEFAULT_LR
            + " for train; finetune: " + FinetuneCommand.LR_LORA + " with LoRA, " + FinetuneCommand.LR_FULL
            + " with --full)")
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
            + TrainSettings.DEFAULT_SEED + ")")
    Long seed;
    @Option(names = "--threads", paramLabel = "N", description = "kernel threads (default: all cores); results are "
            + "bit-identical for the same seed and thread count")
    Integer threads;
    @Option(names = "--out", paramLabel = "DIR", description = "checkpoint directory (default: out/train for train, "
            + "out/finetune (LoRA) or out/finetune-full (--full) for finetune, or the --resume directory)")
    Path out;
    @Option(names = "--resume", paramLabel = "DIR", description = "continue the run saved in DIR; its settings are "
            + "kept, --steps may extend it")
    Path resume;
    @Option(names = "--dry-run", description = "print the model, its FLOPs per token (fine-tuning: with its trainable"
            + " and frozen parameters) and the memory a step would hold (the layers' own buffer sizes, nothing"
            + " allocated), then stop")
    boolean dryRun;
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

    /** The seed given, or {@code dflt}. */
    long seedOr(long dflt) {
        return seed != null ? seed : dflt;
    }

    /** The keep count for {@code Checkpoint.prepare}. */
    int keepOr(int dflt) {
        return keep != null ? keep : dflt;
    }

    /** A fresh run: every option given overrides the builder's default. */
    TrainSettings.Builder apply(TrainSettings.Builder b) {
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
        if (threads == null && Mpi.launchedByMpirun()) {
            b.threads(DataParallel.defaultThreads());
        }
        return b.log(log).ledger(ledger).ledgerJson(ledgerJson);
    }

    /**
     * A resumed run: the checkpoint's settings {@code c} with the options that may change applied; the others must
     * not be given. The caller sets the data.
     */
    TrainSettings.Builder resumed(TrainSettings c) {
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
        TrainSettings.Builder b = c.toBuilder().stopAfter(or(stopAfter, 0)).threads(or(threads, c.threads()))
                .out(or(out, resume)).log(log).evalEvery(or(evalEvery, c.evalEvery()))
                .checkpointEvery(or(checkpointEvery, c.checkpointEvery()))
                .sampleTokens(or(sampleTokens, c.sampleTokens())).recompute(or(recompute, c.recompute()))
                .ledger(ledger).ledgerJson(ledgerJson);
        if (steps != null) {
            b.steps(steps);
        }
        return b;
    }

    static void fixed(String option, Object given) {
        if (given != null) {
            throw new UserException(option + " cannot change when resuming (the checkpoint fixes it); leave it out,"
                    + " or start a new run without --resume");
        }
    }

    static <T> T or(T v, T dflt) {
        return v != null ? v : dflt;
    }
}
