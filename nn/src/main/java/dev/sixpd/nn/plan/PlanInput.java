package dev.sixpd.nn.plan;

import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.GptConfig.Attn;
import dev.sixpd.nn.GptConfig.Block;
import dev.sixpd.nn.GptConfig.Mlp;
import dev.sixpd.nn.GptConfig.Norm;
import dev.sixpd.nn.GptConfig.Pos;
import dev.sixpd.nn.ModelSpec;
import dev.sixpd.nn.ParamSpec;
import dev.sixpd.nn.ParamSpec.Role;
import dev.sixpd.nn.Poly;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Everything the planner needs, validated on construction (an {@link IllegalArgumentException} names the bad field
 * and what to do). Build one with {@link #builder()}. Immutable and thread-safe.
 *
 * <p>Model size: {@code params} (P), or an {@link Arch} from which P is counted, or both (then P = {@code params}
 * and the architecture is used for the activation memory, the KV cache and the attention term), or a FLOP budget
 * from which P follows. Of P, D and C any two determine the third; with C alone the model is the compute-optimal
 * one (D = 20·P). {@code NaN} means "not given". Time, cost and energy need a peak ({@code hardware} or
 * {@code peakFlops}); the memory lines need neither (their verdicts need a device memory).
 *
 * @param params P, the parameter count; NaN to count it from {@code arch} or derive it from {@code flops}
 * @param arch the architecture, or null
 * @param tokens training tokens per epoch; NaN for a dataset size in bytes or characters, a FLOP budget, or the
 *        compute-optimal 20·P
 * @param flops a FLOP budget C (as the plan counts it: 6·P·D, or 8·P·D with recomputation); NaN if not given
 * @param dataBytes the dataset in UTF-8 bytes, converted with {@code bytesPerToken}; NaN if not given
 * @param dataChars the dataset in characters, converted with {@code bytesPerChar} and {@code bytesPerToken}; NaN if
 *        not given
 * @param bytesPerChar UTF-8 bytes per character of the dataset (see {@link Scripts}); NaN for 1 (ASCII)
 * @param epochs passes over the data: D = tokens per epoch × epochs
 * @param hardware the device, or null (then {@code peakFlops} for time and cost, {@code memoryBytes} for memory
 *        verdicts)
 * @param peakFlops a peak per device in FLOP/s overriding the hardware's; NaN to use the hardware's
 * @param memoryBytes device memory in bytes overriding the hardware's; NaN to use the hardware's
 * @param precision which peak and which default model-state layout: mixed precision BF16 (default) or plain FP32
 * @param states bytes per parameter of model states; null for the precision's default (2 + 2 + 12 or 4 + 4 + 8)
 * @param devices device count N; 0 when not given (then N = t·p·d)
 * @param tensorParallel tensor-parallel degree t
 * @param pipelineStages pipeline stages p
 * @param dataParallel data-parallel degree d; 0 to derive it from N / (t·p)
 * @param microBatches m, micro-batches per optimizer step (gradient accumulation, or the pipeline's micro-batches)
 * @param sequenceParallel sequence parallelism with tensor parallelism: all activations divided by t
 * @param deadlineSeconds a deadline for the run in seconds, or NaN (then N is computed)
 * @param durationSeconds the measured duration of a real run in seconds, or NaN (then the MFU is computed from it)
 * @param mfu model FLOPs utilisation in (0, 1]; typical 0.3–0.55
 * @param recompute full activation recomputation: 8·P·D instead of 6·P·D, activations 2·s·b·h per layer
 * @param pricePerDeviceHour rental USD per device-hour; NaN for the hardware's default
 * @param devicePrice purchase price per device in USD; NaN if not given
 * @param otherHardwarePercent host CPUs, network, storage as % of the device cost
 * @param datacenterPercent facility overhead as % of the hardware cost (devices + other); 0 for cloud rental whose
 *        price includes it
 * @param staffCost a fixed staff cost in USD
 * @param pue power usage effectiveness of the facility, ≥ 1
 * @param watts power per device in W; NaN for the hardware's rated power
 * @param kwhPrice electricity in USD per kWh for the purchase cost; NaN if not given
 * @param microBatch b, sequences per device per micro-step, for the activation memory
 * @param workspaceBytes extra memory per device in bytes beyond the counted workspace (CUDA context, allocator)
 * @param inferBatch sequences decoded at once, for the KV cache
 * @param context tokens of context held in the KV cache; 0 for the architecture's s
 * @param inferDtype the weights' dtype for the inference total
 * @param bytesPerToken UTF-8 bytes per token measured on real text with the tokenizer (see {@link BytesPerToken});
 *        NaN if not measured
 * @param lora LoRA adapters for a fine-tuning comparison (needs {@code arch}), or null
 */
public record PlanInput(double params, Arch arch, double tokens, double flops, double dataBytes, double
        dataChars, double bytesPerChar, double epochs, Hardware hardware, double peakFlops, double memoryBytes,
        Precision precision, StateLayout states, int devices, int tensorParallel, int pipelineStages, int dataParallel,
        int microBatches, boolean sequenceParallel, double deadlineSeconds, double durationSeconds, double mfu, boolean
        recompute, double pricePerDeviceHour, double devicePrice, double otherHardwarePercent, double datacenterPercent,
        double staffCost, double pue, double watts, double kwhPrice, int microBatch, double workspaceBytes, int
        inferBatch, int context, InferDtype inferDtype, double bytesPerToken, Lora lora) {

    /** Default model FLOPs utilisation. */
    public static final double DEFAULT_MFU = 0.4;
    /** Default overhead for host CPUs, memory, network and storage, % of device cost. */
    public static final double DEFAULT_OTHER_HARDWARE_PERCENT = 30;
    /** Default facility overhead (space, cooling, operations), % of hardware cost. */
    public static final double DEFAULT_DATACENTER_PERCENT = 10;
    /** Default power usage effectiveness (modern large facilities report 1.1–1.2; the industry mean is ~1.5). */
    public static final double DEFAULT_PUE = 1.2;

    /** The training precision. */
    public enum Precision {
        /** Mixed precision: 16-bit weights and gradients, FP32 master weights and Adam moments; 16-bit tensor peak. */
        BF16,
        /** Plain FP32 everywhere: FP32 peak (no tensor cores, no TF32), FP32 Adam states, FP32 activations. */
        FP32
    }

    /** The dtype of the weights at inference, with the bytes per element of the weights and of the KV cache. */
    public enum InferDtype {
        FP32("FP32", 4, 4), BF16("BF16/FP16", 2, 2), INT8("INT8", 1, 2), INT4("INT4", 0.5, 2);

        /** Display name. */
        public final String label;
        /** Bytes per weight. */
        public final double weightBytes;
        /** Bytes per KV-cache element: 16-bit unless the weights are FP32 (quantised weights keep a 16-bit cache). */
        public final double kvBytes;

        InferDtype(String label, double weightBytes, double kvBytes) {
            this.label = label;
            this.weightBytes = weightBytes;
            this.kvBytes = kvBytes;
        }
    }

    /**
     * The model the plan is about: a {@link GptConfig} (GPT-2 by default, LLaMA's parts as switches). Its parameters
     * are counted by {@link ModelSpec}, the one parameter list the trainer builds its tensors from: the planner keeps
     * no formula of its own for P. The config's {@code context} is s, the tokens of one training sequence.
     *
     * @param config the shape
     */
    public record Arch(GptConfig config) {
        public Arch {
            if (config == null) {
                throw new IllegalArgumentException("an architecture needs a model config");
            }
        }

        /** A GPT-2 of these sizes: LayerNorm, learned positions, a GELU MLP of 4h, biases, a tied LM head. */
        public Arch(int layers, int hidden, int heads, int vocab, int seq) {
            this(gpt2(layers, hidden, heads, vocab, seq));
        }

        private static GptConfig gpt2(int layers, int hidden, int heads, int vocab, int seq) {
            checkSizes(layers, hidden, heads, vocab, seq);
            return GptConfig.gpt2(vocab, seq, layers, hidden, heads);
        }

        /** Each size positive and the heads dividing the hidden size, in the planner's option names. */
        static void checkSizes(int layers, int hidden, int heads, int vocab, int seq) {
            positive("layers", layers);
            positive("hidden", hidden);
            positive("heads", heads);
            positive("vocab", vocab);
            positive("seq", seq);
            if (hidden % heads != 0) {
                throw new IllegalArgumentException("heads (" + heads + ") must divide hidden (" + hidden + "): "
                        + hidden + " / " + heads + " is not whole; pick hidden as a multiple of heads, e.g. "
                        + (hidden / heads + 1) * heads);
            }
        }

        /**
         * LLaMA's SwiGLU width when none is given, as Meta's reference code computes it: ⌊2·4h/3⌋ rounded up to a
         * multiple of 256 ({@code multiple_of}): 11,008 for h = 4,096, 13,824 for 5,120, 22,016 for 8,192.
         */
        public static int llamaMlpHidden(int hidden) {
            long h = 8L * hidden / 3;
            return Math.toIntExact((h + 255) / 256 * 256);
        }

        public int layers() {
            return config.layers();
        }

        /** h, the residual width (ModelSpec's C). */
        public int hidden() {
            return config.dModel();
        }

        /** a, the query heads. */
        public int heads() {
            return config.heads();
        }

        /** The K/V heads (= heads for multi-head attention, 1 for multi-query). */
        public int kvHeads() {
            return config.kvHeads();
        }

        /** H, the MLP's hidden width. */
        public int mlpHidden() {
            return config.mlpHidden();
        }

        public int vocab() {
            return config.vocab();
        }

        /** s, the sequence length (ModelSpec's T). */
        public int seq() {
            return config.context();
        }

        /** The parameter list of one block: every per-block term appears once, outside terms as they are. */
        private ModelSpec oneBlock() {
            return ModelSpec.of(config.withSizes(0, 1, 0, 0));
        }

        /** P from {@link ModelSpec}: the tensors outside the blocks plus L times one block's. */
        public double params() {
            return sum(false, false) + (double) layers() * sum(true, false);
        }

        /** The blocks and the final norm, without the token and position embeddings and an untied head (Kaplan's N). */
        public double nonEmbeddingParams() {
            return sum(false, true) + (double) layers() * sum(true, true);
        }

        /** L × one block's linear weights: Kaplan's N ≈ 12·L·h² for GPT-2. */
        public double blockWeights() {
            return (double) layers() * oneBlock().blockMatmulParameters();
        }

        private long sum(boolean inBlock, boolean skipEmbeddings) {
            long s = 0;
            for (ParamSpec q : oneBlock().params()) {
                if ((q.layer() >= 0) == inBlock && !(skipEmbeddings && embedding(q))) {
                    s += q.elements();
                }
            }
            return s;
        }

        private static boolean embedding(ParamSpec q) {
            return q.role() == Role.EMBEDDING || q.role() == Role.POSITION || q.role() == Role.HEAD;
        }

        /** P as ModelSpec writes it: {@code V·C + T·C + L·(12C² + 13C) + 2C} for GPT-2. */
        public String paramsFormula() {
            return oneBlock().parametersFormula();
        }

        /** The non-embedding parameters as a formula: {@code L·(12C² + 13C) + 2C} for GPT-2. */
        public String nonEmbeddingFormula() {
            Poly block = Poly.ZERO;
            Poly outside = Poly.ZERO;
            for (ParamSpec q : oneBlock().params()) {
                if (q.layer() >= 0) {
                    block = block.plus(q.size());
                } else if (!embedding(q)) {
                    outside = outside.plus(q.size());
                }
            }
            return "L·(" + block + ")" + (outside.isZero() ? "" : " + " + outside);
        }

        /** One block's linear weights as a formula: {@code 12C²} for GPT-2. */
        public String blockWeightsFormula() {
            return oneBlock().blockFormula();
        }

        /** The values of the symbols {@code formula} uses: {@code V = 50,257, T = 1,024, L = 12, C = 768}. */
        public String symbolValues(String formula) {
            Map<String, Long> values = new LinkedHashMap<>(oneBlock().symbols());
            values.put("L", (long) layers());
            StringBuilder sb = new StringBuilder();
            for (Map.Entry<String, Long> e : values.entrySet()) {
                if (formula.matches(".*(?<![A-Z])" + e.getKey() + "(?![A-Z]).*")) {
                    sb.append(sb.isEmpty() ? "" : ", ").append(e.getKey()).append(" = ").append(Fmt.num(e.getValue()));
                }
            }
            return sb.toString();
        }

        /** The switches in words: {@code LayerNorm, learned positions, GELU MLP (H = 3,072), 12 heads, ...}. */
        public String describe() {
            GptConfig c = config;
            String attn = c.kvHeads() == c.heads() ? c.heads() + " heads"
                    : c.heads() + " query heads sharing " + c.kvHeads() + " K/V " + (c.kvHeads() == 1 ? "head" : "heads");
            return (c.norm() == Norm.LAYERNORM ? "LayerNorm" : "RMSNorm") + ", "
                    + (c.pos() == Pos.LEARNED ? "learned positions" : "RoPE") + ", "
                    + (c.mlp() == Mlp.GELU ? "GELU" : "SwiGLU") + " MLP (H = " + Fmt.num(c.mlpHidden()) + "), " + attn
                    + ", " + (c.block() == Block.SEQUENTIAL ? "sequential" : "parallel") + " block, "
                    + (c.bias() ? "biases" : "no biases") + ", " + (c.tieHead() ? "tied" : "untied") + " LM head";
        }

        /*
         * Activations one layer keeps for backward (Korthikanti et al. 2022, section 4.1, generalized), in units of
         * s·b·h bytes for 16-bit activations and 1-byte dropout masks; g = kv-heads / heads, H = the MLP's width:
         *   norms          each keeps its input, 2: two in a sequential block (4), one in a parallel block (2)
         *   attention      the q/k/v projections' shared input 2, Q 2 and K 2g (for QKᵀ), V 2g (for A·V), the output
         *                  projection's input 2 and its dropout mask 1: 7 + 4g (11 for g = 1); and per head the
         *                  softmax output 2·s²·b and its dropout mask s²·b: 5·a·s²·b bytes
         *   MLP, GELU      input 2, GELU's input 2H/h and output (the down projection's input) 2H/h, mask 1:
         *                  3 + 4H/h (19 for H = 4h)
         *   MLP, SwiGLU    input 2 (gate and up share it), gate output (SiLU's input) 2H/h, up output 2H/h, their
         *                  product (down's input) 2H/h, mask 1: 3 + 6H/h (19 for LLaMA's H = 8h/3)
         *   parallel block attention and MLP read one norm's output: one norm input and one matmul input fewer (−4)
         * GPT-2 (g = 1, H = 4h, sequential): 4 + 11 + 19 = 34, Korthikanti's 34·s·b·h + 5·a·s²·b exactly.
         * Tensor parallelism splits by t what belongs to heads or to the MLP's hidden width (Q, K, V, the projection
         * input, the MLP's hidden tensors, the scores: S = 4 + 4g + 4H/h or 6H/h, GPT-2's 24) and keeps the rest
         * whole (norm inputs, the inputs of q/k/v and of the MLP, the two masks: R = 10, or 6 in a parallel block).
         * Flash attention keeps no s×s tensor: the scores term becomes its FP32 log-sum-exp per row, 4·a·s·b.
         */

        /** R: the s·b·h units one layer keeps whole under tensor parallelism (10 sequential, 6 parallel). */
        public double replicatedActivations() {
            return config.block() == Block.SEQUENTIAL ? 10 : 6;
        }

        /** S: the s·b·h units split by tensor parallelism: attention 4 + 4g, MLP 4H/h (GELU) or 6H/h (SwiGLU). */
        public double splitActivations() {
            double g = (double) kvHeads() / heads();
            double mlpRatio = (double) mlpHidden() / hidden();
            return 4 + 4 * g + (config.mlp() == Mlp.GELU ? 4 : 6) * mlpRatio;
        }

        /** The score bytes of one layer: 5·a·s²·b, or with flash attention its log-sum-exp 4·a·s·b. */
        public double scoreActivationBytes(int microBatch) {
            double asb = (double) heads() * seq() * microBatch;
            return flash() ? 4 * asb : 5 * asb * seq();
        }

        public boolean flash() {
            return config.attention() == Attn.FLASH;
        }

        /** The 34 of Korthikanti's GPT-2 formula, as this architecture's terms: norms + attention + MLP. */
        public String activationTerms() {
            double g = (double) kvHeads() / heads();
            double mlpRatio = (double) mlpHidden() / hidden();
            boolean seq = config.block() == Block.SEQUENTIAL;
            String mlp = config.mlp() == Mlp.GELU ? "3 + 4H/h" : "3 + 6H/h";
            double mlpUnits = 3 + (config.mlp() == Mlp.GELU ? 4 : 6) * mlpRatio;
            return coef(replicatedActivations() + splitActivations()) + " = " + (seq ? "4 (two norm inputs)"
                    : "2 (one norm input)") + " + " + coef(7 + 4 * g) + " (attention 7 + 4g, g = " + kvHeads() + "/"
                    + heads() + ") + " + coef(mlpUnits) + " (" + (config.mlp() == Mlp.GELU ? "GELU" : "SwiGLU")
                    + " MLP " + mlp + ", H = " + Fmt.num(mlpHidden()) + ")" + (seq ? "" : " − 2 (the norm output"
                    + " attention and MLP share)");
        }

        /** Whether the terms are GPT-2's (R = 10, S = 24, the s² scores): then the formula is Korthikanti's own. */
        public boolean korthikantiShape() {
            return replicatedActivations() == 10 && splitActivations() == 24 && !flash();
        }

        /** A coefficient as exact as it is: {@code 34}, {@code 34.125}. */
        static String coef(double x) {
            return new java.math.BigDecimal(x).round(new java.math.MathContext(6)).stripTrailingZeros()
                    .toPlainString();
        }

        /**
         * Bytes of 16-bit activations one layer stores for backward, for micro-batch b: s·b·h·(R + S) + scores
         * without tensor parallelism (Korthikanti eq. 1 for GPT-2: s·b·h·(34 + 5·a·s/h)); with tensor-parallel
         * degree t s·b·h·(R + S/t) + scores/t (eq. 2: 10 + 24/t); with sequence parallelism all of it / t (eq. 4).
         */
        public double activationBytesPerLayer(int microBatch, int tp, boolean sequenceParallel) {
            double sbh = (double) seq() * microBatch * hidden();
            double r = sbh * replicatedActivations();
            double split = sbh * splitActivations() + scoreActivationBytes(microBatch);
            if (sequenceParallel || tp == 1) {
                return (r + split) / tp;
            }
            return r + split / tp;
        }

        /** Bytes one layer keeps with full recomputation: its 16-bit input, 2·s·b·h (÷ t with sequence parallel). */
        public double recomputeBytesPerLayer(int microBatch, int tp, boolean sequenceParallel) {
            return 2.0 * seq() * microBatch * hidden() / (sequenceParallel ? tp : 1);
        }

        /** s·b·V: the logits of one micro-batch (the loss's input), elements. */
        public double logitsElements(int microBatch) {
            return (double) seq() * microBatch * vocab();
        }

        /** 2·L·kv·d: K and V elements cached per token of context, all layers (2·L·h for multi-head attention). */
        public double kvElementsPerToken() {
            return 2.0 * layers() * kvHeads() * config.headSize();
        }

        /** 4·L·s·h: forward FLOPs per token of the attention scores (QKᵀ and A·V over the full context). */
        public double attentionFlopsPerToken() {
            return 4.0 * layers() * seq() * hidden();
        }

        private static void positive(String what, int v) {
            if (v <= 0) {
                throw new IllegalArgumentException(what + " must be positive, got " + v);
            }
        }
    }

    public PlanInput {
        positiveOrNaN("params", params);
        positiveOrNaN("tokens", tokens);
        positiveOrNaN("--flops", flops);
        positiveOrNaN("--data-bytes", dataBytes);
        positiveOrNaN("--data-chars", dataChars);
        positiveOrNaN("--bytes-per-char", bytesPerChar);
        boolean sizeGiven = !Double.isNaN(params) || arch != null;
        boolean dataGiven = !Double.isNaN(tokens) || !Double.isNaN(dataBytes) || !Double.isNaN(dataChars);
        if (!sizeGiven && Double.isNaN(flops)) {
            throw new IllegalArgumentException("give the parameter count (e.g. 7B), an architecture (layers, hidden,"
                    + " heads, vocab, seq) or a FLOP budget (--flops)");
        }
        if (sizeGiven && dataGiven && !Double.isNaN(flops)) {
            throw new IllegalArgumentException("P, D and C = 6·P·D determine each other: give two of the model size,"
                    + " the data (--tokens, --data-bytes, --data-chars) and --flops, not all three");
        }
        int dataKinds = (Double.isNaN(tokens) ? 0 : 1) + (Double.isNaN(dataBytes) ? 0 : 1)
                + (Double.isNaN(dataChars) ? 0 : 1);
        if (dataKinds > 1) {
            throw new IllegalArgumentException("give the data once: --tokens, --data-bytes or --data-chars");
        }
        if (!Double.isNaN(bytesPerChar) && Double.isNaN(dataChars)) {
            throw new IllegalArgumentException("--bytes-per-char and --script convert --data-chars; give --data-chars");
        }
        if (!(epochs > 0 && Double.isFinite(epochs))) {
            throw new IllegalArgumentException("epochs must be positive, got " + epochs);
        }
        if ((!Double.isNaN(dataBytes) || !Double.isNaN(dataChars)) && Double.isNaN(bytesPerToken)) {
            throw new IllegalArgumentException("a dataset size in bytes or characters needs the bytes per token of"
                    + " the tokenizer: give --bytes-per-token (./sixpd plan measures it unless given)");
        }
        positiveOrNaN("peak", peakFlops);
        positiveOrNaN("--memory", memoryBytes);
        if (precision == null) {
            throw new IllegalArgumentException("precision must be BF16 or FP32");
        }
        if (devices < 0) {
            throw new IllegalArgumentException("devices must be >= 1, got " + devices);
        }
        if (tensorParallel < 1 || pipelineStages < 1 || dataParallel < 0 || microBatches < 1) {
            throw new IllegalArgumentException("--tp, --pp and --micro-batches must be >= 1 and --dp >= 1, got t = "
                    + tensorParallel + ", p = " + pipelineStages + ", d = " + dataParallel + ", m = " + microBatches);
        }
        int tp = tensorParallel * pipelineStages;
        if (devices > 0 && dataParallel > 0 && devices != tp * dataParallel) {
            throw new IllegalArgumentException("--devices " + devices + " is not t·p·d = " + tensorParallel + " × "
                    + pipelineStages + " × " + dataParallel + " = " + tp * dataParallel + "; give one of them");
        }
        if (devices > 0 && devices % tp != 0) {
            throw new IllegalArgumentException("--devices " + devices + " is not a multiple of t·p = "
                    + tensorParallel + " × " + pipelineStages + " = " + tp + "; the data-parallel degree N / (t·p)"
                    + " must be whole");
        }
        if (arch != null && arch.heads() % tensorParallel != 0) {
            throw new IllegalArgumentException("--tp " + tensorParallel + " must divide the heads (" + arch.heads()
                    + "): tensor parallelism splits attention by heads");
        }
        if (arch != null && pipelineStages > arch.layers()) {
            throw new IllegalArgumentException("--pp " + pipelineStages + " exceeds the layers (" + arch.layers()
                    + "): a pipeline stage needs at least one layer");
        }
        if (sequenceParallel && tensorParallel == 1) {
            throw new IllegalArgumentException("--sequence-parallel splits activations across the tensor-parallel"
                    + " group: give --tp > 1");
        }
        positiveOrNaN("deadline", deadlineSeconds);
        positiveOrNaN("--duration", durationSeconds);
        if (!Double.isNaN(deadlineSeconds) && !Double.isNaN(durationSeconds)) {
            throw new IllegalArgumentException("--deadline asks for N, --duration gives a real run's time to compute "
                    + "its MFU: give one");
        }
        if ((!Double.isNaN(deadlineSeconds) || !Double.isNaN(durationSeconds)) && hardware == null
                && Double.isNaN(peakFlops)) {
            throw new IllegalArgumentException((Double.isNaN(deadlineSeconds) ? "--duration" : "--deadline")
                    + " needs a peak FLOP/s per device: give a hardware name (" + String.join(", ", Hardware.names())
                    + ") or --peak");
        }
        if (!Double.isNaN(deadlineSeconds) && (dataParallel > 0 || devices > 0)) {
            throw new IllegalArgumentException("--deadline computes the device count: leave out --devices and --dp");
        }
        if (!(mfu > 0 && mfu <= 1)) {
            throw new IllegalArgumentException("mfu must be in (0, 1] (a fraction of peak; typical 0.3-0.55), got "
                    + mfu);
        }
        nonNegativeOrNaN("price per device-hour", pricePerDeviceHour);
        nonNegativeOrNaN("--device-price", devicePrice);
        nonNegative("other-hardware overhead %", otherHardwarePercent);
        nonNegative("data-centre overhead %", datacenterPercent);
        nonNegative("staff cost", staffCost);
        if (!(pue >= 1 && Double.isFinite(pue))) {
            throw new IllegalArgumentException("PUE must be >= 1 (facility power / IT power), got " + pue);
        }
        nonNegativeOrNaN("watts", watts);
        nonNegativeOrNaN("--kwh-price", kwhPrice);
        if (microBatch < 1) {
            throw new IllegalArgumentException("micro-batch must be >= 1, got " + microBatch);
        }
        nonNegative("--workspace", workspaceBytes);
        if (inferBatch < 1 || context < 0) {
            throw new IllegalArgumentException("--infer-batch must be >= 1 and --context >= 1, got " + inferBatch
                    + " and " + context);
        }
        if (inferDtype == null) {
            throw new IllegalArgumentException("--infer-dtype must be fp32, bf16, int8 or int4");
        }
        positiveOrNaN("bytes per token", bytesPerToken);
        if (lora != null && arch == null) {
            throw new IllegalArgumentException("--lora-rank sizes its adapters from the matrices of a block: give the"
                    + " architecture (--layers --hidden --heads --vocab --seq, and its switches)");
        }
        if (lora != null) {
            lora.check(arch.config());
        }
    }

    /** The model-state layout: the one given, else 2 + 2 + 12 for BF16 and 4 + 4 + 8 for FP32. */
    public StateLayout stateLayout() {
        return states != null ? states : precision == Precision.FP32 ? StateLayout.FP32_ADAM : StateLayout.MIXED_ADAM;
    }

    private static void positiveOrNaN(String what, double v) {
        if (!Double.isNaN(v) && !(v > 0 && Double.isFinite(v))) {
            throw new IllegalArgumentException(what + " must be a positive number, got " + v);
        }
    }

    private static void nonNegative(String what, double v) {
        if (!(v >= 0 && Double.isFinite(v))) {
            throw new IllegalArgumentException(what + " must be >= 0, got " + v);
        }
    }

    private static void nonNegativeOrNaN(String what, double v) {
        if (!Double.isNaN(v)) {
            nonNegative(what, v);
        }
    }

    /** A builder with the documented defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** Mutable builder; {@link #build()} validates. Not thread-safe. */
    public static final class Builder {
        private double params = Double.NaN;
        private Arch arch = null;
        private double tokens = Double.NaN;
        private double flops = Double.NaN;
        private double dataBytes = Double.NaN;
        private double dataChars = Double.NaN;
        private double bytesPerChar = Double.NaN;
        private double epochs = 1;
        private Hardware hardware = null;
        private double peakFlops = Double.NaN;
        private double memoryBytes = Double.NaN;
        private Precision precision = Precision.BF16;
        private StateLayout states = null;
        private int devices = 0;
        private int tensorParallel = 1;
        private int pipelineStages = 1;
        private int dataParallel = 0;
        private int microBatches = 1;
        private boolean sequenceParallel = false;
        private double deadlineSeconds = Double.NaN;
        private double durationSeconds = Double.NaN;
        private double mfu = DEFAULT_MFU;
        private boolean recompute = false;
        private double pricePerDeviceHour = Double.NaN;
        private double devicePrice = Double.NaN;
        private double otherHardwarePercent = DEFAULT_OTHER_HARDWARE_PERCENT;
        private double datacenterPercent = DEFAULT_DATACENTER_PERCENT;
        private double staffCost = 0;
        private double pue = DEFAULT_PUE;
        private double watts = Double.NaN;
        private double kwhPrice = Double.NaN;
        private int microBatch = 1;
        private double workspaceBytes = 0;
        private int inferBatch = 1;
        private int context = 0;
        private InferDtype inferDtype = InferDtype.BF16;
        private double bytesPerToken = Double.NaN;
        private Lora lora = null;

        private Builder() {
        }

        public Builder params(double v) {
            params = v;
            return this;
        }

        public Builder arch(Arch v) {
            arch = v;
            return this;
        }

        public Builder tokens(double v) {
            tokens = v;
            return this;
        }

        public Builder flops(double v) {
            flops = v;
            return this;
        }

        public Builder dataBytes(double v) {
            dataBytes = v;
            return this;
        }

        public Builder dataChars(double v) {
            dataChars = v;
            return this;
        }

        public Builder bytesPerChar(double v) {
            bytesPerChar = v;
            return this;
        }

        public Builder epochs(double v) {
            epochs = v;
            return this;
        }

        public Builder hardware(Hardware v) {
            hardware = v;
            return this;
        }

        public Builder peakFlops(double v) {
            peakFlops = v;
            return this;
        }

        public Builder memoryBytes(double v) {
            memoryBytes = v;
            return this;
        }

        public Builder precision(Precision v) {
            precision = v;
            return this;
        }

        public Builder states(StateLayout v) {
            states = v;
            return this;
        }

        public Builder devices(int v) {
            devices = v;
            return this;
        }

        public Builder tensorParallel(int v) {
            tensorParallel = v;
            return this;
        }

        public Builder pipelineStages(int v) {
            pipelineStages = v;
            return this;
        }

        public Builder dataParallel(int v) {
            dataParallel = v;
            return this;
        }

        public Builder microBatches(int v) {
            microBatches = v;
            return this;
        }

        public Builder sequenceParallel(boolean v) {
            sequenceParallel = v;
            return this;
        }

        public Builder deadlineSeconds(double v) {
            deadlineSeconds = v;
            return this;
        }

        public Builder durationSeconds(double v) {
            durationSeconds = v;
            return this;
        }

        public Builder mfu(double v) {
            mfu = v;
            return this;
        }

        public Builder recompute(boolean v) {
            recompute = v;
            return this;
        }

        public Builder pricePerDeviceHour(double v) {
            pricePerDeviceHour = v;
            return this;
        }

        public Builder devicePrice(double v) {
            devicePrice = v;
            return this;
        }

        public Builder otherHardwarePercent(double v) {
            otherHardwarePercent = v;
            return this;
        }

        public Builder datacenterPercent(double v) {
            datacenterPercent = v;
            return this;
        }

        public Builder staffCost(double v) {
            staffCost = v;
            return this;
        }

        public Builder pue(double v) {
            pue = v;
            return this;
        }

        public Builder watts(double v) {
            watts = v;
            return this;
        }

        public Builder kwhPrice(double v) {
            kwhPrice = v;
            return this;
        }

        public Builder microBatch(int v) {
            microBatch = v;
            return this;
        }

        public Builder workspaceBytes(double v) {
            workspaceBytes = v;
            return this;
        }

        public Builder inferBatch(int v) {
            inferBatch = v;
            return this;
        }

        public Builder context(int v) {
            context = v;
            return this;
        }

        public Builder inferDtype(InferDtype v) {
            inferDtype = v;
            return this;
        }

        public Builder bytesPerToken(double v) {
            bytesPerToken = v;
            return this;
        }

        public Builder lora(Lora v) {
            lora = v;
            return this;
        }

        public Builder arch(int layers, int hidden, int heads, int vocab, int seq) {
            arch = new Arch(layers, hidden, heads, vocab, seq);
            return this;
        }

        /** A catalog name; see {@link Hardware#lookup}. */
        public Builder hardware(String name) {
            hardware = Hardware.lookup(name);
            return this;
        }

        public PlanInput build() {
            return new PlanInput(params, arch, tokens, flops, dataBytes, dataChars, bytesPerChar, epochs,
                    hardware, peakFlops, memoryBytes, precision, states, devices, tensorParallel, pipelineStages,
                    dataParallel, microBatches, sequenceParallel, deadlineSeconds, durationSeconds, mfu, recompute,
                    pricePerDeviceHour, devicePrice, otherHardwarePercent, datacenterPercent, staffCost, pue, watts,
                    kwhPrice, microBatch, workspaceBytes, inferBatch, context, inferDtype, bytesPerToken, lora);
        }
    }
}
