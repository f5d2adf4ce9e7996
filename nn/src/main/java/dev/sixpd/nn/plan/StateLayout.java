package dev.sixpd.nn.plan;

import java.util.Locale;

/**
 * Bytes of model state per parameter during training: {@code weights + gradients + optimizer} bytes, the
 * {@code (x + y + z)·P} of the memory tables. Immutable and thread-safe.
 *
 * <p>The common presets, chosen with {@code --bytes-per-param}:
 * <ul>
 * <li>16 = 2 + 2 + 12: mixed-precision Adam, 16-bit weights and gradients, FP32 master weights, m and v
 * (Rajbhandari et al. 2020); the default with {@code --precision bf16}.</li>
 * <li>18 = 2 + 4 + 12: the same with FP32 gradients kept (accumulated) instead of 16-bit ones.</li>
 * <li>20 = 4 + 4 + 12: the {@code (x + y + 12)·P} rule with FP32 weights and gradients. It counts an FP32 master
 * copy beside FP32 weights; training in plain FP32 needs no second copy, which makes it 4 + 4 + 8 = 16.</li>
 * <li>4 + 4 + 8 = 16: plain FP32 Adam (weights, gradients, m, v); the default with {@code --precision fp32}.</li>
 * <li>12 = 4 + 4 + 4 ("8 + 4"): SGD with momentum in FP32, one state per parameter.</li>
 * </ul>
 *
 * @param weights bytes per parameter of the weights the forward pass reads (x)
 * @param gradients bytes per parameter of the gradients (y)
 * @param optimizer bytes per parameter of the optimizer state, including an FP32 master copy if there is one
 * @param description what the layout is, for the output
 */
public record StateLayout(double weights, double gradients, double optimizer, String description) {
    /** 2 + 2 + 12 = 16: mixed-precision Adam. */
    public static final StateLayout MIXED_ADAM = new StateLayout(2, 2, 12,
            "mixed-precision Adam: 2 (16-bit weights) + 2 (16-bit gradients) + 12 (FP32 master, m, v)");
    /** 2 + 4 + 12 = 18: mixed-precision Adam with FP32 gradients. */
    public static final StateLayout MIXED_ADAM_FP32_GRADS = new StateLayout(2, 4, 12,
            "mixed-precision Adam with FP32 gradients: 2 (16-bit weights) + 4 (FP32 gradients) + 12 (FP32 master,"
                    + " m, v)");
    /** 4 + 4 + 12 = 20: the (x + y + 12) rule with FP32 weights and gradients. */
    public static final StateLayout RULE_FP32 = new StateLayout(4, 4, 12,
            "(x + y + 12) with FP32 weights and gradients: 4 + 4 + 12 (master, m, v); plain FP32 Adam needs no"
                    + " master copy: 4 + 4 + 8 = 16");
    /** 4 + 4 + 8 = 16: plain FP32 Adam. */
    public static final StateLayout FP32_ADAM = new StateLayout(4, 4, 8,
            "FP32 Adam: 4 (weights) + 4 (gradients) + 8 (m, v)");
    /** 4 + 4 + 4 = 12: SGD with momentum. */
    public static final StateLayout SGD_MOMENTUM = new StateLayout(4, 4, 4,
            "SGD with momentum: 4 (weights) + 4 (gradients) + 4 (momentum) = 8 + 4");

    public StateLayout {
        for (double v : new double[] {weights, gradients, optimizer}) {
            if (!(v >= 0 && Double.isFinite(v))) {
                throw new IllegalArgumentException("bytes per parameter must be >= 0, got " + weights + " + "
                        + gradients + " + " + optimizer);
            }
        }
        if (weights + gradients + optimizer <= 0) {
            throw new IllegalArgumentException("bytes per parameter must be > 0 in total");
        }
    }

    /** x + y + z bytes per parameter. */
    public double total() {
        return weights + gradients + optimizer;
    }

    /** {@code 2 + 2 + 12}, the sum spelled out. */
    public String sum() {
        return Fmt.num(weights) + " + " + Fmt.num(gradients) + " + " + Fmt.num(optimizer);
    }

    /**
     * The layout for {@code --bytes-per-param}: {@code 16}, {@code 18}, {@code 20}, {@code 12} (or {@code sgd}) for
     * the presets above, or {@code W+G+O} for any other (e.g. {@code 4+4+8}).
     *
     * @throws IllegalArgumentException naming what is accepted
     */
    public static StateLayout parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT).replace(" ", "");
        switch (t) {
            case "16" -> {
                return MIXED_ADAM;
            }
            case "18" -> {
                return MIXED_ADAM_FP32_GRADS;
            }
            case "20" -> {
                return RULE_FP32;
            }
            case "12", "sgd", "8+4" -> {
                return SGD_MOMENTUM;
            }
            default -> {
                String[] parts = t.split("\\+");
                if (parts.length == 3) {
                    double w = Sizes.parseCount("--bytes-per-param", parts[0]);
                    double g = Sizes.parseCount("--bytes-per-param", parts[1]);
                    double o = Sizes.parseCount("--bytes-per-param", parts[2]);
                    for (StateLayout s : new StateLayout[] {MIXED_ADAM, MIXED_ADAM_FP32_GRADS, RULE_FP32, FP32_ADAM,
                            SGD_MOMENTUM}) {
                        if (s.weights == w && s.gradients == g && s.optimizer == o) {
                            return s;
                        }
                    }
                    return new StateLayout(w, g, o, "weights " + Fmt.num(w) + " + gradients " + Fmt.num(g)
                            + " + optimizer " + Fmt.num(o) + " (given)");
                }
                throw new IllegalArgumentException("--bytes-per-param must be 16 (mixed-precision Adam), 18 (with FP32"
                        + " gradients), 20 (4 + 4 + 12), 12 or sgd (SGD with momentum), or W+G+O such as 4+4+8;"
                        + " got '" + text + "'");
            }
        }
    }
}
