package dev.sixpd.nn.cli;

import dev.sixpd.nn.Lora;
import dev.sixpd.nn.UserException;
import dev.sixpd.nn.io.Adapters;
import dev.sixpd.nn.io.Checkpoint;
import dev.sixpd.nn.train.FineTune;
import dev.sixpd.nn.train.TrainSettings;
import dev.sixpd.nn.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code sixpd finetune}: continue training a trained model on another text, with LoRA adapters on a frozen base or
 * (with {@code --full}) every tensor. The run options are {@code train}'s ({@link RunOptions}).
 */
@Command(name = "finetune", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fine-tune a trained model on a text: LoRA adapters on the frozen base (--lora-rank), or "
                + "every tensor (--full)."},
        footer = {"", "Examples:", "  sixpd finetune --from out/train --data README.md --lora-rank 8 --ledger",
                "  sixpd finetune --from out/train --data README.md --full --out out/finetune-full",
                "  sixpd finetune --resume out/finetune --steps 400"})
public final class FinetuneCommand implements Callable<Integer> {
    static final int STEPS = 200;
    static final double LR_LORA = 2e-3;
    static final double LR_FULL = 3e-4;
    static final String OUT = "out/finetune";

    @Option(names = "--from", paramLabel = "DIR", description = "the base model: a checkpoint directory of sixpd "
            + "train (its latest checkpoint), or a Hugging Face GPT-2 or LLaMA directory (config.json, "
            + "model.safetensors, tokenizer)")
    Path from;
    @Option(names = "--data", paramLabel = "FILE", description = "UTF-8 text to fine-tune on")
    Path data;
    @Option(names = "--lora-rank", paramLabel = "R", description = "LoRA: rank r of the adapters W + (alpha/r)·B·A;"
            + " the base is frozen")
    Integer rank;
    @Option(names = "--lora-alpha", paramLabel = "A", description = "LoRA: alpha; the adapters' output is scaled by"
            + " alpha/r (default: 2r)")
    Double alpha;
    @Option(names = "--lora-targets", paramLabel = "LIST", split = ",", description = "LoRA: the linear layers to "
            + "adapt, of q,k,v,o (LLaMA), qkv (GPT-2's fused c_attn), fc,proj (GPT-2's MLP), gate,up,down (SwiGLU), "
            + "all (default: q,v for LLaMA, qkv for GPT-2, as PEFT)")
    List<String> targets;
    @Option(names = "--lora-dropout", paramLabel = "P", description = "LoRA: dropout on the adapters' input "
            + "(default: 0)")
    Double dropout;
    @Option(names = "--load-adapters", paramLabel = "DIR", description = "start from the adapters in DIR "
            + "(sixpd export --adapters, PEFT's layout); their r, alpha, targets and dropout are used")
    Path loadAdapters;
    @Option(names = "--full", description = "full fine-tuning: no adapters, every tensor trains (for comparison)")
    boolean full;
    @Mixin
    RunOptions run;

    @Override
    public Integer call() throws Exception {
        TrainSettings s;
        Checkpoint.State st = null;
        FineTune ft;
        if (run.resume != null) {
            RunOptions.fixed("--from", from);
            RunOptions.fixed("--lora-rank", rank);
            RunOptions.fixed("--lora-alpha", alpha);
            RunOptions.fixed("--lora-targets", targets);
            RunOptions.fixed("--lora-dropout", dropout);
            RunOptions.fixed("--load-adapters", loadAdapters);
            RunOptions.fixed("--full", full ? Boolean.TRUE : null);
            st = Checkpoint.readState(run.resume);
            ft = FineTune.of(st);
            if (ft == null) {
                throw new UserException(run.resume + " is a checkpoint of sixpd train, not of finetune: continue it"
                        + " with sixpd train --resume " + run.resume);
            }
            TrainSettings c = Trainer.settingsFromCheckpoint(st);
            s = run.resumed(c).data(data != null ? TrainSettings.DataSpec.file(data) : c.data()).build();
        } else {
            if (from == null || data == null) {
                throw new UserException("finetune needs --from DIR (a trained model) and --data FILE (the text),"
                        + " or --resume DIR");
            }
            ft = fineTune();
            TrainSettings.Builder b = TrainSettings.builder().data(TrainSettings.DataSpec.file(data)).steps(STEPS)
                    .lr(ft.lora == null ? LR_FULL : LR_LORA).out(Path.of(ft.lora == null ? OUT + "-full" : OUT));
            s = run.apply(b).build();
        }
        if (run.dryRun) {
            Trainer.dryRun(s, ft, System.out);
            return 0;
        }
        Trainer trainer = new Trainer(s, st, ft, System.out);
        Checkpoint.prepare(s.out(), run.keepOr(Checkpoint.KEEP));
        trainer.run();
        return 0;
    }

    /** The base from --from, and LoRA's settings from the options (or the --load-adapters directory), or --full. */
    private FineTune fineTune() {
        boolean loraGiven = rank != null || alpha != null || targets != null || dropout != null;
        if (full && (loraGiven || loadAdapters != null)) {
            throw new UserException("--full trains every tensor without adapters: leave out the --lora-* options and"
                    + " --load-adapters");
        }
        if (!full && rank == null && loadAdapters == null) {
            throw new UserException("say how to fine-tune: --lora-rank R (LoRA adapters, the base frozen), "
                    + "--load-adapters DIR, or --full (every tensor)");
        }
        if (loadAdapters != null && loraGiven) {
            throw new UserException("--load-adapters takes r, alpha, targets and dropout from " + loadAdapters
                    + "/adapter_config.json: leave out the --lora-* options");
        }
        FineTune.Base base = FineTune.loadBase(from);
        Lora lora = full ? null : loadAdapters != null ? Adapters.readConfig(loadAdapters)
                : Lora.of(base.config(), rank, alpha, targets, dropout != null ? dropout : 0.0);
        return new FineTune(base, lora, loadAdapters);
    }
}
