package dev.sixpd.nn.plan;

import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.plan.PlanInput.Arch;
import dev.sixpd.nn.plan.PlanInput.InferDtype;
import dev.sixpd.nn.plan.PlanInput.Precision;
import dev.sixpd.nn.plan.PlanReport.Line;
import dev.sixpd.optim.AdamW;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The textbook estimates of what training a transformer costs, as a pure function {@link #plan(PlanInput)} from
 * inputs to a {@link PlanReport} whose every line names its formula.
 *
 * <h2>Formulas (P = parameters, D = tokens, C = FLOPs, N = devices = t·p·d)</h2>
 * <ul>
 * <li>Training compute C = 6·P·D FLOPs: 2·P per token forward, 4·P backward (Kaplan et al. 2020); 8·P·D with full
 * activation recomputation (the forward runs twice). Any two of P, D, C give the third; C alone gives the
 * compute-optimal P = √(C / (6·20)). PetaFLOP/s-days = C / (10¹⁵ · 86,400). The attention-score FLOPs (QKᵀ and A·V
 * over the full context, 4·L·s·h per token forward) are not in 6·P·D and are listed apart, and so is the optimizer:
 * AdamW's {@value AdamW#FLOPS_PER_ELEMENT} (+ {@value AdamW#DECAY_FLOPS_PER_ELEMENT} with weight decay) FLOPs per
 * parameter are paid once per optimizer step, not per token.</li>
 * <li>D from a dataset: characters × UTF-8 bytes per character ({@link Scripts}) / measured bytes per token ×
 * epochs.</li>
 * <li>Wall time T = C / (N · peak · MFU); devices for a deadline N = t·p·⌈C / (T · peak · MFU · t·p)⌉; a real run's
 * MFU = C / (N · peak · T).</li>
 * <li>Parallelism: N = t·p·d (tensor, pipeline, data); each device holds P/(t·p) parameters; the pipeline idles a
 * bubble (p − 1)/(m + p − 1) of each step for m micro-batches.</li>
 * <li>Rental cost = device-hours × price × (1 + other-hardware %) × (1 + data-centre %) + staff. Purchase cost =
 * N × device price × (1 + other-hardware %) × (1 + data-centre %) + energy × price per kWh + staff.</li>
 * <li>Energy = N · W · T · PUE (devices at their rated power for the whole run: an upper bound for the devices,
 * hosts not included).</li>
 * <li>Model states per device for (x + y + z) bytes per parameter ({@link StateLayout}; Rajbhandari et al. 2020,
 * ZeRO) over Ψ = P/(t·p) and d data-parallel ranks: (x + y + z)Ψ plain, ZeRO-1 (x + y)Ψ + zΨ/d, ZeRO-2
 * xΨ + (y + z)Ψ/d, ZeRO-3 (x + y + z)Ψ/d; CPU offload (Ren et al. 2021) keeps xΨ on the device.</li>
 * <li>Activations per layer (Korthikanti et al. 2022) for 16-bit activations: s·b·h·(34 + 5·a·s/h), with tensor
 * parallelism s·b·h·(10 + 24/t + 5·a·s/(h·t)), with sequence parallelism all of it / t; for other architectures
 * the 34 = 10 + 24 becomes R + S of {@link PlanInput.Arch#activationBytesPerLayer} (GQA, SwiGLU, MLP width,
 * parallel block; flash attention replaces 5·a·s²·b by 4·a·s·b); the first pipeline stage
 * holds ⌈L/p⌉ layers of min(m, p) micro-batches; full recomputation keeps 2·s·b·h per layer plus one layer's full
 * activations while it is recomputed. FP32 doubles them. Workspace: the FP32 logits and their gradient,
 * 8·s·b·V/t, plus what is given.</li>
 * <li>Training memory per device = model states + activations + workspace. Devices needed: the quick rule
 * ⌈P · (x + y + z) · 1.25 / M⌉, and the count that includes activations, t·p·⌈(x + y + z)Ψ / (M − activations −
 * workspace)⌉ under ZeRO-3.</li>
 * <li>Inference: weights P × 4 / 2 / 1 / 0.5 bytes for FP32, BF16/FP16, INT8, INT4; KV cache 2·L·kv·d·T·b elements
 * (kv K/V heads of d channels: 2·L·h·T·b for multi-head attention) for T tokens of context and b sequences.</li>
 * <li>LoRA (Hu et al. 2021), rank r on the chosen matrices of every block: P_a = L·r·Σ(in + out); states
 * x·Ψ (frozen) + (x + y + z)·Ψ_a against full fine-tuning's (x + y + z)·Ψ; FLOPs per token 4·P + 6·P_a against 6·P
 * (no weight gradient for frozen matrices).</li>
 * <li>Compute-optimal tokens ≈ 20·P (Hoffmann et al. 2022, Chinchilla).</li>
 * <li>Storage of D tokens = D × measured bytes/token of raw UTF-8 text; token ids take 2 bytes each when V ≤ 65,536,
 * else 4.</li>
 * </ul>
 * Stateless and thread-safe.
 */
public final class Planner {
    /** Tokens per parameter for the compute-optimal model (Chinchilla). */
    public static final double CHINCHILLA_TOKENS_PER_PARAM = 20;
    /** The note on P when no architecture is given: what the architecture would add. */
    private static final String NO_ARCH = "--layers --hidden --heads --vocab --seq add activations, training totals,"
            + " the device count with activations and the KV cache";
    /** The quick rule's allowance for activations and workspace on top of the model states. */
    public static final double QUICK_RULE_OVERHEAD = 1.25;
    /** AdamW FLOPs per parameter per optimizer step, weight decay included (the optimizer's own constants). */
    public static final int OPTIMIZER_FLOPS_PER_PARAM = AdamW.FLOPS_PER_ELEMENT + AdamW.DECAY_FLOPS_PER_ELEMENT;

    private Planner() {
    }

    /** The plan for these inputs. Pure: the same input gives the same report. */
    public static PlanReport plan(PlanInput in) {
        return new Sheet(in).lines();
    }

    /** One plan being written: the resolved quantities, then one method per section. Not thread-safe; local. */
    private static final class Sheet {
        private final List<Line> out = new ArrayList<>();
        private final PlanInput in;
        private final Arch a;
        private final Hardware hw;
        private final StateLayout st;
        private final int k;
        private final int t;
        private final int pp;
        private final int m;
        private final int b;
        private final boolean sp;
        private final double act16Scale;

        private double p;
        private String pName;
        private double d;
        private String dName;
        private double c;
        private String cName;
        private double peak;
        private double mem;
        private double mfu;
        private int n;
        private int dp;
        private double t0;
        /** Bytes per device of activations stored without recomputation, with it (+ one layer), and workspace. */
        private double activationsStored;
        private double activationsRecomputed;
        private double workspace;

        Sheet(PlanInput in) {
            this.in = in;
            this.a = in.arch();
            this.hw = in.hardware();
            this.st = in.stateLayout();
            this.k = in.recompute() ? 8 : 6;
            this.t = in.tensorParallel();
            this.pp = in.pipelineStages();
            this.m = in.microBatches();
            this.b = in.microBatch();
            this.sp = in.sequenceParallel();
            this.act16Scale = in.precision() == Precision.FP32 ? 2 : 1;
        }

        PlanReport lines() {
            inputs();
            compute();
            parallelism();
            time();
            energyAndCost();
            modelStates();
            activationsAndTotals();
            lora();
            inference();
            data();
            return new PlanReport(out);
        }

        // ------------------------------------------------------------ inputs: P, D, C, peak, memory, MFU, layout
        private void inputs() {
            boolean flopsGiven = !Double.isNaN(in.flops());
            double tokensPerEpoch = dataTokensPerEpoch();
            double dKnown = Double.isNaN(tokensPerEpoch) ? Double.NaN : tokensPerEpoch * in.epochs();
            if (!Double.isNaN(in.params())) {
                p = in.params();
                pName = Fmt.num(p);
                String note = a == null ? NO_ARCH : "the architecture counts " + Fmt.num(a.params())
                        + "; P as given is used, the architecture for activations, KV cache and attention";
                add("input.params", "inputs", "parameters P", p, "params", "P = " + pName + " (given)",
                        Fmt.num(p), note);
            } else if (a != null) {
                p = a.params();
                pName = Fmt.num(p);
                String pf = a.paramsFormula();
                add("input.params", "inputs", "parameters P", p, "params", "P = " + pf + " at " + a.symbolValues(pf)
                        + " = " + Fmt.num(p), Fmt.num(p), "counted by ModelSpec, the trainer's own parameter list (C = h,"
                        + " T = s): " + a.describe());
            } else if (!Double.isNaN(dKnown)) {
                p = in.flops() / (k * dKnown);
                pName = Fmt.res(p);
                add("input.params", "inputs", "parameters P", p, "params",
                        "P = C / (" + k + "·D) = " + Fmt.num(in.flops()) + " / (" + k + " × " + Fmt.num(dKnown)
                                + ") = " + Fmt.res(p), Fmt.res(p), "from the FLOP budget and the data; " + NO_ARCH);
            } else {
                p = Math.sqrt(in.flops() / (k * CHINCHILLA_TOKENS_PER_PARAM));
                pName = Fmt.res(p);
                add("input.params", "inputs", "parameters P", p, "params",
                        "P = √(C / (" + k + "·20)) = √(" + Fmt.num(in.flops()) + " / " + k * 20 + ") = " + Fmt.res(p),
                        Fmt.res(p), "compute-optimal for the budget (Chinchilla): D = 20·P, so C = " + k
                                + "·20·P²; " + NO_ARCH);
            }
            if (a != null) {
                double nonEmb = a.nonEmbeddingParams();
                String nf = a.nonEmbeddingFormula();
                String bw = a.blockWeightsFormula();
                add("model.nonEmbedding", "inputs", "non-embedding parameters", nonEmb, "params",
                        nf + " at " + a.symbolValues(nf) + " = " + Fmt.num(nonEmb), Fmt.res(nonEmb),
                        "≈ L·(" + bw + ") = " + Fmt.res(a.blockWeights()) + ", Kaplan's N (the blocks' weight"
                                + " matrices)");
            }
            emitDataLines(tokensPerEpoch);
            if (!Double.isNaN(dKnown)) {
                d = dKnown;
                if (!Double.isNaN(in.tokens()) && in.epochs() == 1) {
                    add("input.tokens", "inputs", "training tokens D", d, "tokens", "D = " + Fmt.num(d)
                            + " (given)", Fmt.res(d), "");
                } else {
                    add("input.tokens", "inputs", "training tokens D", d, "tokens", "D = tokens per epoch × epochs = "
                            + Fmt.num(tokensPerEpoch) + " × " + Fmt.num(in.epochs()) + " = " + Fmt.res(d), Fmt.res(d),
                            in.epochs() > 1 ? "repeated data: Muennighoff et al. 2023 find up to ~4 epochs nearly as"
                                    + " good as fresh tokens" : "");
                }
            } else if (flopsGiven) {
                d = in.flops() / (k * p);
                add("input.tokens", "inputs", "training tokens D", d, "tokens", "D = C / (" + k + "·P) = "
                        + Fmt.num(in.flops()) + " / (" + k + " × " + pName + ") = " + Fmt.res(d), Fmt.res(d),
                        "from the FLOP budget");
            } else {
                d = CHINCHILLA_TOKENS_PER_PARAM * p;
                add("input.tokens", "inputs", "training tokens D", d, "tokens",
                        "D = 20·P = 20 × " + pName + " = " + Fmt.res(d), Fmt.res(d),
                        "no token count given: the compute-optimal 20 tokens per parameter (Chinchilla)");
            }
            dName = Fmt.num(d);
            if (flopsGiven) {
                c = in.flops();
                add("input.flops", "inputs", "FLOP budget C", c, "FLOPs", "C = " + Fmt.num(c) + " (given)",
                        Fmt.res(c) + " FLOPs", "");
            } else {
                c = k * p * d;
            }
            cName = Fmt.res(c);

            String precisionNote = in.precision() == Precision.FP32
                    ? "; --precision fp32 changes two things: this FP32 peak (no tensor cores) and the memory layout"
                            + " (FP32 states " + StateLayout.FP32_ADAM.sum() + " B/param unless --bytes-per-param, "
                            + "FP32 activations 2×)"
                    : "";
            if (!Double.isNaN(in.peakFlops())) {
                peak = in.peakFlops();
                add("input.peak", "inputs", "peak per device", peak, "FLOP/s", "peak = " + Fmt.num(peak)
                        + " FLOP/s", Fmt.flops(peak), "given" + precisionNote);
            } else if (hw != null) {
                peak = hw.peak(in.precision());
                add("input.peak", "inputs", "peak per device", peak, "FLOP/s", "peak = " + Fmt.num(peak)
                        + " FLOP/s", Fmt.flops(peak), hw.description() + ", " + (in.precision() == Precision.FP32
                                ? "FP32" : hw.halfName()) + " peak (" + hw.source() + ")" + precisionNote);
            } else {
                peak = Double.NaN;
                add("input.peak", "inputs", "peak per device", peak, "FLOP/s", "peak: not given", "n/a",
                        "no --hardware or --peak: time, cost and energy need one; the memory lines do not");
            }
            if (!Double.isNaN(in.memoryBytes())) {
                mem = in.memoryBytes();
            } else {
                mem = hw != null ? hw.memoryBytes() : Double.NaN;
            }
            add("input.memory", "inputs", "device memory M", mem, "B",
                    Double.isNaN(mem) ? "M: not given" : "M = " + Fmt.num(mem) + " B",
                    Fmt.bytesBoth(mem), !Double.isNaN(in.memoryBytes()) ? "given"
                            : hw != null ? hw.description() : "no --hardware or --memory: no fits/exceeds verdicts");
            resolveDevices();
            if (!Double.isNaN(in.durationSeconds())) {
                mfu = c / (n * peak * in.durationSeconds());
                add("input.mfu", "inputs", "model FLOPs utilisation", mfu, "",
                        "MFU = C / (N · peak · T) = " + cName + " / (" + Fmt.num(n) + " × " + Fmt.num(peak) + " × "
                                + Fmt.res(in.durationSeconds()) + " s) = " + Fmt.res(mfu), Fmt.res(mfu),
                        (mfu > 1 ? "above 1, which no run reaches: check the inputs; " : "")
                                + "implied by the run's devices and duration " + Fmt.duration(in.durationSeconds())
                                + " (wall clock: restarts, evaluation and idle time count against it)");
            } else {
                mfu = in.mfu();
                String mfuNote = mfu < 0.3 || mfu > 0.55
                        ? "outside the typical 0.3–0.55 of large training runs" : "typical large runs reach 0.3–0.55";
                if (in.recompute()) {
                    mfuNote += "; with --recompute it applies to the 8·P·D executed (hardware FLOPs utilisation)";
                }
                add("input.mfu", "inputs", "model FLOPs utilisation", mfu, "", "MFU = " + Fmt.num(mfu),
                        Fmt.num(mfu), mfuNote);
            }
            add("input.bytesPerParam", "inputs", "bytes per parameter", st.total(), "B",
                    "x + y + z = " + st.sum() + " = " + Fmt.num(st.total()) + " B", Fmt.num(st.total()) + " B/param",
                    st.description() + (in.states() == null ? "; from --precision "
                            + in.precision().name().toLowerCase(Locale.ROOT)
                            + " (--bytes-per-param 16|18|20|12|W+G+O chooses it apart)" : ""));
        }

        /** Tokens per epoch from --tokens, --data-bytes or --data-chars; NaN if none. */
        private double dataTokensPerEpoch() {
            if (!Double.isNaN(in.tokens())) {
                return in.tokens();
            }
            double bytes = dataBytes();
            return Double.isNaN(bytes) ? Double.NaN : bytes / in.bytesPerToken();
        }

        private double dataBytes() {
            if (!Double.isNaN(in.dataBytes())) {
                return in.dataBytes();
            }
            if (!Double.isNaN(in.dataChars())) {
                return in.dataChars() * bytesPerChar();
            }
            return Double.NaN;
        }

        private double bytesPerChar() {
            return Double.isNaN(in.bytesPerChar()) ? 1 : in.bytesPerChar();
        }

        private void emitDataLines(double tokensPerEpoch) {
            if (!Double.isNaN(in.dataChars())) {
                add("input.dataChars", "inputs", "dataset characters", in.dataChars(), "chars",
                        "characters = " + Fmt.num(in.dataChars()) + " (given)", Fmt.res(in.dataChars()), "");
                double bytes = dataBytes();
                add("input.dataBytes", "inputs", "dataset bytes", bytes, "B", "characters × bytes/char = "
                        + Fmt.num(in.dataChars()) + " × " + Fmt.num(bytesPerChar()) + " = " + Fmt.res(bytes) + " B",
                        Fmt.bytesBoth(bytes), Double.isNaN(in.bytesPerChar())
                                ? "1 byte per character: ASCII; --script cjk for Chinese, Japanese, Korean"
                                : "UTF-8: 1 byte ASCII, 2 Greek/Cyrillic/Arabic/Hebrew, 3 CJK (2 is UTF-16 or GBK),"
                                        + " 4 emoji");
            } else if (!Double.isNaN(in.dataBytes())) {
                add("input.dataBytes", "inputs", "dataset bytes", in.dataBytes(), "B", "bytes = "
                        + Fmt.num(in.dataBytes()) + " B (given)", Fmt.bytesBoth(in.dataBytes()), "");
            }
            if (Double.isNaN(in.tokens()) && !Double.isNaN(tokensPerEpoch)) {
                add("input.tokensPerEpoch", "inputs", "tokens per epoch", tokensPerEpoch, "tokens",
                        "bytes / bytes per token = " + Fmt.res(dataBytes()) + " / " + Fmt.num(in.bytesPerToken())
                                + " = " + Fmt.res(tokensPerEpoch), Fmt.res(tokensPerEpoch),
                        "bytes per token depend on the tokenizer and the language: measure them on this data"
                                + " (--text FILE)");
            }
        }

        /** N and d from --devices, --dp, --tp, --pp or the deadline. */
        private void resolveDevices() {
            int tp = t * pp;
            if (!Double.isNaN(in.deadlineSeconds())) {
                double need = c / (in.deadlineSeconds() * peak * in.mfu());
                dp = (int) Math.min(Integer.MAX_VALUE / tp, Math.max(1, Math.ceil(need / tp - 1e-9)));
            } else if (in.dataParallel() > 0) {
                dp = in.dataParallel();
            } else if (in.devices() > 0) {
                dp = in.devices() / tp;
            } else {
                dp = 1;
            }
            n = tp * dp;
        }

        // ------------------------------------------------------------ compute
        private void compute() {
            if (Double.isNaN(in.flops())) {
                add("compute.flops", "compute", "training FLOPs C", c, "FLOPs",
                        k + "·P·D = " + k + " × " + pName + " × " + dName + " = " + cName + " FLOPs",
                        cName + " FLOPs", in.recompute()
                                ? "full recomputation: forward 2·P·D twice + backward 4·P·D"
                                : "forward 2·P·D + backward 4·P·D; the optimizer is paid per step, not per token");
            } else {
                add("compute.flops", "compute", "training FLOPs C", c, "FLOPs", "C = " + cName + " FLOPs (given)",
                        cName + " FLOPs", "the budget, spent as " + k + "·P·D");
            }
            double fwd = 2 * p * d;
            add("compute.forward", "compute", "forward", fwd, "FLOPs",
                    "2·P·D = 2 × " + pName + " × " + dName + " = " + Fmt.res(fwd) + " FLOPs", Fmt.res(fwd) + " FLOPs",
                    "one multiply-add (2 FLOPs) per parameter per token");
            add("compute.backward", "compute", "backward", 2 * fwd, "FLOPs",
                    "4·P·D = 4 × " + pName + " × " + dName + " = " + Fmt.res(2 * fwd) + " FLOPs",
                    Fmt.res(2 * fwd) + " FLOPs", "two matmuls per forward one: dX = dY·Wᵀ and dW = Xᵀ·dY; not 2·P");
            if (in.recompute()) {
                add("compute.recompute", "compute", "recomputed forward", fwd, "FLOPs",
                        "2·P·D = " + Fmt.res(fwd) + " FLOPs", Fmt.res(fwd) + " FLOPs", "the forward again inside"
                                + " backward");
            }
            add("compute.perToken", "compute", "FLOPs per token", k * p, "FLOPs",
                    k + "·P = " + k + " × " + pName + " = " + Fmt.res(k * p), Fmt.res(k * p), "");
            double pfDays = c / (1e15 * 86400);
            add("compute.pfDays", "compute", "PetaFLOP/s-days", pfDays, "PF-days",
                    "C / (1e15 × 86,400) = " + cName + " / 8.64e19 = " + Fmt.res(pfDays) + " PF-days",
                    Fmt.res(pfDays), "");
            if (a != null) {
                int passes = in.recompute() ? 4 : 3;
                // flash attention's backward recomputes QKᵀ: 2·L·s·h more per token
                int coef = 4 * passes + (a.flash() ? 2 : 0);
                double att = coef / 4.0 * a.attentionFlopsPerToken() * d;
                add("compute.attention", "compute", "attention-score FLOPs (not in C)", att, "FLOPs",
                        coef + "·L·s·h·D = " + coef + " × " + a.layers() + " × " + Fmt.num(a.seq())
                                + " × " + Fmt.num(a.hidden()) + " × " + dName + " = " + Fmt.res(att) + " FLOPs",
                        Fmt.res(att) + " FLOPs", "QKᵀ and A·V over the full context, 4·L·s·h per token forward, × "
                                + passes + " for " + (in.recompute() ? "forward, recompute and backward"
                                        : "forward and backward") + (a.flash() ? ", + 2·L·s·h for flash attention's"
                                        + " QKᵀ recomputed in backward" : "") + "; " + Fmt.res(100 * att / c) + "% of C");
                double tokensPerStep = (double) a.seq() * b * m * dp;
                double steps = d / tokensPerStep;
                double opt = OPTIMIZER_FLOPS_PER_PARAM * p * steps;
                add("compute.optimizer", "compute", "optimizer FLOPs (not in C)", opt, "FLOPs",
                        OPTIMIZER_FLOPS_PER_PARAM + "·P·steps = " + OPTIMIZER_FLOPS_PER_PARAM + " × " + pName + " × "
                                + dName + " / (s·b·m·d = " + Fmt.num(a.seq()) + " × " + b + " × " + m + " × " + dp
                                + ") = " + Fmt.res(opt) + " FLOPs",
                        Fmt.res(opt) + " FLOPs", "AdamW: " + AdamW.FLOPS_PER_ELEMENT + " FLOPs per parameter per step"
                                + " + " + AdamW.DECAY_FLOPS_PER_ELEMENT + " for weight decay, once per step of "
                                + Fmt.num(tokensPerStep) + " tokens: " + Fmt.res(OPTIMIZER_FLOPS_PER_PARAM
                                        / tokensPerStep) + "·P per token, " + Fmt.res(100 * opt / c) + "% of C");
            }
            double perDevice = peak * mfu;
            add("compute.sustained", "compute", "sustained per device", perDevice, "FLOP/s",
                    "peak × MFU = " + Fmt.num(peak) + " × " + mfuName() + " = " + Fmt.res(perDevice) + " FLOP/s",
                    Fmt.flops(perDevice), "");
        }

        /** The MFU as written: as given, or 3 significant figures when computed from a run's duration. */
        private String mfuName() {
            return Double.isNaN(in.durationSeconds()) ? Fmt.num(mfu) : Fmt.res(mfu);
        }

        // ------------------------------------------------------------ parallelism
        private void parallelism() {
            String sec = "parallelism";
            add("parallel.tp", sec, "tensor-parallel degree t", t, "", "t = " + t, Fmt.num(t),
                    t == 1 ? "" : "each matrix split t ways: weights / t, activations per eq. 2 (or / t with"
                            + " --sequence-parallel); all-reduces in every layer keep t within a node");
            add("parallel.pp", sec, "pipeline stages p", pp, "", "p = " + pp, Fmt.num(pp), "");
            String dpFormula = in.dataParallel() > 0 ? "d = " + dp + " (given)"
                    : "d = N / (t·p) = " + Fmt.num(n) + " / (" + t + " × " + pp + ") = " + dp;
            add("parallel.dp", sec, "data-parallel degree d", dp, "", dpFormula, Fmt.num(dp),
                    "each of the d replicas (or ZeRO shards) takes its own micro-batches");
            add("parallel.devices", sec, "devices N = t·p·d", n, "devices",
                    "N = t·p·d = " + t + " × " + pp + " × " + Fmt.num(dp) + " = " + Fmt.num(n), Fmt.num(n), "");
            if (a != null) {
                double perStage = (double) a.layers() / pp;
                int held = (int) Math.ceil(perStage - 1e-9);
                add("parallel.layersPerStage", sec, "layers per stage", held, "layers",
                        perStage == held ? "L / p = " + a.layers() + " / " + pp + " = " + held
                                : "⌈L / p⌉ = ⌈" + a.layers() + " / " + pp + "⌉ = ⌈" + Fmt.ceilArg(perStage) + "⌉ = "
                                        + held, Fmt.num(held),
                        perStage == held ? "" : "uneven stages: the largest sets the pace");
            }
            double bubble = (pp - 1.0) / (m + pp - 1.0);
            add("parallel.bubble", sec, "pipeline bubble", bubble, "",
                    "(p − 1) / (m + p − 1) = " + (pp - 1) + " / (" + m + " + " + (pp - 1) + ") = " + Fmt.res(bubble),
                    Fmt.res(100 * bubble) + "%", pp == 1 ? "no pipeline" : "fraction of each step a stage idles"
                            + " (GPipe, 1F1B); more micro-batches m shrink it");
            double seqs = (double) b * m * dp;
            add("parallel.batch", sec, "global batch", seqs, "sequences",
                    "b·m·d = " + b + " × " + m + " × " + dp + " = " + Fmt.num(seqs) + " sequences", Fmt.num(seqs),
                    "b per device per micro-step (--batch), m micro-batches per step"
                            + (a == null ? "" : "; " + Fmt.num(seqs * a.seq()) + " tokens per step"));
            double w = st.weights() * p / (t * pp);
            add("parallel.weights", sec, "weights per device", w, "B",
                    "x·P / (t·p) = " + Fmt.num(st.weights()) + " × " + pName + " / (" + t + " × " + pp + ") = "
                            + Fmt.res(w) + " B", Fmt.bytesBoth(w), "the working weights alone; model states below");
        }

        // ------------------------------------------------------------ time
        private void time() {
            int tp = t * pp;
            if (!Double.isNaN(in.deadlineSeconds())) {
                double dl = in.deadlineSeconds();
                double need = c / (dl * peak * in.mfu());
                String f = tp == 1
                        ? "N = ⌈C / (deadline · peak · MFU)⌉ = ⌈" + cName + " / (" + Fmt.res(dl) + " s × "
                                + Fmt.num(peak) + " × " + Fmt.num(in.mfu()) + ")⌉ = ⌈" + Fmt.ceilArg(need) + "⌉ = "
                                + Fmt.num(n)
                        : "N = t·p·⌈C / (deadline · peak · MFU · t·p)⌉ = " + tp + " × ⌈" + cName + " / ("
                                + Fmt.res(dl) + " s × " + Fmt.num(peak) + " × " + Fmt.num(in.mfu()) + " × " + tp
                                + ")⌉ = " + tp + " × ⌈" + Fmt.ceilArg(need / tp) + "⌉ = " + Fmt.num(n);
                add("time.devices", "time", "devices for the deadline N", n, "devices", f, Fmt.num(n),
                        "deadline " + Fmt.duration(dl) + "; N replaces --devices below");
            } else if (in.devices() > 0) {
                add("time.devices", "time", "devices N", n, "devices", "N = " + Fmt.num(n) + " (given)", Fmt.num(n),
                        "");
            } else {
                add("time.devices", "time", "devices N", n, "devices", "N = t·p·d = " + t + " × " + pp + " × "
                        + Fmt.num(dp) + " = " + Fmt.num(n), Fmt.num(n), "");
            }
            if (!Double.isNaN(in.durationSeconds())) {
                t0 = in.durationSeconds();
                add("time.wall", "time", "wall time T", t0, "s", "T = " + Fmt.res(t0) + " s (given)",
                        Fmt.duration(t0), "the run's duration; MFU above is computed from it");
            } else {
                t0 = c / (n * peak * mfu);
                add("time.wall", "time", "wall time T", t0, "s",
                        "C / (N · peak · MFU) = " + cName + " / (" + Fmt.num(n) + " × " + Fmt.num(peak) + " × "
                                + mfuName() + ") = " + Fmt.res(t0) + " s",
                        Fmt.duration(t0), Double.isNaN(peak) ? "give --hardware or --peak"
                                : "perfect scaling assumed: communication hidden behind compute");
                if (pp > 1) {
                    double bubble = (pp - 1.0) / (m + pp - 1.0);
                    double tb = t0 / (1 - bubble);
                    add("time.withBubble", "time", "wall time with the bubble", tb, "s",
                            "T / (1 − bubble) = " + Fmt.res(t0) + " / (1 − " + Fmt.res(bubble) + ") = " + Fmt.res(tb)
                                    + " s", Fmt.duration(tb), "if the MFU above excludes the pipeline's idle time");
                }
            }
            double deviceHours = n * t0 / 3600;
            add("time.deviceHours", "time", "device-hours", deviceHours, "h",
                    "N · T / 3600 = " + Fmt.num(n) + " × " + Fmt.res(t0) + " / 3600 = " + Fmt.res(deviceHours),
                    Fmt.res(deviceHours), "");
        }

        // ------------------------------------------------------------ energy, rental and purchase cost
        private void energyAndCost() {
            double watts = !Double.isNaN(in.watts()) ? in.watts() : hw != null ? hw.watts() : Double.NaN;
            double kwh = n * watts * t0 / 3.6e6;
            add("energy.devices", "energy", "device energy", kwh, "kWh",
                    "N · W · T = " + Fmt.num(n) + " × " + Fmt.num(watts) + " W × " + Fmt.res(t0) + " s / 3.6e6 = "
                            + Fmt.res(kwh) + " kWh",
                    Fmt.res(kwh) + " kWh", Double.isNaN(watts) ? "no power known for this device: pass watts"
                            : "at rated power for the whole run (an upper bound); hosts not included");
            double facility = kwh * in.pue();
            add("energy.facility", "energy", "facility energy", facility, "kWh",
                    "device energy × PUE = " + Fmt.res(kwh) + " × " + Fmt.num(in.pue()) + " = " + Fmt.res(facility)
                            + " kWh",
                    Fmt.res(facility) + " kWh", "");

            double deviceHours = n * t0 / 3600;
            String sec = "cost (rental)";
            double price = !Double.isNaN(in.pricePerDeviceHour()) ? in.pricePerDeviceHour()
                    : hw != null ? hw.pricePerHour() : Double.NaN;
            String priceNote = !Double.isNaN(in.pricePerDeviceHour()) ? "price given"
                    : !Double.isNaN(price) ? "illustrative default rental price for " + hw.name() + ", pass your own"
                            : "no price known for this device: pass a price per device-hour";
            double devCost = deviceHours * price;
            add("cost.devices", sec, "devices", devCost, "USD",
                    "device-hours × price = " + Fmt.res(deviceHours) + " × " + Fmt.usd(price) + " = "
                            + Fmt.usd(devCost), Fmt.usd(devCost), priceNote);
            double otherCost = devCost * in.otherHardwarePercent() / 100;
            add("cost.otherHardware", sec, "other hardware", otherCost, "USD",
                    "devices × " + Fmt.num(in.otherHardwarePercent()) + "% = " + Fmt.usd(otherCost),
                    Fmt.usd(otherCost), "host CPUs and memory, network, storage");
            double dcCost = (devCost + otherCost) * in.datacenterPercent() / 100;
            add("cost.datacenter", sec, "data centre", dcCost, "USD",
                    "(devices + other) × " + Fmt.num(in.datacenterPercent()) + "% = " + Fmt.usd(dcCost),
                    Fmt.usd(dcCost), "space, cooling, operations; 0 if the rental price includes them");
            add("cost.staff", sec, "staff (fixed)", in.staffCost(), "USD", "given = " + Fmt.usd(in.staffCost()),
                    Fmt.usd(in.staffCost()), "");
            double total = devCost + otherCost + dcCost + in.staffCost();
            add("cost.total", sec, "total cost", total, "USD",
                    "devices + other + data centre + staff = " + Fmt.usd(total), Fmt.usd(total),
                    Double.isNaN(in.devicePrice()) ? "--device-price (and --kwh-price) price buying the devices"
                            + " beside renting them" : "");

            if (Double.isNaN(in.devicePrice()) && Double.isNaN(in.kwhPrice())) {
                return;
            }
            sec = "cost (purchase)";
            double buy = n * in.devicePrice();
            add("cost.buy.devices", sec, "devices", buy, "USD",
                    "N × device price = " + Fmt.num(n) + " × " + Fmt.usd(in.devicePrice()) + " = " + Fmt.usd(buy),
                    Fmt.usd(buy), Double.isNaN(buy) ? "pass --device-price (USD per device) to buy instead of rent"
                            : "bought for this run: grows with N, whatever the run's length");
            double buyOther = buy * in.otherHardwarePercent() / 100;
            add("cost.buy.otherHardware", sec, "other hardware", buyOther, "USD",
                    "devices × " + Fmt.num(in.otherHardwarePercent()) + "% = " + Fmt.usd(buyOther),
                    Fmt.usd(buyOther), "host CPUs and memory, network, storage (--other-hw-pct)");
            double buyDc = (buy + buyOther) * in.datacenterPercent() / 100;
            add("cost.buy.datacenter", sec, "data centre", buyDc, "USD",
                    "(devices + other) × " + Fmt.num(in.datacenterPercent()) + "% = " + Fmt.usd(buyDc),
                    Fmt.usd(buyDc), "building, cooling, operations (--dc-pct)");
            double energyCost = facility * in.kwhPrice();
            add("cost.buy.energy", sec, "energy", energyCost, "USD",
                    "facility energy × price = " + Fmt.res(facility) + " kWh × " + Fmt.usd(in.kwhPrice()) + " = "
                            + Fmt.usd(energyCost), Fmt.usd(energyCost),
                    Double.isNaN(in.kwhPrice()) ? "pass --kwh-price (USD per kWh)" : "");
            add("cost.buy.staff", sec, "staff (fixed)", in.staffCost(), "USD",
                    "given = " + Fmt.usd(in.staffCost()), Fmt.usd(in.staffCost()), "");
            double buyTotal = buy + buyOther + buyDc + energyCost + in.staffCost();
            add("cost.buy.total", sec, "total cost", buyTotal, "USD",
                    "devices + other + data centre + energy + staff = " + Fmt.usd(buyTotal), Fmt.usd(buyTotal),
                    "the hardware outlives the run: divide by the runs it serves to amortise it");
        }

        // ------------------------------------------------------------ model states
        private String psi() {
            return t * pp == 1 ? pName : Fmt.res(p / (t * pp));
        }

        private String shardsName() {
            return t * pp == 1 ? "N" : "d";
        }

        private double states(int stage) {
            double psi = p / (t * pp);
            double w = st.weights();
            double g = st.gradients();
            double o = st.optimizer();
            return switch (stage) {
                case 0 -> (w + g + o) * psi;
                case 1 -> (w + g) * psi + o * psi / dp;
                case 2 -> w * psi + (g + o) * psi / dp;
                default -> (w + g + o) * psi / dp;
            };
        }

        private void modelStates() {
            String sec = "model states per device";
            String w = Fmt.num(st.weights());
            String g = Fmt.num(st.gradients());
            String o = Fmt.num(st.optimizer());
            String wg = Fmt.num(st.weights() + st.gradients());
            String go = Fmt.num(st.gradients() + st.optimizer());
            String all = Fmt.num(st.total());
            String psi = psi();
            String nd = shardsName();
            if (t * pp > 1) {
                add("memory.psi", sec, "parameters per model-parallel rank Ψ", p / (t * pp), "params",
                        "Ψ = P / (t·p) = " + pName + " / (" + t + " × " + pp + ") = " + psi, psi,
                        "ZeRO shards these over the d = " + dp + " data-parallel ranks");
            }
            double dp0 = states(0);
            add("memory.dp", sec, "data parallel", dp0, "B",
                    all + "Ψ = " + all + " × " + psi + " = " + Fmt.resExact(dp0) + " B", Fmt.bytesBoth(dp0),
                    st.description() + fits(dp0));
            double z1 = states(1);
            add("memory.zero1", sec, "ZeRO-1 (optimizer sharded)", z1, "B",
                    wg + "Ψ + " + o + "Ψ/" + nd + " = " + wg + " × " + psi + " + " + o + " × " + psi + " / " + dp
                            + " = " + Fmt.resExact(z1) + " B", Fmt.bytesBoth(z1), fits(z1).replaceFirst("^; ", ""));
            double z2 = states(2);
            add("memory.zero2", sec, "ZeRO-2 (+ gradients sharded)", z2, "B",
                    w + "Ψ + " + go + "Ψ/" + nd + " = " + w + " × " + psi + " + " + go + " × " + psi + " / " + dp
                            + " = " + Fmt.resExact(z2) + " B", Fmt.bytesBoth(z2), fits(z2).replaceFirst("^; ", ""));
            double z3 = states(3);
            add("memory.zero3", sec, "ZeRO-3 (+ weights sharded)", z3, "B",
                    all + "Ψ/" + nd + " = " + all + " × " + psi + " / " + dp + " = " + Fmt.resExact(z3) + " B",
                    Fmt.bytesBoth(z3), fits(z3).replaceFirst("^; ", ""));
            double offDev = st.weights() * p / (t * pp);
            add("memory.offloadDevice", sec, "CPU offload: on device", offDev, "B",
                    w + "Ψ = " + w + " × " + psi + " = " + Fmt.resExact(offDev) + " B", Fmt.bytesBoth(offDev),
                    "ZeRO-Offload: weights stay, gradients stream to the host" + fits(offDev));
            double offHost = (st.gradients() + st.optimizer()) * p / (t * pp) / dp;
            add("memory.offloadHost", sec, "CPU offload: on host", offHost, "B",
                    go + "Ψ/" + nd + " = " + go + " × " + psi + " / " + dp + " = " + Fmt.resExact(offHost) + " B",
                    Fmt.bytesBoth(offHost), "host memory per device: gradients and optimizer, Adam runs on the CPU");
        }

        // ------------------------------------------------------------ activations, training totals, device counts
        private void activationsAndTotals() {
            if (a != null) {
                activations();
            }
            trainingTotals();
            devicesNeeded();
        }

        private void activations() {
            String sec = "activations per device";
            double s = a.seq();
            double h = a.hidden();
            double heads = a.heads();
            String sc = act16Scale == 1 ? "" : "2 × ";
            double perLayer = act16Scale * a.activationBytesPerLayer(b, t, sp);
            String sbh = Fmt.num(s) + " × " + Fmt.num(b) + " × " + Fmt.num(h);
            String k = PlanInput.Arch.coef(a.replicatedActivations() + a.splitActivations());
            String r = PlanInput.Arch.coef(a.replicatedActivations());
            String sp2 = PlanInput.Arch.coef(a.splitActivations());
            String bs = Fmt.num(b);
            String f;
            if (a.flash()) {
                String lse = "4 × " + Fmt.num(heads) + " × " + Fmt.num(s) + " × " + bs;
                if (t == 1) {
                    f = "s·b·h·" + k + " + 4·a·s·b = " + sc + sbh + " × " + k + " + " + lse;
                } else if (sp) {
                    f = "(s·b·h·" + k + " + 4·a·s·b) / t = " + sc + "(" + sbh + " × " + k + " + " + lse + ") / " + t;
                } else {
                    f = "s·b·h·(" + r + " + " + sp2 + "/t) + 4·a·s·b/t = " + sc + sbh + " × (" + r + " + " + sp2
                            + " / " + t + ") + " + lse + " / " + t;
                }
            } else if (t == 1) {
                f = "s·b·h·(" + k + " + 5·a·s/h) = " + sc + sbh + " × (" + k + " + 5 × " + Fmt.num(heads) + " × "
                        + Fmt.num(s) + " / " + Fmt.num(h) + ")";
            } else if (sp) {
                f = "s·b·h·(" + k + " + 5·a·s/h) / t = " + sc + sbh + " × (" + k + " + 5 × " + Fmt.num(heads)
                        + " × " + Fmt.num(s) + " / " + Fmt.num(h) + ") / " + t;
            } else {
                f = "s·b·h·(" + r + " + " + sp2 + "/t + 5·a·s/(h·t)) = " + sc + sbh + " × (" + r + " + " + sp2
                        + " / " + t + " + 5 × " + Fmt.num(heads) + " × " + Fmt.num(s) + " / (" + Fmt.num(h) + " × "
                        + t + "))";
            }
            String terms = a.korthikantiShape() ? "" : "; generalized: " + a.activationTerms()
                    + (a.flash() ? "; flash attention keeps no s×s scores, only their FP32 log-sum-exp (4·a·s·b)"
                            : "");
            add("activations.perLayer", sec, "per layer", perLayer, "B", f + " = " + Fmt.res(perLayer) + " B",
                    Fmt.bytesBoth(perLayer), "Korthikanti et al. 2022 " + (t == 1 ? "eq. 1" : sp ? "eq. 4" : "eq. 2")
                            + " for 16-bit activations" + terms + (act16Scale == 1 ? "" : ", doubled for FP32")
                            + "; b = micro-batch");
            int layersHeld = (int) Math.ceil((double) a.layers() / pp - 1e-9);
            int inFlight = Math.min(m, pp);
            double count = (double) layersHeld * inFlight;
            String heldF = pp == 1 ? "L × per layer = " + a.layers()
                    : "⌈L/p⌉ × min(m, p) × per layer = " + layersHeld + " × " + inFlight;
            activationsStored = perLayer * count;
            add("activations.total", sec, "all layers, stored", activationsStored, "B",
                    heldF + " × " + Fmt.res(perLayer) + " = " + Fmt.res(activationsStored) + " B",
                    Fmt.bytesBoth(activationsStored), (in.recompute() ? "without recomputation (not this plan)"
                            : "this plan (no recomputation)") + (pp == 1 ? "" : "; the first stage of a 1F1B pipeline"
                                    + " holds min(m, p) micro-batches of its layers")
                            + "; embeddings, final LayerNorm and logits not counted");
            double recLayer = act16Scale * a.recomputeBytesPerLayer(b, t, sp);
            double rec = recLayer * count;
            String recF = sc + "2·s·b·h" + (sp ? "/t" : "") + (pp == 1 ? "·L = " : " × ⌈L/p⌉ × min(m, p) = ") + sc
                    + "2 × " + sbh + (sp ? " / " + t : "") + " × " + (pp == 1 ? a.layers() : layersHeld + " × "
                            + inFlight);
            add("activations.recompute", sec, "all layers, recomputed", rec, "B", recF + " = " + Fmt.res(rec)
                    + " B", Fmt.bytesBoth(rec), (in.recompute() ? "this plan: " : "with --recompute: ")
                            + "only each layer's input kept; + one layer's activations while it is recomputed");
            activationsRecomputed = rec + perLayer;
            double logits = a.logitsElements(b);
            workspace = 8 * logits / t + in.workspaceBytes();
            add("memory.workspace", "training memory per device", "workspace", workspace, "B",
                    "8·s·b·V/t + extra = 8 × " + Fmt.num(s) + " × " + b + " × " + Fmt.num(a.vocab()) + " / " + t
                            + " + " + Fmt.num(in.workspaceBytes()) + " = " + Fmt.res(workspace) + " B",
                    Fmt.bytesBoth(workspace), "FP32 logits and their gradient for the loss (the activation formula"
                            + " leaves out the LM head); framework memory (CUDA context ≈ 0.5–1 GB, allocator) not"
                            + " counted: add it with --workspace");
        }

        private double activationsOfPlan() {
            return in.recompute() ? activationsRecomputed : activationsStored;
        }

        private void trainingTotals() {
            String sec = "training memory per device";
            String[] keys = {"memory.totalDp", "memory.totalZero1", "memory.totalZero2", "memory.totalZero3"};
            String[] labels = {"total, data parallel", "total, ZeRO-1", "total, ZeRO-2", "total, ZeRO-3"};
            if (a == null) {
                return; // no activations without an architecture: input.params says what to give
            }
            for (int z = 0; z < 4; z++) {
                double states = states(z);
                double act = activationsOfPlan();
                double total = states + act + workspace;
                double other = states + (in.recompute() ? activationsStored : activationsRecomputed) + workspace;
                add(keys[z], sec, labels[z], total, "B", "states + activations + workspace = " + Fmt.res(states)
                                + " + " + Fmt.res(act) + " + " + Fmt.res(workspace) + " = " + Fmt.res(total) + " B",
                        Fmt.bytesBoth(total), verdict(total) + (in.recompute()
                                ? "; activations recomputed (2·s·b·h per layer + one layer); without: "
                                : "; without recomputation; with --recompute: ") + Fmt.bytes(other));
            }
        }

        private void devicesNeeded() {
            String sec = "devices needed";
            double quick = p * st.total() * QUICK_RULE_OVERHEAD / mem;
            double quickN = Math.ceil(quick - 1e-9);
            add("devices.quickRule", sec, "quick rule", quickN, "devices",
                    "⌈P · " + Fmt.num(st.total()) + " B · 1.25 / M⌉ = ⌈" + pName + " × " + Fmt.num(st.total())
                            + " × 1.25 / " + Fmt.num(mem) + "⌉ = ⌈" + Fmt.ceilArg(quick) + "⌉ = " + Fmt.num(quickN),
                    Fmt.num(quickN), Double.isNaN(mem) ? "give --memory or --hardware"
                            : "rule of thumb: model states + 25% for everything else, split over N; counts no"
                                    + " activations");
            if (a == null) {
                return;
            }
            double act = activationsOfPlan();
            double free = mem - act - workspace;
            double statesAll = st.total() * p / (t * pp);
            double need = statesAll / free;
            int tp = t * pp;
            double devs = free > 0 ? tp * Math.ceil(need - 1e-9) : Double.NaN;
            String f = (tp == 1 ? "N = ⌈" : "N = t·p·⌈") + "(x + y + z)·Ψ / (M − activations − workspace)⌉ = "
                    + (tp == 1 ? "⌈" : tp + " × ⌈") + Fmt.res(statesAll) + " / (" + Fmt.res(mem) + " − "
                    + Fmt.res(act) + " − " + Fmt.res(workspace) + ")⌉ = "
                    + (free > 0 ? (tp == 1 ? "⌈" : tp + " × ⌈") + Fmt.ceilArg(need) + "⌉ = " + Fmt.num(devs)
                            : "none");
            String note = free > 0 ? "ZeRO-3 over d = N / (t·p) ranks, each holding its micro-batch's activations ("
                    + (in.recompute() ? "recomputed" : "no recomputation") + ") and workspace"
                    : Double.isNaN(mem) ? "give --memory or --hardware"
                            : "no number of devices suffices: activations + workspace alone = "
                                    + Fmt.bytes(act + workspace) + " ≥ " + Fmt.bytes(mem) + "; use --recompute, a"
                                    + " smaller --batch, --tp or --sequence-parallel";
            add("devices.withActivations", sec, "with activations (ZeRO-3)", devs, "devices", f,
                    Fmt.num(devs), note);
        }

        // ------------------------------------------------------------ LoRA fine-tuning
        /*
         * LoRA (Hu et al. 2021) beside full fine-tuning. States: the frozen weights at the working precision only,
         * x·Ψ (no gradient, no optimizer state), the adapters at the full x + y + z: x·Ψ + (x + y + z)·Ψ_a.
         * FLOPs per token: forward 2·P + 2·P_a; backward dX through every matrix 2·P and both gradients of the
         * adapters 4·P_a, but no dW for the frozen weights (the 2·P that makes full training's 6·P): 4·P + 6·P_a,
         * and with recomputation one more forward, 6·P + 8·P_a.
         */
        private void lora() {
            Lora lo = in.lora();
            if (lo == null) {
                return;
            }
            String sec = "LoRA fine-tuning";
            GptConfig cfg = a.config();
            double pa = lo.adapterParams(cfg);
            int tp = t * pp;
            add("lora.params", sec, "adapter parameters P_a", pa, "params",
                    "P_a = L·r·Σ(in + out) = " + lo.numbers(cfg) + " = " + Fmt.num(pa), Fmt.num(pa),
                    "A [r, in] and B [out, r] beside each frozen " + lo.targetNames() + " matrix of every block: "
                            + Fmt.res(100 * pa / p) + "% of P trained");
            String x = Fmt.num(st.weights());
            String all = Fmt.num(st.total());
            String psi = psi();
            String psiA = tp == 1 ? Fmt.num(pa) : Fmt.res(pa / tp);
            String sym = tp == 1 ? "" : " (Ψ = P/(t·p))";
            double full = states(0);
            add("lora.fullStates", sec, "states, full fine-tuning", full, "B", all + "Ψ = " + all + " × " + psi
                    + " = " + Fmt.resExact(full) + " B", Fmt.bytesBoth(full), "every weight trained: "
                    + st.description() + sym + fits(full));
            double frozen = st.weights() * p / tp;
            double trained = st.total() * pa / tp;
            double states = frozen + trained;
            add("lora.states", sec, "states, LoRA", states, "B", x + "Ψ + " + all + "Ψ_a = " + x + " × " + psi + " + "
                    + all + " × " + psiA + " = " + Fmt.resExact(states) + " B", Fmt.bytesBoth(states),
                    "frozen weights at " + x + " B only (no gradient, no optimizer state), adapters at " + all + " B: "
                            + Fmt.res(full / states) + "× less than full fine-tuning" + fits(states));
            double act = activationsOfPlan();
            double total = states + act + workspace;
            double other = states + (in.recompute() ? activationsStored : activationsRecomputed) + workspace;
            add("lora.total", sec, "total, LoRA", total, "B", "states + activations + workspace = "
                            + Fmt.res(states) + " + " + Fmt.res(act) + " + " + Fmt.res(workspace) + " = "
                            + Fmt.res(total) + " B", Fmt.bytesBoth(total),
                    verdict(total) + (in.recompute() ? "; without recomputation: " : "; with --recompute: ")
                            + Fmt.bytes(other) + "; activations as counted above for full training, an upper bound"
                            + " (a frozen matrix without adapter keeps no input for a weight gradient)");
            int lk = k - 2;
            double perToken = lk * p + k * pa;
            add("lora.flopsPerToken", sec, "FLOPs per token", perToken, "FLOPs", lk + "·P + " + k + "·P_a = " + lk
                            + " × " + pName + " + " + k + " × " + Fmt.num(pa) + " = " + Fmt.res(perToken),
                    Fmt.res(perToken), (in.recompute() ? "forward twice " : "forward ") + "2·P + 2·P_a, backward"
                            + " dX through every matrix 2·P and the adapters' dX and dW 4·P_a; no dW for frozen"
                            + " weights: " + Fmt.res(perToken / (k * p)) + " of full training's " + k + "·P");
            double cl = perToken * d;
            add("lora.flops", sec, "training FLOPs", cl, "FLOPs", "(" + lk + "·P + " + k + "·P_a)·D = "
                    + Fmt.res(perToken) + " × " + dName + " = " + Fmt.res(cl) + " FLOPs", Fmt.res(cl) + " FLOPs",
                    "the same D tokens (--tokens) as the full training above");
            if (Double.isNaN(peak)) {
                return; // time needs a peak, as the time section says
            }
            double tl = cl / (n * peak * mfu);
            add("lora.wall", sec, "wall time", tl, "s", "C_LoRA / (N · peak · MFU) = " + Fmt.res(cl) + " / ("
                            + Fmt.num(n) + " × " + Fmt.num(peak) + " × " + mfuName() + ") = " + Fmt.res(tl) + " s",
                    Fmt.duration(tl), "at the same N, peak and MFU as the full training");
        }

        // ------------------------------------------------------------ inference
        private void inference() {
            String sec = "inference memory";
            for (InferDtype dt : InferDtype.values()) {
                double v = dt.weightBytes * p;
                add("inference." + dt.name().toLowerCase(Locale.ROOT), sec, dt.label + " weights", v,
                        "B", Fmt.num(dt.weightBytes) + "·P = " + Fmt.num(dt.weightBytes) + " × " + pName + " = "
                                + Fmt.res(v) + " B", Fmt.bytesBoth(v),
                        dt == InferDtype.FP32 ? "weights only; the KV cache and activations come on top" : "");
            }
            InferDtype dt = in.inferDtype();
            double weights = dt.weightBytes * p;
            if (a == null) {
                return;
            }
            int ctx = in.context() > 0 ? in.context() : a.seq();
            int batch = in.inferBatch();
            boolean mha = a.kvHeads() == a.heads();
            int hs = a.config().headSize();
            String kvSym = mha ? "2·L·h" : "2·L·kv·d";
            String kvNums = mha ? "2 × " + a.layers() + " × " + Fmt.num(a.hidden())
                    : "2 × " + a.layers() + " × " + a.kvHeads() + " × " + Fmt.num(hs);
            double perToken = a.kvElementsPerToken() * dt.kvBytes;
            add("inference.kvPerToken", sec, "KV cache per token", perToken, "B", kvSym + " × bytes = " + kvNums
                            + " × " + Fmt.num(dt.kvBytes) + " = " + Fmt.res(perToken) + " B",
                    Fmt.bytesBoth(perToken), mha ? "K and V of every layer and head, per token of context"
                            : a.kvHeads() + " K/V heads of d = " + hs + " channels instead of " + a.heads()
                                    + " (grouped-query attention): " + Fmt.num((double) a.heads() / a.kvHeads())
                                    + "× smaller than multi-head");
            double kv = a.kvElementsPerToken() * ctx * batch * dt.kvBytes;
            add("inference.kvCache", sec, "KV cache", kv, "B", kvSym + "·T·b × bytes = " + kvNums + " × "
                            + Fmt.num(ctx) + " × " + batch + " × " + Fmt.num(dt.kvBytes)
                            + " = " + Fmt.res(kv) + " B", Fmt.bytesBoth(kv),
                    "K and V of every layer for T = " + Fmt.num(ctx) + " tokens of context (--context) and b = "
                            + batch + (batch == 1 ? " sequence" : " sequences") + " (--infer-batch), "
                            + (dt.kvBytes == 4 ? "FP32" : "16-bit"));
            double total = weights + kv;
            add("inference.total", sec, "total, " + dt.label, total, "B", "weights + KV cache = " + Fmt.res(weights)
                            + " + " + Fmt.res(kv) + " = " + Fmt.res(total) + " B", Fmt.bytesBoth(total),
                    verdict(total) + "; --infer-dtype fp32|bf16|int8|int4; one decoding step's activations not"
                            + " counted (small)");
        }

        // ------------------------------------------------------------ data
        private void data() {
            double opt = CHINCHILLA_TOKENS_PER_PARAM * p;
            add("data.computeOptimal", "data", "compute-optimal tokens", opt, "tokens",
                    "20·P = 20 × " + pName + " = " + Fmt.res(opt), Fmt.res(opt), "Hoffmann et al. 2022 (Chinchilla)");
            double tpp = d / p;
            add("data.tokensPerParam", "data", "tokens per parameter", tpp, "",
                    "D / P = " + dName + " / " + pName + " = " + Fmt.res(tpp), Fmt.res(tpp),
                    Math.abs(tpp - 20) < 1e-9 ? "compute-optimal" : tpp < 20 ? "fewer than the compute-optimal 20"
                            : "more than 20: over-trained for its size, cheaper to serve");
            double bpt = in.bytesPerToken();
            double text = d * bpt;
            add("data.textBytes", "data", "text storage", text, "B",
                    "D × bytes/token = " + dName + " × " + Fmt.num(bpt) + " = " + Fmt.res(text) + " B",
                    Fmt.bytesBoth(text), Double.isNaN(bpt) ? "pass bytes per token measured on real text"
                            + " (BytesPerToken.measure)" : "raw UTF-8 text; bytes/token measured with the tokenizer");
            if (a != null) {
                int idBytes = a.vocab() <= 65536 ? 2 : 4;
                double ids = d * idBytes;
                add("data.tokenIds", "data", "token-id storage", ids, "B",
                        "D × " + idBytes + " = " + dName + " × " + idBytes + " = " + Fmt.res(ids) + " B",
                        Fmt.bytesBoth(ids), (idBytes == 2 ? "uint16 ids (V ≤ 65,536)" : "uint32 ids (V > 65,536)"));
            }
        }

        /** "fits in 80.0 GB of device memory (12.5 GB free)" or "exceeds ..." or "" when M is unknown. */
        private String verdict(double bytes) {
            if (Double.isNaN(mem) || Double.isNaN(bytes)) {
                return Double.isNaN(mem) ? "no device memory: give --memory or --hardware" : "";
            }
            return bytes <= mem ? "fits in " + Fmt.bytes(mem) + " device memory (" + Fmt.bytes(mem - bytes)
                    + " free)" : "exceeds " + Fmt.bytes(mem) + " device memory by " + Fmt.bytes(bytes - mem);
        }

        /** "; fits in the 80.0 GB device memory" or "; exceeds ..." or "" when the device memory is unknown. */
        private String fits(double bytes) {
            if (Double.isNaN(mem)) {
                return "";
            }
            return (bytes <= mem ? "; fits in " : "; exceeds ") + Fmt.bytes(mem) + " device memory";
        }

        private void add(String key, String section, String label, double value, String unit,
                String formula, String display, String note) {
            out.add(new Line(key, section, label, value, unit, formula, display, note));
        }
    }
}
