package dev.sixpd.nn.plan;

import dev.sixpd.tensor.Peak;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One device the planner can run on: dense peaks (no 2:4 sparsity), rated power, memory, and an illustrative rental
 * price. All rates are per device.
 *
 * @param name the catalog name, e.g. {@code a100}
 * @param description e.g. "NVIDIA A100 80GB SXM"
 * @param halfFlops dense 16-bit tensor peak in FLOP/s (BF16 with FP32 accumulate; FP16 on V100, which has no BF16)
 * @param halfName which 16-bit format {@code halfFlops} is for ("BF16" or "FP16")
 * @param fp32Flops FP32 peak without tensor cores (no TF32), FLOP/s
 * @param watts rated board power (TDP/TGP) in W; NaN if unknown
 * @param memoryBytes device memory in bytes (decimal: 80 GB = 8e10)
 * @param pricePerHour default price per device-hour in USD; NaN if none (then pass a price)
 * @param source where the numbers come from
 */
public record Hardware(String name, String description, double halfFlops, String halfName, double fp32Flops,
        double watts, double memoryBytes, double pricePerHour, String source) {

    /** The name of the entry measured on this machine by {@link Peak}. */
    public static final String THIS_CPU = "this-cpu";

    // Peaks are NVIDIA's dense figures (sparsity doubles them on paper; training does not use it).
    // Sources, checked 2026 with public pages:
    //  A100 80GB SXM: 312 BF16, 19.5 FP32, 400 W, 80 GB -- NVIDIA A100 datasheet
    //    (nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf, tabulated at glennklockwood.com/garden/processors/A100).
    //  A100 80GB PCIe: same compute, 300 W; A100 40GB SXM: same compute, 400 W, 40 GB -- same datasheet.
    //  H100 PCIe: 1,513 BF16 with sparsity = 756 dense, 51 FP32, 300-350 W, 80 GB HBM2e -- NVIDIA H100 datasheet
    //    (tabulated at archive-lib.hpctech.co.jp/gpuproduct/nvidia-h100.html; NVIDIA product brief PB-11133: 350 W).
    //  A800 80GB: the A100 die with NVLink cut to 400 GB/s; same compute (311.87 BF16 tensor, 19.49 FP32 per
    //    hmc-tech.com/gpu/nvidia-a800-vs-nvidia-t40); the SXM part is rated like the A100 SXM at 400 W.
    //  A10: 31.2 FP32 (sysrqmts.com lists 31.24), 24 GB GDDR6, 150 W; 125 BF16 tensor from NVIDIA's A10 datasheet
    //    (not re-checked with a second source).
    //  H100 SXM5: 989.4 BF16 dense, 66.9 FP32, 700 W, 80 GB -- glennklockwood.com/garden/processors/h100
    //    (528 tensor cores × 1024 FLOP/clock × 1.83 GHz = 989.4 TFLOP/s).
    //  H200 SXM: same GH100 compute (989 BF16 dense, 67 FP32), 700 W, 141 GB HBM3e --
    //    itkb.uw.cz "NVIDIA H200 vs B300" (dense figures), lzwjava.github.io nvidia-h200-gpu-specs.
    //  V100 SXM2 32GB: 125 FP16 tensor TFLOP/s (developer.nvidia.com "Programming Tensor Cores in CUDA 9"),
    //    15.7 FP32 = 5120 cores × 2 × 1.53 GHz boost, 300 W.
    //  RTX 4090: 165.2 BF16 tensor with FP32 accumulate (waredb.com lists 165.15), 82.6 FP32, 450 W, 24 GB
    //    (Tom's Hardware spec table via holynerdvana.blogspot.com).
    // Prices: illustrative on-demand rental USD per device-hour, not quotes. A100 80GB $1.50-3.00 and H200
    //    $2.50-7.00 (mercatus-ai.com/blog/cloud-gpu-pricing, May 2026), H100 SXM $2.49-3.99
    //    (pricegpu.pages.dev, early 2026); A800, A10, V100 and RTX 4090 prices are guesses. Pass your own.
    private static final List<Hardware> CATALOG = List.of(
            new Hardware("a100", "NVIDIA A100 80GB SXM", 312e12, "BF16", 19.5e12, 400, 80e9, 2.00,
                    "NVIDIA A100 datasheet, dense"),
            new Hardware("a100-pcie", "NVIDIA A100 80GB PCIe", 312e12, "BF16", 19.5e12, 300, 80e9, 2.00,
                    "NVIDIA A100 datasheet, dense; price as the SXM part"),
            new Hardware("a100-40gb", "NVIDIA A100 40GB SXM", 312e12, "BF16", 19.5e12, 400, 40e9, 1.50,
                    "NVIDIA A100 datasheet, dense; price a guess"),
            new Hardware("a800", "NVIDIA A800 80GB SXM (A100 compute, 400 GB/s NVLink)", 312e12, "BF16", 19.5e12,
                    400, 80e9, 2.00, "same die as A100, dense; price a guess"),
            new Hardware("a10", "NVIDIA A10 24GB", 125e12, "BF16", 31.2e12, 150, 24e9, 0.75,
                    "NVIDIA A10 datasheet, dense; price a guess"),
            new Hardware("h100", "NVIDIA H100 80GB SXM5", 989e12, "BF16", 67e12, 700, 80e9, 3.00,
                    "NVIDIA H100 datasheet, dense"),
            new Hardware("h100-pcie", "NVIDIA H100 80GB PCIe", 756e12, "BF16", 51e12, 350, 80e9, 2.50,
                    "NVIDIA H100 datasheet (1,513 with sparsity), dense; price a guess"),
            new Hardware("h200", "NVIDIA H200 141GB SXM", 989e12, "BF16", 67e12, 700, 141e9, 4.00,
                    "NVIDIA H200 datasheet, dense"),
            new Hardware("v100", "NVIDIA V100 32GB SXM2", 125e12, "FP16", 15.7e12, 300, 32e9, 0.80,
                    "NVIDIA V100 datasheet; no BF16: FP16 tensor peak; price a guess"),
            new Hardware("rtx4090", "NVIDIA GeForce RTX 4090 24GB", 165.2e12, "BF16", 82.6e12, 450, 24e9, 0.60,
                    "Ada whitepaper: BF16 with FP32 accumulate, dense; price a guess"));

    /** The catalog, in display order (without {@code this-cpu}, which is measured on demand). */
    public static List<Hardware> catalog() {
        return CATALOG;
    }

    /** All names {@link #lookup} accepts as primary names, {@code this-cpu} last. */
    public static List<String> names() {
        List<String> n = new ArrayList<>();
        for (Hardware h : CATALOG) {
            n.add(h.name);
        }
        n.add(THIS_CPU);
        return n;
    }

    /**
     * A catalog entry by the names people write, case-insensitive, ignoring spaces, dashes, underscores and the
     * words NVIDIA, GeForce and Tesla: {@code a100}, {@code A100 80GB}, {@code a100-80gb-sxm}, {@code A100 80GB PCIe}
     * ({@code a100-pcie}), {@code A100 40GB} ({@code a100-40gb}), {@code H100 SXM5}, {@code H100 PCIe},
     * {@code RTX 4090} or {@code 4090}, {@code Tesla V100 32GB SXM2}. A memory size or form factor that the catalog
     * does not have for that chip (e.g. {@code V100 16GB}) is refused with the variants it has.
     * {@code this-cpu} is not resolved here (it needs a measurement): see {@link #thisCpu(double)}.
     *
     * @throws IllegalArgumentException for an unknown name, listing the known ones
     */
    public static Hardware lookup(String name) {
        String key = name == null ? "" : name.toLowerCase(Locale.ROOT).replaceAll("[\\s_\\-]", "");
        if (key.equals("thiscpu") || key.equals("cpu")) {
            throw new IllegalArgumentException("'" + name + "' must be measured: use Hardware.thisCpu(seconds)");
        }
        key = key.replaceFirst("^nvidia", "").replaceFirst("^(geforce|tesla)", "");
        for (Hardware h : CATALOG) {
            if (h.name.replace("-", "").equals(key)) {
                return h;
            }
        }
        // chip, then memory and form factor in either order: a100 80gb pcie, h100 sxm5, rtx4090 24gb
        Matcher m = SPELLING.matcher(key);
        if (m.matches()) {
            String chip = m.group(1).equals("4090") ? "rtx4090" : m.group(1);
            String mem = m.group(2) != null ? m.group(2) : m.group(4);
            boolean pcie = m.group(3) != null && m.group(3).startsWith("pcie");
            List<String> variants = new ArrayList<>();
            for (Hardware h : CATALOG) {
                if (!h.name.split("-")[0].equals(chip)) {
                    continue;
                }
                variants.add(h.description);
                boolean memOk = mem == null || Math.round(h.memoryBytes / 1e9) == Long.parseLong(mem);
                // the A10 and the RTX 4090 are PCIe cards only: "pcie" names them too
                boolean formOk = h.description.contains("PCIe") == pcie || chip.equals("rtx4090") || chip.equals("a10");
                if (memOk && formOk) {
                    return h;
                }
            }
            if (!variants.isEmpty()) {
                throw new IllegalArgumentException("'" + name + "': the catalog has no such " + chip + "; it has "
                        + String.join(", ", variants) + " (or give --peak and --memory instead)");
            }
        }
        throw new IllegalArgumentException("unknown hardware '" + name + "'; known: " + String.join(", ", names())
                + " (or give a peak FLOP/s per device instead)");
    }

    /** A chip name with an optional memory size (in GB) and form factor, in either order, spaces removed. */
    private static final Pattern SPELLING =
            Pattern.compile("^(a100|a800|a10|h100|h200|v100|rtx4090|4090)(?:(\\d+)gb)?(pcie(?:gen\\d)?|sxm\\d?)?"
                    + "(?:(\\d+)gb)?$");

    /**
     * This machine, measured: FP32 peak = the best all-threads FMA rate of {@link Peak#measureFma} in about
     * {@code seconds}; the 16-bit peak equals it (sixpd emulates BF16 storage and computes in FP32); memory from
     * {@code /proc/meminfo} (else the JVM's max heap); power and price unknown (NaN: pass them).
     */
    public static Hardware thisCpu(double seconds) {
        int threads = Runtime.getRuntime().availableProcessors();
        double flops = Peak.measureGflops(threads, seconds) * 1e9;
        return thisCpu(flops, threads);
    }

    /** This machine with a given FP32 peak in FLOP/s (e.g. measured earlier). */
    public static Hardware thisCpu(double fp32Flops, int threads) {
        Peak.Nominal n = Peak.nominal();
        String desc = "this machine: " + threads + " thread" + (threads == 1 ? "" : "s") + ", measured FP32 FMA peak"
                + " (nominal " + Fmt.res(n.gflops()) + " GFLOP/s: " + n.formula() + ")";
        return new Hardware(THIS_CPU, desc, fp32Flops, "BF16 (emulated, FP32 compute)", fp32Flops, Double.NaN,
                memTotalBytes(), Double.NaN, "measured by dev.sixpd.tensor.Peak");
    }

    private static double memTotalBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    String[] p = line.trim().split("\\s+");
                    return Double.parseDouble(p[1]) * 1024; // kB in /proc/meminfo are KiB
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return Runtime.getRuntime().maxMemory();
    }

    /** The peak for a precision: the 16-bit tensor peak for {@code BF16}, the FP32 peak for {@code FP32}. */
    public double peak(PlanInput.Precision p) {
        return p == PlanInput.Precision.FP32 ? fp32Flops : halfFlops;
    }
}
