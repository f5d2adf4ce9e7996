package dev.sixpd.nn.plan;

/**
 * Everything the planner needs, validated on construction (an {@link IllegalArgumentException} names the bad field
 * and what to do). Build one with {@link #builder()}. Immutable and thread-safe.
 *
 * <p>Model size: {@code params} (P), or an {@link Arch} from which P is counted, or both (then P = {@code params}
 * and the architecture is used for the activation memory and the attention term). {@code NaN} means "not given".
 *
 * @param params P, the parameter count; NaN to count it from {@code arch}
 * @param arch the architecture, or null
 * @param tokens D, training tokens; NaN for the compute-optimal 20·P
 * @param hardware the device, or null when {@code peakFlops} is given
 * @param peakFlops a peak per device in FLOP/s overriding the hardware's; NaN to use the hardware's
 * @param precision which peak and which model-state layout: mixed precision BF16 (default) or plain FP32
 * @param devices device count N (ignored for time when {@code deadlineSeconds} is given: then N is computed)
 * @param deadlineSeconds a deadline for the run in seconds, or NaN
 * @param mfu model FLOPs utilisation in (0, 1]; typical 0.3–0.55, default {@value #DEFAULT_MFU}
 * @param recompute full activation recomputation: 8·P·D instead of 6·P·D, activations 2·s·b·h per layer
 * @param pricePerDeviceHour USD per device-hour; NaN for the hardware's default
 * @param otherHardwarePercent host CPUs, network, storage as % of the device cost, default
 *        {@value #DEFAULT_OTHER_HARDWARE_PERCENT}
 * @param datacenterPercent facility overhead as % of the hardware cost (devices + other), default
 *        {@value #DEFAULT_DATACENTER_PERCENT}; set 0 for cloud rental whose price already includes it
 * @param staffCost a fixed staff cost in USD, default 0
 * @param pue power usage effectiveness of the facility, ≥ 1, default {@value #DEFAULT_PUE}
 * @param watts power per device in W; NaN for the hardware's rated power
 * @param microBatch b, sequences per device per micro-step, for the activation memory; default 1
 * @param bytesPerToken UTF-8 bytes per token measured on real text with the tokenizer (see {@link BytesPerToken});
 *        NaN if not measured
 */
public record PlanInput(double params, Arch arch, double tokens, Hardware hardware, double peakFlops,
        Precision precision, int devices, double deadlineSeconds, double mfu, boolean recompute,
        double pricePerDeviceHour, double otherHardwarePercent, double datacenterPercent, double staffCost, double pue,
        double watts, int microBatch, double bytesPerToken) {

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
        /** Plain FP32 everywhere: FP32 peak (no tensor cores, no TF32). */
        FP32
    }

    /**
     * A GPT-2-style decoder: learned position embeddings, pre-LayerNorm blocks with biases, a final LayerNorm, and an
     * LM head tied to the token embedding.
     *
     * @param layers L
     * @param hidden h (d_model)
     * @param heads a, which must divide h
     * @param vocab V
     * @param seq s, the context length
     */
    public record Arch(int layers, int hidden, int heads, int vocab, int seq) {
        public Arch {
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
         * P = V·h + s·h + L·(12h² + 13h) + 2h: token embedding (tied LM head, counted once), position embedding,
         * per block 2 LayerNorms (4h), QKV (3h² + 3h), attention output (h² + h), MLP up (4h² + 4h) and down
         * (4h² + h), and the final LayerNorm (2h).
         */
        public double params() {
            double h = hidden;
            return (double) vocab * h + (double) seq * h + layers * (12 * h * h + 13 * h) + 2 * h;
        }

        private static void positive(String what, int v) {
            if (v <= 0) {
                throw new IllegalArgumentException(what + " must be positive, got " + v);
            }
        }
    }

    public PlanInput {
        if (!Double.isNaN(params) && !(params > 0 && Double.isFinite(params))) {
            throw new IllegalArgumentException("params must be a positive number, got " + params);
        }
        if (Double.isNaN(params) && arch == null) {
            throw new IllegalArgumentException(
                    "give the parameter count (e.g. 7B) or an architecture (layers, hidden, heads, vocab, seq)");
        }
        if (!Double.isNaN(tokens) && !(tokens > 0 && Double.isFinite(tokens))) {
            throw new IllegalArgumentException("tokens must be a positive number, got " + tokens);
        }
        if (hardware == null && Double.isNaN(peakFlops)) {
            throw new IllegalArgumentException("give a hardware name (" + String.join(", ", Hardware.names())
                    + ") or a peak FLOP/s per device");
        }
        if (!Double.isNaN(peakFlops) && !(peakFlops > 0 && Double.isFinite(peakFlops))) {
            throw new IllegalArgumentException("peak must be a positive FLOP/s per device, got " + peakFlops);
        }
        if (precision == null) {
            throw new IllegalArgumentException("precision must be BF16 or FP32");
        }
        if (devices < 1) {
            throw new IllegalArgumentException("devices must be >= 1, got " + devices);
        }
        if (!Double.isNaN(deadlineSeconds) && !(deadlineSeconds > 0 && Double.isFinite(deadlineSeconds))) {
            throw new IllegalArgumentException("deadline must be a positive duration, got " + deadlineSeconds + " s");
        }
        if (!(mfu > 0 && mfu <= 1)) {
            throw new IllegalArgumentException("mfu must be in (0, 1] (a fraction of peak; typical 0.3-0.55), got "
                    + mfu);
        }
        nonNegativeOrNaN("price per device-hour", pricePerDeviceHour);
        nonNegative("other-hardware overhead %", otherHardwarePercent);
        nonNegative("data-centre overhead %", datacenterPercent);
        nonNegative("staff cost", staffCost);
        if (!(pue >= 1 && Double.isFinite(pue))) {
            throw new IllegalArgumentException("PUE must be >= 1 (facility power / IT power), got " + pue);
        }
        nonNegativeOrNaN("watts", watts);
        if (microBatch < 1) {
            throw new IllegalArgumentException("micro-batch must be >= 1, got " + microBatch);
        }
        if (!Double.isNaN(bytesPerToken) && !(bytesPerToken > 0 && Double.isFinite(bytesPerToken))) {
            throw new IllegalArgumentException("bytes per token must be positive, got " + bytesPerToken);
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
        private Arch arch;
        private double tokens = Double.NaN;
        private Hardware hardware;
        private double peakFlops = Double.NaN;
        private Precision precision = Precision.BF16;
        private int devices = 1;
        private double deadlineSeconds = Double.NaN;
        private double mfu = DEFAULT_MFU;
        private boolean recompute;
        private double price = Double.NaN;
        private double otherHardwarePercent = DEFAULT_OTHER_HARDWARE_PERCENT;
        private double datacenterPercent = DEFAULT_DATACENTER_PERCENT;
        private double staffCost;
        private double pue = DEFAULT_PUE;
        private double watts = Double.NaN;
        private int microBatch = 1;
        private double bytesPerToken = Double.NaN;

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

        public Builder arch(int layers, int hidden, int heads, int vocab, int seq) {
            arch = new Arch(layers, hidden, heads, vocab, seq);
            return this;
        }

        public Builder tokens(double v) {
            tokens = v;
            return this;
        }

        public Builder hardware(Hardware v) {
            hardware = v;
            return this;
        }

        /** A catalog name; see {@link Hardware#lookup}. */
        public Builder hardware(String name) {
            hardware = Hardware.lookup(name);
            return this;
        }

        public Builder peakFlops(double v) {
            peakFlops = v;
            return this;
        }

        public Builder precision(Precision v) {
            precision = v;
            return this;
        }

        public Builder devices(int v) {
            devices = v;
            return this;
        }

        public Builder deadlineSeconds(double v) {
            deadlineSeconds = v;
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
            price = v;
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

        public Builder microBatch(int v) {
            microBatch = v;
            return this;
        }

        public Builder bytesPerToken(double v) {
            bytesPerToken = v;
            return this;
        }

        public PlanInput build() {
            return new PlanInput(params, arch, tokens, hardware, peakFlops, precision, devices, deadlineSeconds, mfu,
                    recompute, price, otherHardwarePercent, datacenterPercent, staffCost, pue, watts, microBatch,
                    bytesPerToken);
        }
    }
}
