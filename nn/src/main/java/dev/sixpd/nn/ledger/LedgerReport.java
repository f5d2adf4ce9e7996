package dev.sixpd.nn.ledger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.ModelSpec;
import dev.sixpd.tensor.Ledger;
import dev.sixpd.tensor.Ledger.Kind;
import dev.sixpd.tensor.Ledger.Phase;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The ledger of a training run, measured beside the formulas: FLOPs by phase per token and per run, the matmul
 * FLOPs compared for exact equality with {@link Analytic}, the remainder by kind, the ratio to 6·P·D (8·P·D with
 * recomputation), and memory by category beside the model-state and activation formulas. Every line names its
 * formula with the numbers put in, so the table teaches.
 *
 * <p>Use: reset or snapshot the {@link Ledger} before training, snapshot after, and pass the difference, which must
 * cover exactly {@code run.steps()} optimizer steps of {@code run.microbatches()} forward+backward passes each
 * (disable the ledger, or subtract, around evaluation forwards: {@code Gpt.forward} charges to FORWARD whoever calls
 * it).
 * <pre>
 *   Ledger.Snapshot before = Ledger.snapshot();
 *   ... train ...
 *   LedgerReport r = LedgerReport.of(LedgerRun.of(config, B, T, steps), Ledger.snapshot().minus(before),
 *           MemoryByCategory.measure(model, optimizer));
 *   out.print(r.text());   // or r.json()
 * </pre>
 * Immutable once built.
 */
public final class LedgerReport {
    /** The training phases, in report order. {@link Phase#OTHER} is shown apart and not part of the total. */
    public static final List<Phase> PHASES = List.of(Phase.FORWARD, Phase.BACKWARD, Phase.OPTIMIZER, Phase.RECOMPUTE);
    /**
     * Kinds outside the analytic matmul count: the remainder. ATTENTION_RECOMPUTE (flash attention's score matmul,
     * recomputed in backward) is a matmul but no part of the 6·P·D formula, so it gets its own row here.
     */
    public static final List<Kind> REMAINDER = List.of(Kind.ATTENTION_RECOMPUTE, Kind.SOFTMAX, Kind.NORM,
            Kind.ELEMENTWISE, Kind.LOSS, Kind.OTHER);

    /** One measured-versus-analytic matmul count; {@link #equal()} must hold. */
    public record MatmulCheck(Phase phase, Kind kind, long measured, long analytic, String formula) {
        public boolean equal() {
            return measured == analytic;
        }
    }

    /**
     * One line of the memory table.
     *
     * @param key      machine name
     * @param label    what it is
     * @param measured bytes measured, or -1 when not measured
     * @param formula  bytes by the formula
     * @param text     the formula with the numbers put in
     * @param note     a remark (may be empty)
     */
    public record MemoryLine(String key, String label, long measured, long formula, String text, String note) {
    }

    private final LedgerRun run;
    private final Analytic an;
    private final Ledger.Snapshot ledger;
    private final MemoryByCategory memory;
    private final long tokens;
    private final long passes;
    private final List<MatmulCheck> checks;
    private final List<MemoryLine> memoryLines;

    private LedgerReport(LedgerRun run, Ledger.Snapshot ledger, MemoryByCategory memory) {
        this.run = run;
        this.an = new Analytic(run.spec(), run.batch(), run.seqLen());
        this.ledger = ledger;
        this.memory = memory;
        this.tokens = run.tokens();
        this.passes = run.passes();
        this.checks = Collections.unmodifiableList(buildChecks());
        this.memoryLines = Collections.unmodifiableList(buildMemory());
    }

    /**
     * The report of {@code run} from the ledger counters {@code ledger} (covering exactly that run) and the measured
     * memory {@code memory} (null: the memory table shows the formulas only).
     */
    public static LedgerReport of(LedgerRun run, Ledger.Snapshot ledger, MemoryByCategory memory) {
        if (run == null || ledger == null) {
            throw new IllegalArgumentException("a ledger report needs the run and a ledger snapshot");
        }
        return new LedgerReport(run, ledger, memory);
    }

    // ------------------------------------------------------------------------------------------------ the numbers

    public LedgerRun run() {
        return run;
    }

    public Analytic analytic() {
        return an;
    }

    public Ledger.Snapshot ledger() {
        return ledger;
    }

    /** D, tokens processed. */
    public long tokens() {
        return tokens;
    }

    /** P, all parameters. */
    public long parameters() {
        return an.parameters();
    }

    /** Measured FLOPs of phase {@code p}, all kinds. */
    public long flops(Phase p) {
        return ledger.flops(p);
    }

    /** Measured matmul FLOPs of phase {@code p}: MATMUL + ATTENTION_MATMUL. */
    public long matmulFlops(Phase p) {
        return ledger.flops(p, Kind.MATMUL) + ledger.flops(p, Kind.ATTENTION_MATMUL);
    }

    /** Measured FLOPs of the four training phases (FORWARD, BACKWARD, OPTIMIZER, RECOMPUTE). */
    public long totalFlops() {
        long s = 0;
        for (Phase p : PHASES) {
            s += flops(p);
        }
        return s;
    }

    /** {@code flops / D}. */
    public double perToken(long flops) {
        return (double) flops / tokens;
    }

    /** Analytic matmul FLOPs (MATMUL + ATTENTION_MATMUL) of phase {@code p} for the whole run; 0 for OPTIMIZER. */
    public long analyticMatmulFlops(Phase p) {
        long s = 0;
        for (MatmulCheck c : checks) {
            if (c.phase() == p) {
                s += c.analytic();
            }
        }
        return s;
    }

    /** AdamW FLOPs for the run: steps × (14·P + 2·decayed elements with decay). */
    public long analyticOptimizerFlops() {
        return Math.multiplyExact(run.steps(), an.adamwFlopsPerStep(run.weightDecay()));
    }

    /** Every matmul count, measured beside analytic, for each phase and kind (MATMUL, ATTENTION_MATMUL). */
    public List<MatmulCheck> matmulChecks() {
        return checks;
    }

    /** Whether every measured matmul count equals the analytic one exactly (and no matmul ran elsewhere). */
    public boolean matmulExact() {
        for (MatmulCheck c : checks) {
            if (!c.equal()) {
                return false;
            }
        }
        return true;
    }

    /** 6·P·D. */
    public long sixPD() {
        return Analytic.sixPD(parameters(), tokens);
    }

    /** 8·P·D. */
    public long eightPD() {
        return Analytic.eightPD(parameters(), tokens);
    }

    /** Total ÷ 6·P·D. */
    public double ratioTo6PD() {
        return (double) totalFlops() / sixPD();
    }

    /** Total ÷ 8·P·D. */
    public double ratioTo8PD() {
        return (double) totalFlops() / eightPD();
    }

    /** Backward ÷ forward, all kinds (NaN if nothing ran forward). */
    public double backwardOverForward() {
        return flops(Phase.FORWARD) == 0 ? Double.NaN : (double) flops(Phase.BACKWARD) / flops(Phase.FORWARD);
    }

    /** Backward ÷ forward, matmuls only: 2 exactly when the ledger agrees with the formulas. */
    public double backwardOverForwardMatmul() {
        long f = matmulFlops(Phase.FORWARD);
        return f == 0 ? Double.NaN : (double) matmulFlops(Phase.BACKWARD) / f;
    }

    /** The memory table's lines (formulas always; measured values when memory was given). */
    public List<MemoryLine> memoryLines() {
        return memoryLines;
    }

    /** The activation layout sixpd allocates for this run (with or without recomputation). */
    public ActivationLayout activationLayout() {
        return Gpt.layout(run.spec(), run.batch(), run.recomputedBlocks() > 0);
    }

    // ------------------------------------------------------------------------------------------------ building

    private List<MatmulCheck> buildChecks() {
        GptConfig c = run.config();
        long L = c.layers();
        long C = c.dModel();
        long T = run.seqLen();
        long N = an.matmulParameters();
        long Lr = run.recomputedBlocks();
        long D = tokens;
        List<MatmulCheck> l = new ArrayList<>();
        long Na = an.adapterParameters();
        long Nt = an.trainableMatmulParameters();
        boolean frozen = Na > 0 || Nt != N;
        l.add(new MatmulCheck(Phase.FORWARD, Kind.MATMUL, ledger.flops(Phase.FORWARD, Kind.MATMUL),
                Math.multiplyExact(passes, an.forwardMatmulFlopsPerPass()), Na == 0
                ? "2·N·D = 2 × " + g(N) + " × " + g(D)
                : "2·(N + Na)·D = 2 × (" + g(N) + " + " + g(Na) + " adapters) × " + g(D)));
        l.add(new MatmulCheck(Phase.FORWARD, Kind.ATTENTION_MATMUL, ledger.flops(Phase.FORWARD, Kind.ATTENTION_MATMUL),
                Math.multiplyExact(passes, an.forwardAttentionFlopsPerPass()),
                "2·L·C·(T+1)·D = 2 × " + L + " × " + C + " × " + (T + 1) + " × " + g(D)));
        l.add(new MatmulCheck(Phase.BACKWARD, Kind.MATMUL, ledger.flops(Phase.BACKWARD, Kind.MATMUL),
                Math.multiplyExact(passes, an.backwardMatmulFlopsPerPass()), !frozen
                ? "4·N·D = 4 × " + g(N) + " × " + g(D)
                : "(2·N + 2·Nt + 4·Na)·D: dX of all, dW of the trainable Nt = " + g(Nt) + ", adapters Na = " + g(Na)
                + "; = (2 × " + g(N) + " + 2 × " + g(Nt) + " + 4 × " + g(Na) + ") × " + g(D)));
        l.add(new MatmulCheck(Phase.BACKWARD, Kind.ATTENTION_MATMUL, ledger.flops(Phase.BACKWARD, Kind.ATTENTION_MATMUL),
                Math.multiplyExact(passes, an.backwardAttentionFlopsPerPass()),
                "4·L·C·(T+1)·D = 4 × " + L + " × " + C + " × " + (T + 1) + " × " + g(D)));
        l.add(new MatmulCheck(Phase.RECOMPUTE, Kind.MATMUL, ledger.flops(Phase.RECOMPUTE, Kind.MATMUL),
                Math.multiplyExact(passes, an.recomputeMatmulFlopsPerPass((int) Lr)),
                "2·Nb·Lr·D, Nb = " + an.spec.blockFormula() + " (a block's linear weights"
                        + (Na > 0 ? " and adapters" : "") + ") = 2 × "
                        + g(an.blockMatmulParameters() + an.spec.blockAdapterParameters()) + " × " + Lr + " × "
                        + g(D)));
        l.add(new MatmulCheck(Phase.RECOMPUTE, Kind.ATTENTION_MATMUL, ledger.flops(Phase.RECOMPUTE,
                Kind.ATTENTION_MATMUL), Math.multiplyExact(passes, an.recomputeAttentionFlopsPerPass((int) Lr)),
                "2·Lr·C·(T+1)·D = 2 × " + Lr + " × " + C + " × " + (T + 1) + " × " + g(D)));
        l.add(new MatmulCheck(Phase.OPTIMIZER, Kind.MATMUL, matmulFlops(Phase.OPTIMIZER), 0,
                "none: the optimizer multiplies no matrices"));
        l.add(new MatmulCheck(Phase.OTHER, Kind.MATMUL, matmulFlops(Phase.OTHER), 0,
                "none: every matmul of a training step is charged to a training phase"));
        return l;
    }

    /**
     * The gradient, optimizer and model-state lines when tensors are frozen: gradients {@code 4·Pt}, AdamW
     * {@code 8·Pt}, model states {@code 4·P + 12·Pt} in FP32 ({@code 8·P + 12·Pt} with sixpd's float[] working copy;
     * a real mixed-precision run: {@code 2·P + 16·Pt}, frozen weights in 16 bits alone).
     */
    private static void frozenStates(List<MemoryLine> l, MemoryByCategory m, long P, long Pt, boolean mixed) {
        String pt = g(Pt);
        l.add(new MemoryLine("grads", "gradients (FP32), trainable only", m == null ? -1 : m.grads(), 4 * Pt,
                "4·Pt = 4 × " + pt + " = " + g(4 * Pt), "frozen tensors have no gradient"));
        l.add(new MemoryLine("optimizer_state", "optimizer state (AdamW m, v)", m == null ? -1 : m.optimizerState(),
                8 * Pt, "8·Pt = 8 × " + pt + " = " + g(8 * Pt),
                m != null && m.optimizerState() == 0 ? "not allocated yet: measure after the first step" : ""));
        long states = (mixed ? 8 : 4) * P + 12 * Pt;
        String text = (mixed ? "8·P + 12·Pt = (4 master + 4 working)·P" : "4·P + 12·Pt = 4 weights·P")
                + " + (4 grad + 8 m,v)·Pt = " + (mixed ? 8 : 4) + " × " + g(P) + " + 12 × " + pt + " = " + g(states);
        l.add(new MemoryLine("model_states", "model states (P = " + g(P) + ", trainable Pt = " + pt + ")",
                m == null ? -1 : m.modelStates(), states, text, "16·P = " + g(16 * P) + " if everything trained;"
                + " mixed precision with 16-bit frozen weights: 2·(P − Pt) + 16·Pt = " + g(2 * (P - Pt) + 16 * Pt)));
    }

    private List<MemoryLine> buildMemory() {
        GptConfig c = run.config();
        long P = parameters();
        long s = c.context();
        long b = run.batch();
        long h = c.dModel();
        long a = c.heads();
        long L = c.layers();
        long V = c.vocab();
        boolean mixed = run.mixedPrecision();
        MemoryByCategory m = memory;
        List<MemoryLine> l = new ArrayList<>();
        String p = g(P);

        l.add(new MemoryLine("master_weights", "FP32 master weights", m == null ? -1 : m.masterWeights(), 4 * P,
                "4·P = 4 × " + p + " = " + g(4 * P), ""));
        if (mixed) {
            l.add(new MemoryLine("working_weights", run.weightDtype() + " working weights",
                    m == null ? -1 : m.workingWeights(), 4 * P, "4·P = 4 × " + p + " = " + g(4 * P),
                    "sixpd keeps the " + run.weightDtype() + " copy as float[] on the 16-bit grid; stored in 16 bits"
                            + " it would be 2·P = " + g(2 * P)));
        } else {
            l.add(new MemoryLine("working_weights", "working weights", m == null ? -1 : m.workingWeights(), 0,
                    "0", "FP32 training: the forward reads the masters, no copy"));
        }
        long Pt = an.spec.trainableParameters();
        if (Pt != P) {
            // frozen tensors: weights only; gradients and AdamW state for the Pt trainable elements
            frozenStates(l, m, P, Pt, mixed);
        } else {
        l.add(new MemoryLine("grads", "gradients (FP32)", m == null ? -1 : m.grads(), 4 * P,
                "4·P = 4 × " + p + " = " + g(4 * P), mixed ? "textbook mixed precision keeps them in 16 bits: 2·P = "
                + g(2 * P) : ""));
        l.add(new MemoryLine("optimizer_state", "optimizer state (AdamW m, v)", m == null ? -1 : m.optimizerState(),
                8 * P, "8·P = 8 × " + p + " = " + g(8 * P),
                m != null && m.optimizerState() == 0 ? "not allocated yet: measure after the first step" : ""));
        long states = (mixed ? 20 : 16) * P;
        String statesText = mixed
                ? "20·P = (4 master + 4 working + 4 grad + 8 m,v)·P = 20 × " + p + " = " + g(states)
                : "16·P = (4 weights + 4 grads + 8 m,v)·P = 16 × " + p + " = " + g(states);
        String statesNote = mixed
                ? "textbook mixed precision (2+2+12)·P = " + g(Analytic.modelStateBytesMixedAdam(P))
                + "; sixpd's 20·P equals the 20·P variant (2+2+4+12, with an FP32 gradient copy) in total, but"
                + " its extra bytes are the 16-bit working copy and gradients held as float[]"
                : "the textbook's FP32 Adam figure; mixed precision (2+2+12)·P is also 16·P, the variant with an"
                + " FP32 gradient copy 20·P = " + g(Analytic.modelStateBytesMixedAdamFp32Grads(P));
        l.add(new MemoryLine("model_states", "model states", m == null ? -1 : m.modelStates(), states, statesText,
                statesNote));
        }

        ActivationLayout lay = activationLayout();
        long act = lay.savedForBackwardBytes();
        String sbh = s + " × " + b + " × " + h;
        String actText;
        boolean gpt2 = c.isPlainGpt2();
        if (run.recomputedBlocks() > 0) {
            actText = (gpt2 ? "L·4·s·b·h + (60·s·b·h + 4·a·s²·b + 16·s·b) + 8·s·b·h + 8·s·b·V + 12·s·b = "
                    : "L × kept per layer + shared + outside = ") + L + " × " + g(lay.perLayerBytes()) + " + "
                    + g(lay.sharedBytes()) + " + " + g(lay.outsideBytes()) + " = " + g(act);
        } else {
            actText = (gpt2 ? "L·(64·s·b·h + 4·a·s²·b + 16·s·b) + 8·s·b·h + 8·s·b·V + 12·s·b = "
                    : "L × per layer + outside = ") + L + " × " + g(lay.perLayerBytes()) + " + "
                    + g(lay.outsideBytes()) + " = " + g(act);
        }
        l.add(new MemoryLine("activations", "activations saved for backward (peak)",
                m == null ? -1 : m.activations(), act, actText,
                "sixpd's layout (FP32 buffers), s = context " + s + ", b = " + b + ", h = " + h + ", a = " + a
                        + ", V = " + V + (run.recomputedBlocks() > 0
                        ? "; per-block recomputation: each layer keeps its output, one layer's buffers are shared"
                        : "") + (c.attention() == GptConfig.Attn.FLASH ? "; flash attention: no [B, NH, T, T]"
                        + " probabilities, L·4·a·s²·b = " + g(L * 4 * a * s * s * b) + " bytes fewer, one log-sum-exp"
                        + " per row instead, L·4·a·s·b = " + g(L * 4 * a * s * b) : "")));

        long k16 = Analytic.korthikantiLayerBytes16(s, b, h, a);
        l.add(new MemoryLine("korthikanti_16bit", "Korthikanti, 16-bit, all layers", -1, L * k16,
                "L·s·b·h·(34 + 5·a·s/h) = L·(34·s·b·h + 5·a·s²·b) = " + L + " × (34 × " + sbh + " + 5 × " + a
                        + " × " + s + "² × " + b + ") = " + L + " × " + g(k16) + " = " + g(L * k16),
                "Korthikanti et al. 2022, eq. 1: no tensor parallelism, no recomputation; blocks only"));
        long k32 = Analytic.korthikantiLayerBytes32(s, b, h, a);
        l.add(new MemoryLine("korthikanti_fp32", "Korthikanti, FP32, all layers", -1, L * k32,
                "2 × " + g(L * k16) + " = " + g(L * k32), "16-bit figure doubled for FP32 activations"));
        long sixLayer = Gpt.layout(c, (int) b, false).perLayerBytes();
        long drop = 2 * Analytic.korthikantiDropoutBytes16(s, b, h, a);
        long stats = 16 * s * b;
        if (gpt2) {
            l.add(new MemoryLine("layer_difference", "sixpd − Korthikanti FP32, per layer", -1, sixLayer - k32,
                    "16·s·b − 2·(2·s·b·h + 3·a·s²·b) = " + g(stats) + " − " + g(drop) + " = " + g(sixLayer - k32)
                            + " (" + pct(sixLayer - k32, k32) + " of " + g(k32) + ")",
                    "no dropout (saves its masks and the dropped probabilities: " + g(drop) + "); keeps LayerNorm"
                            + " mean and rstd (16·s·b = " + g(stats) + "); every other term is the same"));
        } else {
            l.add(new MemoryLine("layer_difference", "sixpd − Korthikanti FP32, per layer", -1, sixLayer - k32,
                    g(sixLayer) + " − " + g(k32) + " = " + g(sixLayer - k32) + " (" + pct(sixLayer - k32, k32)
                            + " of " + g(k32) + ")",
                    "Korthikanti's formula is GPT-2's block; this model's block differs (" + c + ")"));
        }
        long rec16 = L * Analytic.korthikantiLayerBytesRecompute16(s, b, h);
        l.add(new MemoryLine("korthikanti_recompute_fp32", "Korthikanti, full recomputation, FP32", -1, 2 * rec16,
                "2 × L·2·s·b·h = 2 × " + L + " × 2 × " + sbh + " = " + g(2 * rec16),
                "only each block's input kept (16-bit: " + g(rec16) + "); one layer's activations are live again"
                        + " while it is recomputed"));
        if (run.recomputedBlocks() > 0) {
            long without = Gpt.layout(run.spec(), (int) b, false).savedForBackwardBytes();
            l.add(new MemoryLine("recompute_saves", "saved by recomputation (sixpd layout)", -1, without - act,
                    g(without) + " − " + g(act) + " = " + g(without - act), "activations without minus with"));
        }
        long ws = lay.workspaceBytes();
        l.add(new MemoryLine("workspace", "workspace (backward scratch)", m == null ? -1 : m.workspace(), ws,
                (gpt2 ? "4·(14·s·b·h + a·s²·b) = " : "Σ scratch buffers = ") + g(ws),
                "gradient buffers shared by all layers; the logits' gradient overwrites the saved probabilities"));
        long total = l.stream().filter(x -> x.key().equals("model_states")).findFirst().orElseThrow().formula() + act
                + ws;
        l.add(new MemoryLine("total", "total", m == null ? -1 : m.total(), total,
                "model states + activations + workspace = " + g(total), ""));
        long kvTok = an.kvCacheBytesPerToken();
        l.add(new MemoryLine("kv_cache_per_token", "KV cache per token (generation, FP32)", -1, kvTok,
                "2·L·KVH·HS·4 = 2 × " + L + " × " + c.kvHeads() + " × " + c.headSize() + " × 4 = " + g(kvTok),
                "not part of training: the keys and values a generator keeps per position; "
                        + g(kvTok * c.context()) + " for a full context of " + c.context()
                        + (c.kvHeads() < c.heads() ? "; grouped-query attention keeps " + c.kvHeads() + " of "
                        + c.heads() + " heads' K/V" : "")));
        return l;
    }

    // ------------------------------------------------------------------------------------------------ text

    /**
     * The short form {@code train} prints at the end of every run: FLOPs per token by phase, the total against 6·P·D
     * (and 8·P·D when recomputing), and the bytes of model states and saved activations. {@link #text()} has the rest.
     */
    public String summary() {
        long P = parameters();
        long D = tokens;
        StringBuilder sb = new StringBuilder();
        line(sb, "ledger: P = %s parameters, D = %s tokens (%s steps × %d × %d)", g(P), g(D), g(run.steps()),
                run.batch() * run.microbatches(), run.seqLen());
        line(sb, "  %-10s %16s %14s %20s", "phase", "FLOPs/token", "÷ P", "FLOPs in the run");
        for (Phase p : PHASES) {
            if (p == Phase.RECOMPUTE && flops(p) == 0) {
                continue;
            }
            line(sb, "  %-10s %16s %14s %20s", name(p), f1(perToken(flops(p))), f3(perToken(flops(p)) / P),
                    g(flops(p)));
        }
        line(sb, "  %-10s %16s %14s %20s", "total", f1(perToken(totalFlops())), f3(perToken(totalFlops()) / P),
                g(totalFlops()));
        line(sb, "  total ÷ 6·P·D = %s ÷ %s = %s%s", g(totalFlops()), g(sixPD()), f3(ratioTo6PD()),
                run.recomputedBlocks() > 0 ? String.format(java.util.Locale.ROOT, "; ÷ 8·P·D = %s", f3(ratioTo8PD()))
                        : "");
        boolean allTrain = an.adapterParameters() == 0 && an.trainableMatmulParameters() == an.matmulParameters();
        line(sb, "  matmul FLOPs %s the formulas (%s, causal attention)", matmulExact() ? "equal" : "DIFFER FROM",
                allTrain ? "2·N forward, 4·N backward"
                        : "2·(N + Na) forward, 2·N + 2·Nt + 4·Na backward: no dW for frozen weights");
        for (MemoryLine ml : memoryLines) {
            boolean shown = ml.key().equals("model_states") || ml.key().equals("activations") || ml.key().equals("total");
            if (shown && ml.measured() >= 0) {
                line(sb, "  %-38s %16s bytes", ml.key().equals("total") ? "memory in all (with workspace)" : ml.label(),
                        g(ml.measured()));
            }
        }
        line(sb, "  (--ledger prints every formula beside its measurement)");
        return sb.toString();
    }

    /** The report as a table for people; every number names its formula. */
    /** The memory table alone: each category measured (when given) beside its formula. */
    public String memoryText() {
        StringBuilder sb = new StringBuilder();
        line(sb, "Memory (bytes)                                 %16s %16s   formula", "measured", "formula");
        for (MemoryLine ml : memoryLines) {
            String meas = ml.measured() < 0 ? "" : g(ml.measured());
            String mark = ml.measured() < 0 ? "" : ml.measured() == ml.formula() ? " ✓" : " ≠";
            line(sb, "  %-44s %16s %16s%s  %s", ml.label(), meas, g(ml.formula()), mark, ml.text());
            if (!ml.note().isEmpty()) {
                line(sb, "  %-44s %16s %16s    (%s)", "", "", "", ml.note());
            }
        }
        return sb.toString();
    }

    public String text() {
        GptConfig c = run.config();
        long L = c.layers();
        long C = c.dModel();
        long P = parameters();
        long N = an.matmulParameters();
        long D = tokens;
        StringBuilder sb = new StringBuilder();
        line(sb, "sixpd ledger: %s; B = %d, T = %d; %s step%s × %d micro-batch%s%s", c, run.batch(), run.seqLen(),
                g(run.steps()), run.steps() == 1 ? "" : "s", run.microbatches(), run.microbatches() == 1 ? "" : "es",
                run.recomputedBlocks() > 0 ? "; recomputing " + run.recomputedBlocks() + " blocks per backward" : "");
        line(sb, "convention: a multiply-add is 2 FLOPs; add, multiply, max, divide, sqrt, exp, log, tanh 1 FLOP each");
        ModelSpec spec = an.spec;
        line(sb, "P = %s with %s = %s", spec.parametersFormula(), spec.symbolValues(), g(P));
        line(sb, "    all parameters%s", c.tieHead() ? "; the LM head is tied to the token embedding and counted once"
                : "; the LM head is its own matrix");
        line(sb, "N = %s = %s", spec.matmulParametersFormula(), g(N));
        line(sb, "    parameters in matmuls: the linear weights, and the LM head%s", c.tieHead()
                ? " (the token embedding, once for its use as the head)" : "");
        line(sb, "    one block: %s, of which %s in matmuls (Nb)", spec.blockParametersFormula(), spec.blockFormula());
        long Pt = spec.trainableParameters();
        long Na = an.adapterParameters();
        long Nt = an.trainableMatmulParameters();
        boolean frozen = Pt != P;
        if (frozen) {
            line(sb, "Pt = %s trainable (%s of P), %s frozen%s", g(Pt), pct(Pt, P), g(P - Pt), Na > 0
                    ? "; Na = " + g(Na) + " in LoRA adapters (r = " + spec.rank() + ")" : "");
            line(sb, "    frozen tensors: no gradient, no AdamW state, no dW matmul (dX still flows); Nt = %s of N"
                    + " trains", g(Nt));
        }
        line(sb, "D = steps × micro-batches × B × T = %s × %d × %d × %d = %s tokens", g(run.steps()),
                run.microbatches(), run.batch(), run.seqLen(), g(D));
        sb.append('\n');

        // phase table
        line(sb, "FLOPs by phase      %18s %20s %20s %20s %7s", "measured/token", "measured/run", "of which matmul",
                "analytic", "");
        for (Phase p : PHASES) {
            long mm = matmulFlops(p);
            long am = p == Phase.OPTIMIZER ? analyticOptimizerFlops() : analyticMatmulFlops(p);
            String mark = p == Phase.OPTIMIZER ? "" : (mm == am ? "exact" : "DIFFER");
            line(sb, "  %-17s %18s %20s %20s %20s %7s", name(p), f1(perToken(flops(p))), g(flops(p)), g(mm),
                    p == Phase.OPTIMIZER ? "AdamW " + g(am) : g(am), mark);
        }
        long totalMm = 0;
        long totalAn = 0;
        for (Phase p : PHASES) {
            totalMm += matmulFlops(p);
            totalAn += p == Phase.OPTIMIZER ? 0 : analyticMatmulFlops(p);
        }
        line(sb, "  %-17s %18s %20s %20s %20s", "total", f1(perToken(totalFlops())), g(totalFlops()), g(totalMm),
                g(totalAn));
        if (flops(Phase.OTHER) != 0) {
            line(sb, "  %-17s %18s %20s   (outside the training phases; not in the total)", "other",
                    f1(perToken(flops(Phase.OTHER))), g(flops(Phase.OTHER)));
        }
        sb.append('\n');

        // per token, the formulas
        long T = run.seqLen();
        long fwdTok = an.forwardMatmulFlopsPerToken() + an.forwardAttentionFlopsPerToken();
        line(sb, "Per token, the formulas beside the measurement");
        line(sb, "  forward   2·N + 2·L·C·(T+1) = 2 × %s + 2 × %d × %d × %d = %s matmul FLOPs; measured %s (%s)", g(N),
                L, C, T + 1, g(fwdTok), f1(perToken(flops(Phase.FORWARD))), rest(flops(Phase.FORWARD),
                        (double) fwdTok * D));
        if (frozen) {
            long bwdTok = an.backwardMatmulFlopsPerToken() + 2 * an.forwardAttentionFlopsPerToken();
            line(sb, "  forward   of which adapters 2·Na = %s", g(2 * Na));
            line(sb, "  backward  2·N + 2·Nt + 4·Na + 4·L·C·(T+1) = %s (dW only for the Nt trainable); measured %s"
                    + " (%s)", g(bwdTok), f1(perToken(flops(Phase.BACKWARD))), rest(flops(Phase.BACKWARD),
                    (double) bwdTok * D));
            // the base's P (without the adapters): full fine-tuning would cost 6·Pb, LoRA 4·Pb + 6·Na
            long Pb = P - Na;
            line(sb, "  LoRA      forward + backward ≈ 4·Pb + 6·Na = %s per token (Pb = P − Na = %s, the base) against"
                    + " full fine-tuning's 6·Pb = %s (%s of it)", g(4 * Pb + 6 * Na), g(Pb), g(6 * Pb),
                    pct(4 * Pb + 6 * Na, 6 * Pb));
        } else {
            line(sb, "  backward  2 × forward = 2 × %s = %s; measured %s (%s)", g(fwdTok), g(2 * fwdTok),
                    f1(perToken(flops(Phase.BACKWARD))), rest(flops(Phase.BACKWARD), 2.0 * fwdTok * D));
        }
        if (run.recomputedBlocks() > 0) {
            long Lr = run.recomputedBlocks();
            long recTok = 2 * Lr * an.blockMatmulParameters() + 2 * Lr * C * (T + 1);
            line(sb, "  recompute 2·Nb·Lr + 2·Lr·C·(T+1) = %s (the blocks' forward again, Lr = %d); measured %s (%s)",
                    g(recTok), Lr, f1(perToken(flops(Phase.RECOMPUTE))), rest(flops(Phase.RECOMPUTE),
                            (double) recTok * D));
        }
        line(sb, "  textbook  2·P = %s forward, 4·P = %s backward, 6·P = %s in all%s; measured %s in all", g(2 * P),
                g(4 * P), g(6 * P), run.recomputedBlocks() > 0 ? " (8·P = " + g(8 * P) + " with recomputation)" : "",
                f1(perToken(totalFlops())));
        sb.append('\n');

        // matmul checks
        line(sb, "Matmul FLOPs, measured against the formulas (must be equal exactly)");
        for (MatmulCheck k : checks) {
            if (k.measured() == 0 && k.analytic() == 0 && (k.phase() == Phase.OPTIMIZER || k.phase() == Phase.OTHER
                    || k.phase() == Phase.RECOMPUTE)) {
                continue;
            }
            line(sb, "  %-9s %-16s %s = %s; measured %s  %s", name(k.phase()), k.kind(), k.formula(),
                    g(k.analytic()), g(k.measured()), k.equal() ? "✓ equal"
                            : "✗ MISMATCH by " + g(k.measured() - k.analytic()));
        }
        long attExec = an.forwardAttentionFlopsPerToken();
        long attFull = an.forwardAttentionFlopsPerTokenFullContext();
        line(sb, "  attention counts the causal pairs t2 ≤ t only, as the kernel executes them: 2·L·C·(T+1) = %s per"
                + " token forward;", g(attExec));
        line(sb, "  the textbook's full-context 4·L·T·C = 4 × %d × %d × %d = %s per token is %s× that", L,
                run.seqLen(), C, g(attFull), f3((double) attFull / attExec));
        if (run.recomputedBlocks() > 0) {
            line(sb, "  recompute: Lr = %d blocks re-run their forward in each backward (no LM head, no loss)",
                    run.recomputedBlocks());
        }
        sb.append('\n');

        // optimizer
        long opt = flops(Phase.OPTIMIZER);
        long optAn = analyticOptimizerFlops();
        long dec = run.weightDecay() ? spec.trainableDecayedParameters() : 0;
        line(sb, "Optimizer: AdamW = steps × (14·%s + 2·decayed) = %s × (14 × %s + 2 × %s) = %s; measured %s",
                frozen ? "Pt" : "P", g(run.steps()), g(Pt), g(dec), g(optAn), g(opt));
        line(sb, "  the rest, %s (%s per step), is gradient work charged to the optimizer phase: the global norm"
                        + " (2·P + 1), clipping (P when it clips), micro-batch averaging (P), loss-scale unscaling (P)"
                        + " and finiteness check (P), as the trainer enabled them; a step the loss scaler skips runs no"
                        + " AdamW", g(opt - optAn), f1((double) (opt - optAn) / run.steps()));
        line(sb, "  per token: %s FLOPs = %s of the total (the textbook neglects it)", f1(perToken(opt)),
                pct(opt, totalFlops()));
        sb.append('\n');

        // remainder by kind
        line(sb, "The rest (outside the formula)  %16s %16s %16s %16s %16s %12s", "forward", "backward", "optimizer",
                "recompute", "per run", "per token");
        for (Kind k : REMAINDER) {
            long row = 0;
            StringBuilder cols = new StringBuilder();
            for (Phase p : PHASES) {
                long v = ledger.flops(p, k);
                row += v;
                cols.append(String.format(Locale.ROOT, " %16s", g(v)));
            }
            line(sb, "  %-29s%s %16s %12s   %s of total", k.name().toLowerCase(Locale.ROOT), cols, g(row),
                    f1(perToken(row)), pct(row, totalFlops()));
        }
        sb.append('\n');

        // ratios
        long six = sixPD();
        line(sb, "Against the textbook");
        line(sb, "  6·P·D = 6 × %s × %s = %s", g(P), g(D), g(six));
        line(sb, "  total ÷ 6·P·D = %s ÷ %s = %s", g(totalFlops()), g(six), f3(ratioTo6PD()));
        if (run.recomputedBlocks() > 0) {
            line(sb, "  8·P·D = 8 × %s × %s = %s (full recomputation: the forward runs twice)", g(P), g(D),
                    g(eightPD()));
            line(sb, "  total ÷ 8·P·D = %s ÷ %s = %s", g(totalFlops()), g(eightPD()), f3(ratioTo8PD()));
        }
        line(sb, "  matmuls alone: (2·N + 2·L·C·(T+1))·D × 3 = %s = %s × 6·P·D (N/P = %s; attention adds %s)",
                g(3 * analyticMatmulFlops(Phase.FORWARD)), f3((double) 3 * analyticMatmulFlops(Phase.FORWARD) / six),
                f3((double) N / P), pct(3 * Math.multiplyExact(passes, an.forwardAttentionFlopsPerPass()), six));
        line(sb, "  backward ÷ forward = %s ÷ %s = %s (matmuls alone: %s; the textbook's 2)", g(flops(Phase.BACKWARD)),
                g(flops(Phase.FORWARD)), f3(backwardOverForward()), f3(backwardOverForwardMatmul()));
        if (run.recomputedBlocks() > 0) {
            line(sb, "  recompute ÷ forward = %s ÷ %s = %s", g(flops(Phase.RECOMPUTE)), g(flops(Phase.FORWARD)),
                    f3(flops(Phase.FORWARD) == 0 ? Double.NaN : (double) flops(Phase.RECOMPUTE)
                            / flops(Phase.FORWARD)));
        }
        sb.append('\n');

        // memory
        sb.append(memoryText());
        if (!matmulExact()) {
            sb.append('\n');
            line(sb, "WARNING: measured matmul FLOPs differ from the analytic count (lines marked ✗): a kernel"
                    + " records the wrong count, or the snapshot does not cover exactly %s passes", g(passes));
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------------------------------------ JSON

    /** The report for machines: every number of {@link #text()} under a stable key, FLOPs and bytes as integers. */
    public String json() {
        Map<String, Object> root = new LinkedHashMap<>();
        GptConfig c = run.config();
        root.put("config", c.toMap());
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("batch", run.batch());
        r.put("seq_len", run.seqLen());
        r.put("steps", run.steps());
        r.put("microbatches", run.microbatches());
        r.put("recomputed_blocks", run.recomputedBlocks());
        r.put("weight_decay", run.weightDecay());
        r.put("weight_dtype", run.weightDtype().name());
        root.put("run", r);
        root.put("parameters", parameters());
        root.put("matmul_parameters", an.matmulParameters());
        root.put("trainable_parameters", an.spec.trainableParameters());
        root.put("frozen_parameters", parameters() - an.spec.trainableParameters());
        root.put("adapter_parameters", an.adapterParameters());
        root.put("tokens", tokens);

        Map<String, Object> phases = new LinkedHashMap<>();
        for (Phase p : Phase.values()) {
            Map<String, Object> ph = new LinkedHashMap<>();
            ph.put("flops", flops(p));
            ph.put("flops_per_token", fin(perToken(flops(p))));
            ph.put("matmul_flops", matmulFlops(p));
            if (p == Phase.OPTIMIZER) {
                ph.put("analytic_flops", analyticOptimizerFlops());
            } else if (p != Phase.OTHER) {
                ph.put("analytic_matmul_flops", analyticMatmulFlops(p));
            }
            Map<String, Object> kinds = new LinkedHashMap<>();
            for (Kind k : Kind.values()) {
                kinds.put(k.name().toLowerCase(Locale.ROOT), ledger.flops(p, k));
            }
            ph.put("by_kind", kinds);
            phases.put(p.name().toLowerCase(Locale.ROOT), ph);
        }
        root.put("phases", phases);
        root.put("total_flops", totalFlops());
        root.put("total_flops_per_token", fin(perToken(totalFlops())));

        List<Object> cs = new ArrayList<>();
        for (MatmulCheck k : checks) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("phase", k.phase().name().toLowerCase(Locale.ROOT));
            m.put("kind", k.kind().name().toLowerCase(Locale.ROOT));
            m.put("measured", k.measured());
            m.put("analytic", k.analytic());
            m.put("formula", k.formula());
            m.put("equal", k.equal());
            cs.add(m);
        }
        root.put("matmul_checks", cs);
        root.put("matmul_exact", matmulExact());
        root.put("attention", "causal pairs only (t2 <= t), as executed: 2*L*C*(T+1) FLOPs per token forward");
        root.put("attention_flops_per_token_forward", an.forwardAttentionFlopsPerToken());
        root.put("attention_flops_per_token_forward_full_context", an.forwardAttentionFlopsPerTokenFullContext());
        root.put("six_pd", sixPD());
        root.put("ratio_to_6pd", fin(ratioTo6PD()));
        root.put("eight_pd", eightPD());
        root.put("ratio_to_8pd", fin(ratioTo8PD()));
        root.put("backward_over_forward", fin(backwardOverForward()));
        root.put("backward_over_forward_matmul", fin(backwardOverForwardMatmul()));

        Map<String, Object> mem = new LinkedHashMap<>();
        for (MemoryLine ml : memoryLines) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("label", ml.label());
            if (ml.measured() >= 0) {
                m.put("measured", ml.measured());
            }
            m.put("formula", ml.formula());
            m.put("formula_text", ml.text());
            if (!ml.note().isEmpty()) {
                m.put("note", ml.note());
            }
            mem.put(ml.key(), m);
        }
        root.put("memory_bytes", mem);
        try {
            return MAPPER.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the ledger report as JSON", e);
        }
    }

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** A ratio for JSON: null when not finite (JSON has no NaN). */
    private static Double fin(double x) {
        return Double.isFinite(x) ? x : null;
    }

    @Override
    public String toString() {
        return text();
    }

    // ------------------------------------------------------------------------------------------------ format

    private static void line(StringBuilder sb, String fmt, Object... args) {
        sb.append(String.format(Locale.ROOT, fmt, args)).append('\n');
    }

    private static String name(Phase p) {
        return p.name().toLowerCase(Locale.ROOT);
    }

    /** A whole number grouped: 1,310,720. */
    static String g(long x) {
        return String.format(Locale.ROOT, "%,d", x);
    }

    private static String f1(double x) {
        return String.format(Locale.ROOT, "%,.1f", x);
    }

    private static String f3(double x) {
        return Double.isNaN(x) ? "n/a" : String.format(Locale.ROOT, "%.3f", x);
    }

    /** "+x not matmuls, y%": what a phase measured beyond its matmul formula, per token. */
    private String rest(long measured, double analyticRun) {
        double extra = (measured - analyticRun) / tokens;
        return (extra >= 0 ? "+" : "") + f1(extra) + " not matmuls, "
                + (measured == 0 ? "n/a" : String.format(Locale.ROOT, "%.1f%%", 100.0 * (measured - analyticRun) / measured));
    }

    private static String pct(long part, long whole) {
        return whole == 0 ? "n/a" : String.format(Locale.ROOT, "%.1f%%", 100.0 * part / whole);
    }

}
