package dev.sixpd.nn.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.UserException;
import dev.sixpd.nn.io.Adapters;
import dev.sixpd.nn.io.Checkpoint;
import dev.sixpd.nn.train.FineTune;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code sixpd export}: a LoRA fine-tune's adapters merged into their base ({@code --merge}: a plain checkpoint
 * that {@code sample} and {@code finetune --from} read) or saved alone in PEFT's layout ({@code --adapters}).
 */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Export a LoRA fine-tune: merged into its base (--merge), or its adapters alone in PEFT's "
                + "layout (--adapters)."},
        footer = {"", "Examples:", "  sixpd export --from out/finetune --merge --out out/merged",
                "  sixpd export --from out/finetune --adapters --out out/adapters",
                "  sixpd sample --checkpoint out/train --adapters out/adapters"})
public final class ExportCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--from", paramLabel = "DIR", required = true, description = "a checkpoint directory of sixpd "
            + "finetune with LoRA adapters")
    Path from;
    @Option(names = "--merge", description = "fold (alpha/r)·B·A into each adapted weight and write a plain "
            + "checkpoint")
    boolean merge;
    @Option(names = "--adapters", description = "write the adapters alone: adapter_model.safetensors "
            + "(base_model.model.<module>.lora_A.weight, ...lora_B.weight) and adapter_config.json")
    boolean adapters;
    @Option(names = "--out", paramLabel = "DIR", required = true, description = "output directory")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (merge == adapters) {
            throw new UserException("say what to export: --merge (a plain checkpoint) or --adapters (PEFT's files)");
        }
        Checkpoint.State st = Checkpoint.readState(from);
        if (Checkpoint.lora(st) == null) {
            throw new UserException(from + " has no LoRA adapters (a checkpoint of train or of finetune --full):"
                    + " there is nothing to merge or export; use it as it is");
        }
        Gpt adapted = FineTune.restore(st, 1);
        if (adapters) {
            Adapters.write(out, adapted);
            System.out.println("adapters: " + out.resolve(Adapters.MODEL) + " and " + out.resolve(Adapters.CONFIG)
                    + " (r = " + adapted.lora().rank() + ", alpha = " + adapted.lora().alpha() + ", "
                    + adapted.spec().adapterParameters() + " values)");
            return 0;
        }
        if (Files.exists(out.resolve(Checkpoint.LATEST)) || Files.exists(out.resolve(Checkpoint.STATE))) {
            throw new UserException(out + " already holds a checkpoint: choose another --out");
        }
        Gpt merged = FineTune.merge(adapted, 1);
        ObjectNode train = JSON.createObjectNode();
        train.put("merged_from", from.toAbsolutePath().normalize().toString());
        train.put("merged_step", st.step());
        train.set("lora", Checkpoint.loraJson(adapted.lora()));
        Checkpoint.prepare(out, Checkpoint.KEEP);
        Checkpoint.save(out, st.step(), merged, st.tokenizer(), null, null, train);
        Checkpoint.release(out);
        System.out.println("merged: " + out + " (step " + st.step() + ", " + merged.config + "; W + (alpha/r)·B·A,"
                + " scale " + adapted.lora().scale() + ")");
        return 0;
    }
}
