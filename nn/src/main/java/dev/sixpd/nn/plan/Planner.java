package dev.sixpd.nn.plan;

import dev.sixpd.nn.plan.PlanInput.Arch;
import dev.sixpd.nn.plan.PlanInput.Precision;
import dev.sixpd.nn.plan.PlanReport.Line;
import java.util.ArrayList;
import java.util.List;

/**
 * The textbook estimates of what training a transformer costs, as a pure function {@link #plan(PlanInput)} from
 * inputs to a {@link PlanReport} whose every line names its formula.
 *
 * <h2>Formulas (Ψ = P = parameters, D = tokens, N = devices)</h2>
 * <ul>
 * <li>Training compute C = 6·P·D FLOPs: 2·P per token forward, 4·P backward (Kaplan et al. 2020); 8·P·D with full
 * activation recomputation (the forward runs twice). PetaFLOP/s-days = C / (10¹⁵ · 86,400). The attention-score
 * FLOPs (QKᵀ and A·V over the full context, 4·L·s·h per token forward) are not in 6·P·D and are listed apart.</li>
 * <li>Wall time T = C / (N · peak · MFU); devices for a deadline N = ⌈C / (T · peak · MFU)⌉.</li>
 * <li>Cost = device-hours × price × (1 + other-hardware %) × (1 + data-centre %) + staff.</li>
 * <li>Energy = N · W · T · PUE (devices at their rated power for the whole run: an upper bound for the devices,
 * hosts not included).</li>
 * <li>Model states per device with mixed-precision Adam (Rajbhandari et al. 2020, ZeRO): 2 bytes 16-bit weights
 * + 2 gradients + 12 optimizer (FP32 master weights, Adam m and v) = 16Ψ for plain data parallel; ZeRO-1
 * 4Ψ + 12Ψ/N, ZeRO-2 2Ψ + 14Ψ/N, ZeRO-3 16Ψ/N; CPU optimizer offload (ZeRO-Offload, Ren et al. 2021) keeps 2Ψ on
 * the device and 14Ψ/N (16-bit gradients + optimizer) on each device's host. Plain FP32 Adam is 4 + 4 + 8 = 16Ψ
 * with the same partitioning rule.</li>
 * <li>Activations per layer s·b·h·(34 + 5·a·s/h) bytes for 16-bit activations without tensor parallelism or
 * recomputation (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models", eq. 1),
 * times L; with full recomputation 2·s·b·h·L (only each layer's input kept). FP32 doubles them.</li>
 * <li>Inference weights P × 4 / 2 / 1 / 0.5 bytes for FP32, BF16/FP16, INT8, INT4 (no KV cache).</li>
 * <li>Compute-optimal tokens ≈ 20·P (Hoffmann et al. 2022, Chinchilla).</li>
 * <li>Storage of D tokens = D × measured bytes/token of raw UTF-8 text; token ids take 2 bytes each when V ≤ 65,536,
 * else 4.</li>
 * </ul>
 * Stateless and thread-safe.
 */
public final class Planner {
    /** Tokens per parameter for the compute-optimal model (Chinchilla). */
    public static final double CHINCHILLA_TOKENS_PER_PARAM = 20;

    private Planner() {
    }

    /** The plan for these inputs. Pure: the same input gives the same report. */
    public static PlanReport plan(PlanInput in) {
        List<Line> out = new ArrayList<>();
        Arch a = in.arch();

        // ---------------------------------------------------------------- inputs and model size
        double p;
        String pName;
        if (!Double.isNaN(in.params())) {
            p = in.params();
            pName = Fmt.num(p);
            String note = a == null ? "" : "the architecture counts " + Fmt.num(a.params())
                    + "; P as given is used, the architecture only for activations and attention";
            add(out, "input.params", "inputs", "parameters P", p, "params", "P = " + Fmt.num(p) + " (given)",
                    Fmt.res(p), note);
        } else {
            p = a.params();
            pName = Fmt.num(p);
            double h = a.hidden();
            String formula = "P = V·h + s·h + L·(12h² + 13h) + 2h = " + Fmt.num(a.vocab()) + "×" + Fmt.num(h) + " + "
                    + Fmt.num(a.seq()) + "×" + Fmt.num(h) + " + " + a.layers() + "×(12×" + Fmt.num(h) + "² + 13×"
                    + Fmt.num(h) + ") + 2×" + Fmt.num(h) + " = " + Fmt.num(p);
            add(out, "input.params", "inputs", "parameters P", p, "params", formula, Fmt.num(p),
                    "tied LM head counted once; per block 2 LayerNorms 4h, QKV 3h²+3h, attention out h²+h, MLP "
                            + "4h²+4h and 4h²+h; final LayerNorm 2h");
        }
        if (a != null) {
            double h = a.hidden();
            double nonEmb = a.layers() * (12 * h * h + 13 * h) + 2 * h;
            add(out, "model.nonEmbedding", "inputs", "non-embedding parameters", nonEmb, "params",
                    "L·(12h² + 13h) + 2h = " + a.layers() + "×(12×" + Fmt.num(h) + "² + 13×" + Fmt.num(h) + ") + 2×"
                            + Fmt.num(h) + " = " + Fmt.num(nonEmb),
                    Fmt.res(nonEmb), "≈ 12·L·h² = " + Fmt.res(12.0 * a.layers() * h * h) + ", Kaplan's N");
        }
        double d;
        if (!Double.isNaN(in.tokens())) {
            d = in.tokens();
            add(out, "input.tokens", "inputs", "training tokens D", d, "tokens", "D = " + Fmt.num(d) + " (given)",
                    Fmt.res(d), "");
        } else {
            d = CHINCHILLA_TOKENS_PER_PARAM * p;
            add(out, "input.tokens", "inputs", "training tokens D", d, "tokens",
                    "D = 20·P = 20 × " + pName + " = " + Fmt.res(d), Fmt.res(d),
                    "no token count given: the compute-optimal 20 tokens per parameter (Chinchilla)");
        }
        String dName = Fmt.num(d);

        Hardware hw = in.hardware();
        double peak;
        String peakWhat;
        if (!Double.isNaN(in.peakFlops())) {
            peak = in.peakFlops();
            peakWhat = "given";
        } else {
            peak = hw.peak(in.precision());
            peakWhat = hw.description() + ", " + (in.precision() == Precision.FP32 ? "FP32" : hw.halfName())
                    + " peak (" + hw.source() + ")";
        }
        add(out, "input.peak", "inputs", "peak per device", peak, "FLOP/s", "peak = " + Fmt.num(peak) + " FLOP/s",
                Fmt.flops(peak), peakWhat);
        String mfuNote = in.mfu() < 0.3 || in.mfu() > 0.55
                ? "outside the typical 0.3–0.55 of large training runs" : "typical large runs reach 0.3–0.55";
        if (in.recompute()) {
            mfuNote += "; with --recompute it applies to the 8·P·D executed (hardware FLOPs utilisation)";
        }
        add(out, "input.mfu", "inputs", "model FLOPs utilisation", in.mfu(), "", "MFU = " + Fmt.num(in.mfu()),
                Fmt.num(in.mfu()), mfuNote);

        // ---------------------------------------------------------------- compute
        int k = in.recompute() ? 8 : 6;
        double c = k * p * d;
        String cName = Fmt.res(c);
        add(out, "compute.flops", "compute", "training FLOPs C", c, "FLOPs",
                k + "·P·D = " + k + " × " + pName + " × " + dName + " = " + cName + " FLOPs",
                cName + " FLOPs", in.recompute()
                        ? "full recomputation: forward 2·P·D twice + backward 4·P·D"
                        : "forward 2·P·D + backward 4·P·D; optimizer negligible per token");
        add(out, "compute.perToken", "compute", "FLOPs per token", k * p, "FLOPs",
                k + "·P = " + k + " × " + pName + " = " + Fmt.res(k * p), Fmt.res(k * p), "");
        double pfDays = c / (1e15 * 86400);
        add(out, "compute.pfDays", "compute", "PetaFLOP/s-days", pfDays, "PF-days",
                "C / (1e15 × 86,400) = " + cName + " / 8.64e19 = " + Fmt.res(pfDays) + " PF-days", Fmt.res(pfDays),
                "");
        if (a != null) {
            int passes = in.recompute() ? 4 : 3;
            double att = passes * 4.0 * a.layers() * a.seq() * a.hidden() * d;
            add(out, "compute.attention", "compute", "attention-score FLOPs (not in C)", att, "FLOPs",
                    passes * 4 + "·L·s·h·D = " + passes * 4 + " × " + a.layers() + " × " + Fmt.num(a.seq()) + " × "
                            + Fmt.num(a.hidden()) + " × " + dName + " = " + Fmt.res(att) + " FLOPs",
                    Fmt.res(att) + " FLOPs", "QKᵀ and A·V over the full context, 4·L·s·h per token forward, × "
                            + passes + " for " + (in.recompute() ? "forward, recompute and backward"
                                    : "forward and backward") + "; " + Fmt.res(100 * att / c) + "% of C");
        }
        double perDevice = peak * in.mfu();
        add(out, "compute.sustained", "compute", "sustained per device", perDevice, "FLOP/s",
                "peak × MFU = " + Fmt.num(peak) + " × " + Fmt.num(in.mfu()) + " = " + Fmt.res(perDevice) + " FLOP/s",
                Fmt.flops(perDevice), "");

        // ---------------------------------------------------------------- time
        int n;
        double t;
        if (!Double.isNaN(in.deadlineSeconds())) {
            double dl = in.deadlineSeconds();
            double need = c / (dl * perDevice);
            n = (int) Math.min(Integer.MAX_VALUE, Math.max(1, Math.ceil(need - 1e-9)));
            add(out, "time.devices", "time", "devices for the deadline N", n, "devices",
                    "N = ⌈C / (deadline · peak · MFU)⌉ = ⌈" + cName + " / (" + Fmt.res(dl) + " s × " + Fmt.num(peak)
                            + " × " + Fmt.num(in.mfu()) + ")⌉ = ⌈" + Fmt.res(need) + "⌉ = " + Fmt.num(n),
                    Fmt.num(n), "deadline " + Fmt.duration(dl) + "; N replaces --devices below");
        } else {
            n = in.devices();
            add(out, "time.devices", "time", "devices N", n, "devices", "N = " + n + " (given)", Fmt.num(n), "");
        }
        t = c / (n * perDevice);
        add(out, "time.wall", "time", "wall time T", t, "s",
                "C / (N · peak · MFU) = " + cName + " / (" + n + " × " + Fmt.num(peak) + " × " + Fmt.num(in.mfu())
                        + ") = " + Fmt.res(t) + " s",
                Fmt.duration(t), "perfect scaling assumed: communication hidden behind compute");
        double deviceHours = n * t / 3600;
        add(out, "time.deviceHours", "time", "device-hours", deviceHours, "h",
                "N · T / 3600 = " + n + " × " + Fmt.res(t) + " / 3600 = " + Fmt.res(deviceHours), Fmt.res(deviceHours),
                "");

        // ---------------------------------------------------------------- cost
        double price = !Double.isNaN(in.pricePerDeviceHour()) ? in.pricePerDeviceHour()
                : hw != null ? hw.pricePerHour() : Double.NaN;
        String priceNote = !Double.isNaN(in.pricePerDeviceHour()) ? "price given"
                : !Double.isNaN(price) ? "illustrative default rental price for " + hw.name() + ", pass your own"
                        : "no price known for this device: pass a price per device-hour";
        double devCost = deviceHours * price;
        add(out, "cost.devices", "cost", "devices", devCost, "USD",
                "device-hours × price = " + Fmt.res(deviceHours) + " × " + Fmt.usd(price) + " = " + Fmt.usd(devCost),
                Fmt.usd(devCost), priceNote);
        double otherCost = devCost * in.otherHardwarePercent() / 100;
        add(out, "cost.otherHardware", "cost", "other hardware", otherCost, "USD",
                "devices × " + Fmt.num(in.otherHardwarePercent()) + "% = " + Fmt.usd(otherCost), Fmt.usd(otherCost),
                "host CPUs and memory, network, storage");
        double dcCost = (devCost + otherCost) * in.datacenterPercent() / 100;
        add(out, "cost.datacenter", "cost", "data centre", dcCost, "USD",
                "(devices + other) × " + Fmt.num(in.datacenterPercent()) + "% = " + Fmt.usd(dcCost), Fmt.usd(dcCost),
                "space, cooling, operations; 0 if the rental price includes them");
        add(out, "cost.staff", "cost", "staff (fixed)", in.staffCost(), "USD", "given = " + Fmt.usd(in.staffCost()),
                Fmt.usd(in.staffCost()), "");
        double total = devCost + otherCost + dcCost + in.staffCost();
        add(out, "cost.total", "cost", "total cost", total, "USD",
                "devices + other + data centre + staff = " + Fmt.usd(total), Fmt.usd(total), "");

        // ---------------------------------------------------------------- energy
        double watts = !Double.isNaN(in.watts()) ? in.watts() : hw != null ? hw.watts() : Double.NaN;
        double kwh = n * watts * t / 3.6e6;
        add(out, "energy.devices", "energy", "device energy", kwh, "kWh",
                "N · W · T = " + n + " × " + Fmt.num(watts) + " W × " + Fmt.res(t) + " s / 3.6e6 = " + Fmt.res(kwh)
                        + " kWh",
                Fmt.res(kwh) + " kWh", Double.isNaN(watts) ? "no power known for this device: pass watts"
                        : "at rated power for the whole run (an upper bound); hosts not included");
        double facility = kwh * in.pue();
        add(out, "energy.facility", "energy", "facility energy", facility, "kWh",
                "device energy × PUE = " + Fmt.res(kwh) + " × " + Fmt.num(in.pue()) + " = " + Fmt.res(facility)
                        + " kWh",
                Fmt.res(facility) + " kWh", "");

        // ---------------------------------------------------------------- model states
        boolean mixed = in.precision() == Precision.BF16;
        int w = mixed ? 2 : 4; // weights
        int g = mixed ? 2 : 4; // gradients
        int o = mixed ? 12 : 8; // optimizer: FP32 master + m + v, or m + v
        double mem = hw != null ? hw.memoryBytes() : Double.NaN;
        String layout = mixed
                ? "mixed-precision Adam: 2 (16-bit weights) + 2 (16-bit gradients) + 12 (FP32 master, m, v)"
                : "FP32 Adam: 4 (weights) + 4 (gradients) + 8 (m, v)";
        double dp = (w + g + o) * p;
        add(out, "memory.dp", "model states per device", "data parallel", dp, "B",
                (w + g + o) + "Ψ = " + (w + g + o) + " × " + pName + " = " + Fmt.res(dp) + " B", Fmt.bytes(dp),
                layout + fits(dp, mem));
        double z1 = (w + g) * p + o * p / n;
        add(out, "memory.zero1", "model states per device", "ZeRO-1 (optimizer sharded)", z1, "B",
                (w + g) + "Ψ + " + o + "Ψ/N = " + (w + g) + " × " + pName + " + " + o + " × " + pName + " / " + n
                        + " = " + Fmt.res(z1) + " B",
                Fmt.bytes(z1), fits(z1, mem).replaceFirst("^; ", ""));
        double z2 = w * p + (g + o) * p / n;
        add(out, "memory.zero2", "model states per device", "ZeRO-2 (+ gradients sharded)", z2, "B",
                w + "Ψ + " + (g + o) + "Ψ/N = " + w + " × " + pName + " + " + (g + o) + " × " + pName + " / " + n
                        + " = " + Fmt.res(z2) + " B",
                Fmt.bytes(z2), fits(z2, mem).replaceFirst("^; ", ""));
        double z3 = (w + g + o) * p / n;
        add(out, "memory.zero3", "model states per device", "ZeRO-3 (+ weights sharded)", z3, "B",
                (w + g + o) + "Ψ/N = " + (w + g + o) + " × " + pName + " / " + n + " = " + Fmt.res(z3) + " B",
                Fmt.bytes(z3), fits(z3, mem).replaceFirst("^; ", ""));
        double offDev = w * p;
        add(out, "memory.offloadDevice", "model states per device", "CPU offload: on device", offDev, "B",
                w + "Ψ = " + w + " × " + pName + " = " + Fmt.res(offDev) + " B", Fmt.bytes(offDev),
                "ZeRO-Offload: weights stay, gradients stream to the host" + fits(offDev, mem));
        double offHost = (g + o) * p / n;
        add(out, "memory.offloadHost", "model states per device", "CPU offload: on host", offHost, "B",
                (g + o) + "Ψ/N = " + (g + o) + " × " + pName + " / " + n + " = " + Fmt.res(offHost) + " B",
                Fmt.bytes(offHost), "host memory per device: gradients and optimizer, Adam runs on the CPU");

        // ---------------------------------------------------------------- activations
        if (a != null) {
            double s = a.seq();
            double b = in.microBatch();
            double h = a.hidden();
            double heads = a.heads();
            double scale = mixed ? 1 : 2;
            String sc = mixed ? "" : "2 × ";
            double perLayer = scale * s * b * h * (34 + 5 * heads * s / h);
            String sbh = Fmt.num(s) + " × " + Fmt.num(b) + " × " + Fmt.num(h);
            add(out, "activations.perLayer", "activations per device", "per layer", perLayer, "B",
                    sc + "s·b·h·(34 + 5·a·s/h) = " + sc + sbh + " × (34 + 5 × " + Fmt.num(heads) + " × " + Fmt.num(s)
                            + " / " + Fmt.num(h) + ") = " + Fmt.res(perLayer) + " B",
                    Fmt.bytes(perLayer), "Korthikanti et al. 2022 for 16-bit activations"
                            + (mixed ? "" : ", doubled for FP32") + "; no tensor parallelism; b = micro-batch");
            double all = perLayer * a.layers();
            add(out, "activations.total", "activations per device", "all layers, stored", all, "B",
                    "L × per layer = " + a.layers() + " × " + Fmt.res(perLayer) + " = " + Fmt.res(all) + " B",
                    Fmt.bytes(all), (in.recompute() ? "without recomputation (not this plan)"
                            : "this plan (no recomputation)") + "; embeddings, final LayerNorm and logits not counted");
            double rec = scale * 2 * s * b * h * a.layers();
            add(out, "activations.recompute", "activations per device", "all layers, recomputed", rec, "B",
                    sc + "2·s·b·h·L = " + sc + "2 × " + sbh + " × " + a.layers() + " = " + Fmt.res(rec) + " B",
                    Fmt.bytes(rec), (in.recompute() ? "this plan: " : "with --recompute: ")
                            + "only each layer's input kept; + one layer's activations while it is recomputed");
        }

        // ---------------------------------------------------------------- inference
        String[] names = {"FP32", "BF16/FP16", "INT8", "INT4"};
        double[] bytesPer = {4, 2, 1, 0.5};
        String[] keys = {"inference.fp32", "inference.bf16", "inference.int8", "inference.int4"};
        for (int i = 0; i < names.length; i++) {
            double v = bytesPer[i] * p;
            add(out, keys[i], "inference weights", names[i], v, "B",
                    Fmt.num(bytesPer[i]) + "·P = " + Fmt.num(bytesPer[i]) + " × " + pName + " = " + Fmt.res(v) + " B",
                    Fmt.bytes(v), i == 0 ? "weights only; the KV cache and activations come on top" : "");
        }

        // ---------------------------------------------------------------- data
        double opt = CHINCHILLA_TOKENS_PER_PARAM * p;
        add(out, "data.computeOptimal", "data", "compute-optimal tokens", opt, "tokens",
                "20·P = 20 × " + pName + " = " + Fmt.res(opt), Fmt.res(opt), "Hoffmann et al. 2022 (Chinchilla)");
        double tpp = d / p;
        add(out, "data.tokensPerParam", "data", "tokens per parameter", tpp, "",
                "D / P = " + dName + " / " + pName + " = " + Fmt.res(tpp), Fmt.res(tpp),
                tpp < 20 ? "fewer than the compute-optimal 20" : tpp > 20 ? "more than 20: over-trained for its size,"
                        + " cheaper to serve" : "compute-optimal");
        double bpt = in.bytesPerToken();
        double text = d * bpt;
        add(out, "data.textBytes", "data", "text storage", text, "B",
                "D × bytes/token = " + dName + " × " + Fmt.num(bpt) + " = " + Fmt.res(text) + " B", Fmt.bytes(text),
                Double.isNaN(bpt) ? "pass bytes per token measured on real text (BytesPerToken.measure)"
                        : "raw UTF-8 text; bytes/token measured with the tokenizer");
        if (a != null) {
            int idBytes = a.vocab() <= 65536 ? 2 : 4;
            double ids = d * idBytes;
            add(out, "data.tokenIds", "data", "token-id storage", ids, "B",
                    "D × " + idBytes + " = " + dName + " × " + idBytes + " = " + Fmt.res(ids) + " B", Fmt.bytes(ids),
                    (idBytes == 2 ? "uint16 ids (V ≤ 65,536)" : "uint32 ids (V > 65,536)"));
        }
        return new PlanReport(out);
    }

    /** "; fits in the 80.0 GB of a100" or "; exceeds ..." or "" when the device memory is unknown. */
    private static String fits(double bytes, double mem) {
        if (Double.isNaN(mem)) {
            return "";
        }
        return (bytes <= mem ? "; fits in " : "; exceeds ") + Fmt.bytes(mem) + " device memory";
    }

    private static void add(List<Line> out, String key, String section, String label, double value, String unit,
            String formula, String display, String note) {
        out.add(new Line(key, section, label, value, unit, formula, display, note));
    }
}
