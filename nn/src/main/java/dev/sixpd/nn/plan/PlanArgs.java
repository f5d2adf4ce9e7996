package dev.sixpd.nn.plan;

import java.util.Locale;
import java.util.function.Supplier;

/**
 * Command-line options of {@code ./sixpd plan} turned into a {@link PlanInput}, independent of the CLI framework.
 * Options take {@code --name value} or {@code --name=value}; sizes accept {@code 7e9}, {@code 7B}, {@code 1.5T}.
 *
 * <pre>
 * model     --params 7B | --layers L --hidden h --heads a --vocab V --seq s   (both: P given, arch for activations)
 *           switches (P from ModelSpec): --family gpt2|llama  --kv-heads  --mlp gelu|swiglu  --mlp-hidden H
 *           --norm layernorm|rmsnorm  --pos learned|rope  --block sequential|parallel  --[no-]bias  --[no-]tie-head
 *           --attention naive|flash
 *           | --flops 3.14e23 (with --params: D follows; with data: P follows; alone: the compute-optimal P)
 * data      --tokens 10B | --data-bytes 1TB | --data-chars 500B [--script cjk | --bytes-per-char 3]
 *           --epochs 1   --bytes-per-token 4.1 (measured)     default D = 20·P
 * hardware  --hardware a100|"A100 80GB PCIe"|a100-40gb|a800|a10|h100|h100-pcie|h200|v100|"RTX 4090"|this-cpu
 *           or --peak 312T (FLOP/s per device) and/or --memory 24GB (device memory; memory questions need no peak)
 *           --precision bf16|fp32 (fp32: FP32 peak and FP32 memory layout)   --bytes-per-param 16|18|20|12|W+G+O
 * run       --devices 8 | --deadline 30d | --duration 60d (a real run: MFU computed)   --mfu 0.4   --recompute
 *           --batch 1 (micro-batch b per device)   --micro-batches 1 (m per step)   --workspace 1GB (extra)
 * parallel  --tp 1   --pp 1   --dp (default N / (t·p))   --sequence-parallel
 * inference --infer-batch 1   --context s   --infer-dtype bf16|fp32|int8|int4
 * cost      --price 2.0 (USD/device-hour)   --device-price 15000 (USD, to buy)   --kwh-price 0.1
 *           --other-hw-pct 30   --dc-pct 10   --staff 0   --pue 1.2   --watts 400
 * lora      --lora-rank r   --lora-targets q,k,v,o,up,gate,down|all (default q,v)
 * output    --json
 * </pre>
 * Stateless and thread-safe.
 *
 * @param input the validated planner input
 * @param json whether {@code --json} was given
 */
public record PlanArgs(PlanInput input, boolean json) {

    /** The usage text above, for {@code --help}. */
    public static final String USAGE = """
            usage: sixpd plan [options]
              model     --params 7B | --layers L --hidden h --heads a --vocab V --seq s
                        --flops C (FLOP budget: with --params D follows, with data P follows, alone the
                        compute-optimal P = sqrt(C / 120))
                        switches (P counted by the trainer's ModelSpec; default GPT-2):
                        --family gpt2|llama (llama: rmsnorm, rope, swiglu of LLaMA's width, no bias, untied)
                        --kv-heads k (grouped-query; 1 = multi-query)  --mlp gelu|swiglu  --mlp-hidden H
                        --norm layernorm|rmsnorm  --pos learned|rope  --block sequential|parallel
                        --bias | --no-bias  --tie-head | --no-tie-head  --attention naive|flash
              data      --tokens 10B | --data-bytes 1TB | --data-chars 500B [--script ascii|cyrillic|cjk|emoji
                        or --bytes-per-char 3]  --epochs 1  --bytes-per-token B (measured on real text)
                        default D = 20·P
              hardware  --hardware a100|"A100 80GB PCIe"|a100-40gb|a800|a10|h100|h100-pcie|h200|v100|"RTX 4090"
                        |this-cpu  or  --peak 312T (FLOP/s/device)  --memory 24GB (device memory)
                        --precision bf16|fp32 (fp32 changes the peak AND the memory layout)
                        --bytes-per-param 16 (2+2+12 mixed Adam) | 18 (2+4+12, FP32 gradients) | 20 (4+4+12)
                        | 12 or sgd (4+4+4, SGD with momentum) | W+G+O
              run       --devices N | --deadline 30d | --duration 60d (a real run: its MFU is computed)
                        --mfu 0.4 (0.3-0.55 typical)  --recompute  --batch b (micro-batch per device)
                        --micro-batches m (per step)  --workspace 1GB (extra memory per device)
              parallel  --tp t  --pp p  --dp d (N = t·p·d)  --sequence-parallel
              inference --infer-batch 1  --context T (default --seq)  --infer-dtype bf16|fp32|int8|int4
              cost      --price USD/device-hour  --device-price USD (purchase)  --kwh-price USD
                        --other-hw-pct 30  --dc-pct 10  --staff USD  --pue 1.2  --watts W
              lora      --lora-rank r (adapters r·(in + out) per targeted matrix per layer: full fine-tuning
                        against LoRA)  --lora-targets q,k,v,o,up,gate,down or all (default q,v)
              output    --json
            """;

    /** Parses {@code args}; {@code this-cpu} is measured with {@link Hardware#thisCpu(double)} (about 2 s). */
    public static PlanArgs parse(String[] args) {
        return parse(args, () -> Hardware.thisCpu(2.0));
    }

    /**
     * Parses {@code args}, resolving {@code --hardware this-cpu} with {@code thisCpu} (tests pass a fixed one).
     *
     * @throws IllegalArgumentException for an unknown option, a missing value, or invalid inputs
     */
    public static PlanArgs parse(String[] args, Supplier<Hardware> thisCpu) {
        PlanInput.Builder b = PlanInput.builder();
        boolean json = false;
        ArchArgs arch = new ArchArgs();
        Integer loraRank = null;
        String loraTargets = null;
        for (int i = 0; i < args.length; i++) {
            String opt = args[i];
            String val = null;
            int eq = opt.indexOf('=');
            if (opt.startsWith("--") && eq > 0) {
                val = opt.substring(eq + 1);
                opt = opt.substring(0, eq);
            }
            switch (opt) {
                case "--json" -> json = true;
                case "--recompute" -> b.recompute(true);
                case "--sequence-parallel" -> b.sequenceParallel(true);
                default -> {
                    if (val == null && arch.flag(opt)) {
                        continue;
                    }
                    if (val == null) {
                        if (i + 1 >= args.length) {
                            throw new IllegalArgumentException(opt + " needs a value\n" + USAGE);
                        }
                        val = args[++i];
                    }
                    if (arch.option(opt, val)) {
                        continue;
                    }
                    switch (opt) {
                        case "--params" -> b.params(Sizes.parseCount(opt, val));
                        case "--lora-rank" -> loraRank = Sizes.parseInt(opt, val);
                        case "--lora-targets" -> loraTargets = val;
                        case "--tokens" -> b.tokens(Sizes.parseCount(opt, val));
                        case "--flops" -> b.flops(Sizes.parseCount(opt, val));
                        case "--data-bytes" -> b.dataBytes(Sizes.parseBytes(opt, val));
                        case "--data-chars" -> b.dataChars(Sizes.parseCount(opt, val));
                        case "--script" -> b.bytesPerChar(Scripts.bytesPerChar(val));
                        case "--bytes-per-char" -> b.bytesPerChar(Sizes.parseCount(opt, val));
                        case "--epochs" -> b.epochs(Sizes.parseCount(opt, val));
                        case "--memory" -> b.memoryBytes(Sizes.parseBytes(opt, val));
                        case "--bytes-per-param" -> b.states(StateLayout.parse(val));
                        case "--tp" -> b.tensorParallel(Sizes.parseInt(opt, val));
                        case "--pp" -> b.pipelineStages(Sizes.parseInt(opt, val));
                        case "--dp" -> b.dataParallel(positiveInt(opt, val));
                        case "--micro-batches" -> b.microBatches(Sizes.parseInt(opt, val));
                        case "--duration" -> b.durationSeconds(Sizes.parseDurationSeconds(opt, val));
                        case "--device-price" -> b.devicePrice(Sizes.parseCount(opt, val.replace("$", "")));
                        case "--kwh-price" -> b.kwhPrice(Sizes.parseCount(opt, val.replace("$", "")));
                        case "--workspace" -> b.workspaceBytes(Sizes.parseBytes(opt, val));
                        case "--infer-batch" -> b.inferBatch(Sizes.parseInt(opt, val));
                        case "--context" -> b.context(positiveInt(opt, val));
                        case "--infer-dtype" -> b.inferDtype(inferDtype(val));
                        case "--bytes-per-token" -> b.bytesPerToken(Sizes.parseCount(opt, val));
                        case "--hardware", "--gpu" -> b.hardware(isThisCpu(val) ? thisCpu.get() : Hardware.lookup(val));
                        case "--peak" -> b.peakFlops(Sizes.parseCount(opt, val));
                        case "--precision" -> b.precision(precision(val));
                        case "--devices" -> b.devices(positiveInt(opt, val));
                        case "--deadline" -> b.deadlineSeconds(Sizes.parseDurationSeconds(opt, val));
                        case "--mfu" -> b.mfu(Sizes.parseCount(opt, val));
                        case "--batch" -> b.microBatch(Sizes.parseInt(opt, val));
                        case "--price" -> b.pricePerDeviceHour(Sizes.parseCount(opt, val.replace("$", "")));
                        case "--other-hw-pct" -> b.otherHardwarePercent(Sizes.parseCount(opt, val.replace("%", "")));
                        case "--dc-pct" -> b.datacenterPercent(Sizes.parseCount(opt, val.replace("%", "")));
                        case "--staff" -> b.staffCost(Sizes.parseCount(opt, val.replace("$", "")));
                        case "--pue" -> b.pue(Sizes.parseCount(opt, val));
                        case "--watts" -> b.watts(Sizes.parseCount(opt, val));
                        default -> throw new IllegalArgumentException("unknown option '" + opt + "'\n" + USAGE);
                    }
                }
            }
        }
        PlanInput.Arch a = arch.build();
        b.arch(a);
        if (loraTargets != null && loraRank == null) {
            throw new IllegalArgumentException("--lora-targets chooses the matrices of --lora-rank: give --lora-rank r"
                    + " too (e.g. 8)");
        }
        if (loraRank != null) {
            if (a == null) {
                throw new IllegalArgumentException("--lora-rank sizes its adapters from the matrices of a block: give"
                        + " the architecture (--layers --hidden --heads --vocab --seq, and its switches)");
            }
            b.lora(Lora.of(loraRank, loraTargets == null ? "q,v" : loraTargets, a.config()));
        }
        return new PlanArgs(b.build(), json);
    }

    private static boolean isThisCpu(String v) {
        String k = v.toLowerCase(Locale.ROOT).replaceAll("[\\s_\\-]", "");
        return k.equals("thiscpu") || k.equals("cpu");
    }

    private static PlanInput.Precision precision(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "bf16", "fp16", "mixed", "half" -> PlanInput.Precision.BF16;
            case "fp32", "float", "single" -> PlanInput.Precision.FP32;
            default -> throw new IllegalArgumentException("--precision must be bf16 (mixed precision) or fp32, got '"
                    + v + "'");
        };
    }

    /** A whole number >= 1 (0 would mean "not given" inside {@link PlanInput}). */
    private static int positiveInt(String opt, String val) {
        int v = Sizes.parseInt(opt, val);
        if (v < 1) {
            throw new IllegalArgumentException(opt + " must be >= 1, got " + val);
        }
        return v;
    }

    private static PlanInput.InferDtype inferDtype(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "fp32", "float" -> PlanInput.InferDtype.FP32;
            case "bf16", "fp16", "half" -> PlanInput.InferDtype.BF16;
            case "int8" -> PlanInput.InferDtype.INT8;
            case "int4" -> PlanInput.InferDtype.INT4;
            default -> throw new IllegalArgumentException("--infer-dtype must be fp32, bf16, int8 or int4, got '" + v
                    + "'");
        };
    }

    /** Runs the planner on {@code args} and returns the text or JSON to print. */
    public static String run(String[] args) {
        PlanArgs pa = parse(args);
        PlanReport r = Planner.plan(pa.input());
        return pa.json() ? r.json() + "\n" : r.text();
    }

    /** Entry point for trying the planner without the CLI: {@code java ... dev.sixpd.nn.plan.PlanArgs --params 7B}. */
    public static void main(String[] args) {
        if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.print(USAGE);
            return;
        }
        try {
            System.out.print(run(args));
            System.out.flush();
        } catch (IllegalArgumentException e) {
            System.err.println("sixpd plan: " + e.getMessage());
            System.exit(2);
        }
    }
}
