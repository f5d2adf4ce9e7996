package dev.sixpd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sixpd.bench.Roofline.Ceiling;
import dev.sixpd.bench.Roofline.Result;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The JSON of the bench commands keeps the keys, in the order, that the hand-written JSON had before the commands
 * used Jackson (the key lists below were read off that version's output), and is valid JSON: non-finite numbers are
 * null, strings are escaped.
 */
class BenchJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<String> keys(JsonNode o) {
        List<String> k = new ArrayList<>();
        o.fieldNames().forEachRemaining(k::add);
        return k;
    }

    @Test
    void kernelReportKeys() throws Exception {
        Report r = new Report(List.of(new Result("gemm", 1, 1e9, 1e8, 50, 1.5), new Result("toBf16", 1, 0, 6e6, 1000)),
                List.of(new Ceiling(1, 100, Double.NaN, 20)));
        JsonNode js = JSON.readTree(r.json());
        assertEquals(List.of("ceilings", "results"), keys(js));
        JsonNode c = js.get("ceilings").get(0);
        assertEquals(List.of("threads", "peak_gflops", "nominal_gflops", "bandwidth_gbs", "ridge_flop_per_byte"),
                keys(c));
        assertTrue(c.get("nominal_gflops").isNull(), "an unknown nominal peak is null: " + c);
        assertEquals(List.of("name", "threads", "flops_per_op", "bytes_per_op", "ops_per_s", "ops_per_s_error",
                "gflops", "gbs", "intensity", "pct_measured_peak", "pct_nominal_peak", "bound", "pct_of_bound"),
                keys(js.get("results").get(0)));
    }

    @Test
    void stepKeysWithAndWithoutThePeer() throws Exception {
        TorchPeer.Result torch = new TorchPeer.Result("medium", 1, 8, 256, 10_770_816, 2000, 1024, "1.13.0");
        StepRow with = new StepRow("medium", 1, 8, 256, 10_770_816, 10, 1600, 1500, 1700, 140_000_000_000L,
                170_000_000L, 100, 78.25, torch, null, torch);
        String note = "PyTorch peer skipped: \"/usr/bin/python3\" \\ failed\nsecond line";
        StepRow without = new StepRow("small", 2, 16, 128, 1, 10, 100, 90, 110, 1_000_000_000L, 0, 150, Double.NaN,
                null, note, null);
        JsonNode js = JSON.readTree(StepCommand.json(List.of(with, without), dev.sixpd.tensor.Peak.nominal()));
        assertEquals(List.of("benchmark", "nominal", "rows"), keys(js));
        List<String> common = List.of("preset", "threads", "batch", "context", "params", "steps", "step_ms",
                "step_ms_min", "step_ms_max", "tokens_per_s", "model_flops_per_step", "optimizer_flops_per_step",
                "gflops", "peak_gflops", "nominal_gflops", "mfu", "mfu_nominal");
        List<String> peer = new ArrayList<>(common);
        peer.addAll(List.of("torch_tokens_per_s", "torch_step_ms", "torch_version", "torch_blas", "ratio_vs_torch", "torch_mfu",
                "torch_bf16_autocast_tokens_per_s", "torch_bf16_autocast_step_ms"));
        assertEquals(peer, keys(js.get("rows").get(0)));
        List<String> noPeer = new ArrayList<>(common);
        noPeer.addAll(List.of("torch_tokens_per_s", "torch_note"));
        JsonNode row = js.get("rows").get(1);
        assertEquals(noPeer, keys(row));
        assertEquals(note, row.get("torch_note").textValue()); // quotes, backslash and newline survive
        assertEquals(140_000_000_000L, js.get("rows").get(0).get("model_flops_per_step").longValue());
    }

    /** Runs a bench subcommand and returns its standard output. */
    private static String run(Object command, String... args) {
        PrintStream out = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            assertEquals(0, new CommandLine(command).execute(args));
        } finally {
            System.setOut(out);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void gemmKeys() throws Exception {
        // a tiny GEMM once: only the output's shape is checked, not its speed
        JsonNode plain = JSON.readTree(run(new GemmCommand(), "--m", "8", "--n", "12", "--k", "4", "--ta", "--json",
                "--reps", "1", "--millis", "1", "--no-openblas", "--baselines", "none"));
        assertEquals(List.of("benchmark", "shape", "size", "m", "n", "k", "trans_a", "trans_b", "threads", "beta",
                "cold_c", "gflops", "gflops_min", "gflops_max", "openblas_gflops", "naive_gflops", "blocked_gflops", "reps",
                "millis_per_rep", "lanes"), keys(plain));
        assertTrue(plain.get("size").isNull() && plain.get("openblas_gflops").isNull(), plain.toString());
        assertTrue(plain.get("trans_a").booleanValue() && plain.get("gflops").doubleValue() > 0, plain.toString());
        assertTrue(!plain.get("cold_c").booleanValue(), plain.toString());
        JsonNode cold = JSON.readTree(run(new GemmCommand(), "--m", "8", "--n", "12", "--k", "4", "--cold-c", "--json",
                "--reps", "1", "--millis", "1", "--no-openblas", "--baselines", "none"));
        assertTrue(cold.get("cold_c").booleanValue() && cold.get("gflops").doubleValue() > 0, cold.toString());
        JsonNode base = JSON.readTree(run(new GemmCommand(), "--size", "8", "--json", "--reps", "1", "--millis", "1",
                "--no-openblas", "--baselines", "naive,blocked"));
        assertEquals(8, base.get("size").intValue());
        List<String> k = keys(base);
        assertEquals(List.of("naive_gflops", "speedup_vs_naive", "blocked_gflops", "speedup_vs_blocked"),
                k.subList(k.indexOf("naive_gflops"), k.indexOf("reps")));
    }

    @Test
    void peakKeys() throws Exception {
        // one short measurement: only the output's shape is checked, not its speed
        JsonNode js = JSON.readTree(run(new PeakCommand(), "--threads", "1", "--reps", "1", "--millis", "5",
                "--ghz", "3.0", "--json"));
        assertEquals(List.of("cpu", "isa", "ghz", "flops_per_cycle", "lanes", "results"), keys(js));
        assertEquals(3.0, js.get("ghz").doubleValue(), 0.0);
        JsonNode r = js.get("results").get(0);
        assertEquals(List.of("threads", "gflops", "gflops_min", "gflops_max", "nominal_gflops"), keys(r));
        assertEquals(3.0 * js.get("flops_per_cycle").intValue(), r.get("nominal_gflops").doubleValue(), 1e-9);
        assertTrue(r.get("gflops_min").doubleValue() > 0, r.toString());
    }
}
