package dev.sixpd.nn.plan;

import java.util.Locale;
import java.util.function.Supplier;

/**
 * Command-line options of {@code ./sixpd plan} turned into a {@link PlanInput}, independent of the CLI framework.
 * Options take {@code --name value} or {@code --name=value}; sizes accept {@code 7e9}, {@code 7B}, {@code 1.5T}.
 *
 * <pre>
 * model     --params 7B | --layers L --hidden h --heads a --vocab V --seq s   (both: P given, arch for activations)
 * data      --tokens 10B (default 20·P)   --bytes-per-token 4.1 (measured)
 * hardware  --hardware a100|a800|a10|h100|h200|v100|rtx4090|this-cpu   or --peak 312T (FLOP/s per device)
 *           --precision bf16|fp32 (default bf16)   --devices 8   --deadline 30d   --mfu 0.4   --recompute
 *           --batch 1 (micro-batch per device, for activations)
 * cost      --price 2.0 (USD/device-hour)   --other-hw-pct 30   --dc-pct 10   --staff 0   --pue 1.2   --watts 400
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
              data      --tokens 10B (default 20·P)  --bytes-per-token B (measured on real text)
              hardware  --hardware a100|a800|a10|h100|h200|v100|rtx4090|this-cpu  or  --peak 312T (FLOP/s/device)
                        --precision bf16|fp32  --devices N  --deadline 30d  --mfu 0.4 (0.3-0.55 typical)  --recompute
                        --batch b (micro-batch per device, for activation memory)
              cost      --price USD/device-hour  --other-hw-pct 30  --dc-pct 10  --staff USD  --pue 1.2  --watts W
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
        Integer layers = null;
        Integer hidden = null;
        Integer heads = null;
        Integer vocab = null;
        Integer seq = null;
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
                default -> {
                    if (val == null) {
                        if (i + 1 >= args.length) {
                            throw new IllegalArgumentException(opt + " needs a value\n" + USAGE);
                        }
                        val = args[++i];
                    }
                    switch (opt) {
                        case "--params" -> b.params(Sizes.parseCount(opt, val));
                        case "--layers" -> layers = Sizes.parseInt(opt, val);
                        case "--hidden" -> hidden = Sizes.parseInt(opt, val);
                        case "--heads" -> heads = Sizes.parseInt(opt, val);
                        case "--vocab" -> vocab = Sizes.parseInt(opt, val);
                        case "--seq" -> seq = Sizes.parseInt(opt, val);
                        case "--tokens" -> b.tokens(Sizes.parseCount(opt, val));
                        case "--bytes-per-token" -> b.bytesPerToken(Sizes.parseCount(opt, val));
                        case "--hardware", "--gpu" -> b.hardware(isThisCpu(val) ? thisCpu.get() : Hardware.lookup(val));
                        case "--peak" -> b.peakFlops(Sizes.parseCount(opt, val));
                        case "--precision" -> b.precision(precision(val));
                        case "--devices" -> b.devices(Sizes.parseInt(opt, val));
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
        boolean anyArch = layers != null || hidden != null || heads != null || vocab != null || seq != null;
        if (anyArch) {
            if (layers == null || hidden == null || heads == null || vocab == null || seq == null) {
                throw new IllegalArgumentException("an architecture needs all of --layers, --hidden, --heads, --vocab "
                        + "and --seq (missing: " + missing(layers, hidden, heads, vocab, seq) + ")");
            }
            b.arch(layers, hidden, heads, vocab, seq);
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

    private static String missing(Integer layers, Integer hidden, Integer heads, Integer vocab, Integer seq) {
        StringBuilder sb = new StringBuilder();
        String[] n = {"--layers", "--hidden", "--heads", "--vocab", "--seq"};
        Integer[] v = {layers, hidden, heads, vocab, seq};
        for (int i = 0; i < n.length; i++) {
            if (v[i] == null) {
                sb.append(sb.isEmpty() ? "" : ", ").append(n[i]);
            }
        }
        return sb.toString();
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
