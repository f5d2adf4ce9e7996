package dev.sixpd.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sixpd.tensor.Vectors;
import dev.sixpd.nn.Limits;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./sixpd bench gemm}: sixpd's GEMM against OpenBLAS's sgemm, same shape, same run. */
@Command(name = "gemm", mixinStandardHelpOptions = true,
        description = {"sixpd's GEMM vs OpenBLAS sgemm, GFLOP/s, same run.",
            "Times C = op(A)·op(B) (+ beta·C) with sixpd's Gemm and, when installed, OpenBLAS's cblas_sgemm,",
            "interleaved in one process; prints the median GFLOP/s (2·M·N·K FLOPs per call).",
            "Examples:",
            "  ./sixpd bench gemm --size 1024 --threads 1 --json",
            "  ./sixpd bench gemm --m 2048 --n 1152 --k 384 --tb",
            "  ./sixpd bench gemm --model --threads 2      (every Linear shape of the default model)",
            "  ./sixpd bench gemm --model --cold-c         (C from memory, as in a training step)",
            "Baselines in the same run (one thread, plain Java, what the Vector API buys): naive = the textbook",
            "triple loop (seconds per call at n=1024), blocked = cache-blocked scalar loop; --baselines none skips."})
final class GemmCommand implements Callable<Integer> {
    @Option(names = "--size", defaultValue = "1024", description = "square size n (M = N = K = n), default 1024")
    int size;

    @Option(names = "--m", description = "rows of C (overrides --size)")
    Integer m;

    @Option(names = "--n", description = "columns of C (overrides --size)")
    Integer n;

    @Option(names = "--k", description = "the reduced dimension (overrides --size)")
    Integer k;

    @Option(names = "--ta", description = "A is stored transposed, [K,M]")
    boolean ta;

    @Option(names = "--tb", description = "B is stored transposed, [N,K]")
    boolean tb;

    @Option(names = "--shape", description = "a default-model shape by name, e.g. qkv.fwd, fc.dx, mlp_proj.dw")
    String shape;

    @Option(names = "--model", description = "measure every Linear shape of the default model (fwd, dx, dw)")
    boolean model;

    @Option(names = "--threads", defaultValue = "1", description = "threads for both sixpd and OpenBLAS (default 1)")
    int threads;

    @Option(names = "--beta", defaultValue = "0", description = "beta (0 overwrites C; 1 accumulates), default 0")
    float beta;

    @Option(names = "--reps", defaultValue = "7", description = "timed repetitions; the median is reported (default 7)")
    int reps;

    @Option(names = "--millis", defaultValue = "300", description = "ms per timed block (default 300)")
    long millis;

    @Option(names = "--cold-c", description = "write a different copy of C each call (1 GiB of them per side), so C "
            + "comes from memory as in a training step; default: one C, which stays in cache")
    boolean coldC;

    @Option(names = "--no-openblas", description = "skip the OpenBLAS baseline")
    boolean noOpenblas;

    @Option(names = "--baselines", split = ",", paramLabel = "naive|blocked|none",
            description = "plain-Java baselines to time, single-threaded (default naive,blocked; none with --model, "
                    + "where the naive loop takes minutes per shape)")
    List<String> baselines;

    @Option(names = "--json", description = "print one JSON object per shape")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Limits.atLeast("--reps", reps, 1);
        Limits.atLeast("--millis", millis, 1);
        Limits.atLeast("--threads", threads, 1);
        List<GemmShapes.Shape> shapes = new ArrayList<>();
        if (model) {
            shapes.addAll(GemmShapes.model());
        } else if (shape != null) {
            shapes.add(GemmShapes.byName(shape));
        } else {
            int mm = m != null ? m : size, nn = n != null ? n : size, kk = k != null ? k : size;
            String name = (m == null && n == null && k == null) ? "square" + size : "custom";
            shapes.add(new GemmShapes.Shape(name, mm, nn, kk, ta, tb));
        }
        shapes.forEach(sh -> Limits.checkGemm(sh.m(), sh.n(), sh.k()));
        boolean naive = false;
        boolean blocked = false;
        if (baselines == null) {
            baselines = model ? List.of("none") : List.of("naive", "blocked");
        }
        for (String bl : baselines) {
            switch (bl.trim()) {
                case "naive" -> naive = true;
                case "blocked" -> blocked = true;
                case "none" -> {
                }
                default -> throw new IllegalArgumentException("unknown baseline '" + bl
                        + "': use naive, blocked, both (naive,blocked) or none");
            }
        }
        Optional<OpenBlas> blas = noOpenblas ? Optional.empty() : OpenBlas.load();
        if (!noOpenblas && blas.isEmpty()) {
            System.err.println("sixpd bench gemm: " + OpenBlas.MISSING);
        }
        if (!json) {
            System.out.printf(Locale.ROOT, "sixpd Gemm (Vector API, %d lanes) vs %s; %d threads; median of %d x %d ms"
                    + "%s%n", Vectors.LANES, blas.map(b -> "OpenBLAS " + b.config()).orElse("no OpenBLAS"), threads,
                    reps, millis, coldC ? "; cold C (a different copy each call)" : "");
            System.out.printf(Locale.ROOT, "%-16s %5s %5s %5s %3s  %8s %8s  %6s  %8s %8s  %8s%n", "shape", "M", "N",
                    "K", "op", "sixpd", "OpenBLAS", "ratio", "naive", "blocked", "×blocked");
        }
        for (GemmShapes.Shape s : shapes) {
            GemmMeasure.Result r = GemmMeasure.run(s, threads, beta, reps, millis, blas, coldC);
            if (naive || blocked) {
                double[][] bl = GemmMeasure.baselines(s, naive, blocked, millis);
                r = r.withBaselines(bl[0], bl[1]);
            }
            if (json) {
                System.out.println(toJson(r));
            } else {
                String op = (s.transA() ? "T" : "N") + (s.transB() ? "T" : "N");
                double theirs = r.openblas() == null ? Double.NaN : r.openblas()[0];
                double nv = r.naive() == null ? Double.NaN : r.naive()[0];
                double bk = r.blocked() == null ? Double.NaN : r.blocked()[0];
                System.out.printf(Locale.ROOT, "%-16s %5d %5d %5d %3s  %8.1f %8s  %6s  %8s %8s  %8s   GFLOP/s (sixpd"
                                + " %.1f-%.1f%s)%n", s.name(), s.m(), s.n(), s.k(), op, r.sixpd()[0],
                        cell(theirs, "%.1f"), cell(r.sixpd()[0] / theirs, "%.2f"), cell(nv, "%.2f"), cell(bk, "%.2f"),
                        cell(r.sixpd()[0] / bk, "%.1f×"), r.sixpd()[1], r.sixpd()[2], r.openblas() == null ? ""
                                : String.format(Locale.ROOT, ", OpenBLAS %.1f-%.1f", r.openblas()[1],
                                        r.openblas()[2]));
            }
        }
        return 0;
    }

    private String toJson(GemmMeasure.Result r) {
        GemmShapes.Shape s = r.shape();
        ObjectNode o = JsonNodeFactory.instance.objectNode().put("benchmark", "gemm").put("shape", s.name())
                .put("size", s.m() == s.n() && s.n() == s.k() ? Integer.valueOf(s.m()) : null)
                .put("m", s.m()).put("n", s.n()).put("k", s.k())
                .put("trans_a", s.transA()).put("trans_b", s.transB())
                .put("threads", r.threads()).put("beta", Report.jsonNumber(beta)).put("cold_c", coldC)
                .put("gflops", Report.jsonNumber(r.sixpd()[0]))
                .put("gflops_min", Report.jsonNumber(r.sixpd()[1]))
                .put("gflops_max", Report.jsonNumber(r.sixpd()[2]));
        if (r.openblas() != null) {
            o.put("openblas_gflops", Report.jsonNumber(r.openblas()[0]))
                    .put("openblas_gflops_min", Report.jsonNumber(r.openblas()[1]))
                    .put("openblas_gflops_max", Report.jsonNumber(r.openblas()[2]))
                    .put("ratio_vs_openblas", Report.jsonNumber(r.sixpd()[0] / r.openblas()[0]))
                    .put("openblas_config", r.openblasConfig());
        } else {
            o.putNull("openblas_gflops");
        }
        putBaseline(o, "naive", r.naive(), r.sixpd()[0]);
        putBaseline(o, "blocked", r.blocked(), r.sixpd()[0]);
        o.put("reps", reps).put("millis_per_rep", millis).put("lanes", Vectors.LANES);
        return o.toString();
    }

    /** {@code x} formatted, or "–" when it was not measured (NaN). */
    private static String cell(double x, String format) {
        return Double.isFinite(x) ? String.format(Locale.ROOT, format, x) : "–";
    }

    /** {@code "<name>_gflops": median, "speedup_vs_<name>": sixpd ÷ it} (single-threaded baseline), or null. */
    private static void putBaseline(ObjectNode o, String name, double[] g, double sixpd) {
        if (g == null) {
            o.putNull(name + "_gflops");
            return;
        }
        o.put(name + "_gflops", Report.jsonNumber(g[0])).put("speedup_vs_" + name, Report.jsonNumber(sixpd / g[0]));
    }
}
