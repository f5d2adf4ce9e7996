package dev.sixpd.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sixpd.bench.Roofline.Bound;
import dev.sixpd.bench.Roofline.Ceiling;
import dev.sixpd.bench.Roofline.Point;
import dev.sixpd.bench.Roofline.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The roofline arithmetic on hand-computed numbers, the table's contents, and that the PNG gets written. */
class ReportTest {
    /** 1 thread: measured 100 GFLOP/s, nominal 125, 20 GB/s, so the ridge is at 5 FLOP/byte. */
    private static final Ceiling ONE = new Ceiling(1, 100, 125, 20);
    /** 2 threads: 200 GFLOP/s, nominal 250, 25 GB/s, ridge 8. */
    private static final Ceiling TWO = new Ceiling(2, 200, 250, 25);

    @Test
    void ridgeAndRoof() {
        assertEquals(5.0, ONE.ridge(), 1e-12);
        assertEquals(8.0, TWO.ridge(), 1e-12);
        assertEquals(20.0, ONE.roof(1), 1e-12); // memory side: 1 FLOP/B × 20 GB/s
        assertEquals(100.0, ONE.roof(50), 1e-12); // compute side: the peak
        assertEquals(Bound.COMPUTE, ONE.bound(5)); // the ridge itself counts as compute-bound
        assertEquals(Bound.MEMORY, ONE.bound(4.999));
    }

    @Test
    void computeBoundKernel() {
        // 1 GFLOP and 0.1 GB per call (10 FLOP/B > ridge 5), 50 calls/s: 50 GFLOP/s, 5 GB/s
        Result r = new Result("gemm", 1, 1e9, 1e8, 50);
        assertEquals(50.0, r.gflops(), 1e-9);
        assertEquals(5.0, r.gbs(), 1e-9);
        assertEquals(10.0, r.intensity(), 1e-12);
        Point p = Roofline.place(r, ONE);
        assertEquals(Bound.COMPUTE, p.bound());
        assertEquals(50.0, p.pctMeasuredPeak(), 1e-9);
        assertEquals(40.0, p.pctNominalPeak(), 1e-9);
        assertEquals(50.0, p.pctOfBound(), 1e-9); // of the peak
    }

    @Test
    void memoryBoundKernel() {
        // 0.1 GFLOP and 1 GB per call (0.1 FLOP/B < ridge 5), 12 calls/s: 1.2 GFLOP/s, 12 GB/s of 20
        Result r = new Result("gelu", 1, 1e8, 1e9, 12, 0.5);
        Point p = Roofline.place(r, ONE);
        assertEquals(Bound.MEMORY, p.bound());
        assertEquals(1.2, p.pctMeasuredPeak(), 1e-9);
        assertEquals(0.96, p.pctNominalPeak(), 1e-9);
        assertEquals(60.0, p.pctOfBound(), 1e-9); // of the bandwidth
        // same kernel on 2 threads: the 2-thread ridge is 8, bandwidth 25
        Point p2 = Roofline.place(new Result("gelu", 2, 1e8, 1e9, 20), TWO);
        assertEquals(Bound.MEMORY, p2.bound());
        assertEquals(80.0, p2.pctOfBound(), 1e-9);
        assertEquals(1.0, p2.pctMeasuredPeak(), 1e-9);
    }

    @Test
    void kernelWithoutFlopsIsMemoryBound() {
        Result r = new Result("toBf16", 1, 0, 6e6, 1000); // 6 GB/s
        assertEquals(0.0, r.intensity());
        Point p = Roofline.place(r, ONE);
        assertEquals(Bound.MEMORY, p.bound());
        assertEquals(30.0, p.pctOfBound(), 1e-9);
        assertEquals(0.0, p.pctMeasuredPeak());
    }

    @Test
    void sameIntensityCanChangeBoundWithTheThreadCount() {
        // 6 FLOP/B: above the 1-thread ridge (5), below the 2-thread ridge (8)
        assertEquals(Bound.COMPUTE, Roofline.place(new Result("k", 1, 6e9, 1e9, 1), ONE).bound());
        assertEquals(Bound.MEMORY, Roofline.place(new Result("k", 2, 6e9, 1e9, 1), TWO).bound());
    }

    @Test
    void ceilingForPicksTheThreadCount() {
        List<Ceiling> cs = List.of(TWO, ONE);
        assertEquals(ONE, Roofline.ceilingFor(1, cs));
        assertEquals(TWO, Roofline.ceilingFor(2, cs));
        assertEquals(TWO, Roofline.ceilingFor(4, cs)); // nearest below
        assertEquals(TWO, Roofline.ceilingFor(1, List.of(TWO))); // none below: the smallest
        assertThrows(IllegalArgumentException.class, () -> Roofline.ceilingFor(1, List.of()));
    }

    @Test
    void badInputsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new Result("x", 0, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new Result("x", 1, -1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new Result("x", 1, 1, 1, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new Ceiling(1, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new Ceiling(1, 1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new Report(List.of(), List.of()));
    }

    private static Report sample() {
        return new Report(List.of(new Result("gemm", 1, 1e9, 1e8, 50, 1.5), new Result("gelu", 1, 1e8, 1e9, 12),
                new Result("gelu", 2, 1e8, 1e9, 30), new Result("toBf16", 1, 0, 6e6, 1000)), List.of(ONE, TWO));
    }

    @Test
    void markdownTable() {
        String md = sample().markdown();
        assertTrue(md.contains("| kernel | threads |"), md);
        assertTrue(md.contains("| gemm | 1 | 50.00 ± 1.500 | 50.00 | 5.000 | 10.00 | 50% | 40% | compute | 50% |"), md);
        assertTrue(md.contains("| gelu | 1 | 12.00 | 1.200 | 12.00 | 0.100 | 1.2% | 1.0% | memory | 60% |"), md);
        // 30 GB/s on 2 threads is above the 25 GB/s streaming bandwidth: flagged
        assertTrue(md.contains("| gelu | 2 | 30.00 | 3.000 | 30.00 | 0.100 | 1.5% | 1.2% | memory* | 120% |"), md);
        assertTrue(md.contains("above the DRAM bandwidth"), md);
        assertTrue(md.contains("| toBf16 | 1 | 1000 | – | 6.000 | 0 | – | – | memory | 30% |"), md);
        assertTrue(md.contains("ridge 5.000 FLOP/B"), md);
    }

    @Test
    void json() throws Exception {
        JsonNode js = new ObjectMapper().readTree(sample().json());
        assertEquals(1, js.get("ceilings").get(0).get("threads").intValue());
        assertEquals(5.0, js.get("ceilings").get(0).get("ridge_flop_per_byte").doubleValue(), 1e-12);
        JsonNode gemm = js.get("results").get(0);
        assertEquals("gemm", gemm.get("name").textValue());
        assertEquals(1, gemm.get("threads").intValue());
        assertEquals("compute", gemm.get("bound").textValue());
        assertEquals(50.0, gemm.get("pct_of_bound").doubleValue(), 1e-9);
        assertEquals(1.5, gemm.get("ops_per_s_error").doubleValue(), 1e-12);
        JsonNode gelu = js.get("results").get(1);
        assertEquals("memory", gelu.get("bound").textValue());
        assertEquals(60.0, gelu.get("pct_of_bound").doubleValue(), 1e-9);
        assertTrue(gelu.get("ops_per_s_error").isNull(), "no error bar: null, not NaN: " + gelu);
    }

    @Test
    void chartIsWrittenAsPng(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("sub/roofline.png");
        sample().writeChart(png);
        byte[] head = Arrays.copyOf(Files.readAllBytes(png), 8);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, head);
        assertTrue(Files.size(png) > 1000, "a real image, not a stub: " + Files.size(png) + " bytes");
        // 2 roofs + 3 plotted kernels (the FLOP-less conversion has no place on log axes)
        assertEquals(5, sample().chart().getSeriesMap().size());
    }

    @Test
    void aKernelAboveTheMeasuredPeakIsFlagged() {
        // 2 threads: a GEMM at 300 GFLOP/s against a measured 200 (disturbed) peak
        Report r = new Report(List.of(new Result("gemm", 2, 1e9, 1e6, 300)), List.of(ONE, TWO));
        assertTrue(r.markdown().contains("above the measured FMA peak"), r.markdown());
        Report ok = new Report(List.of(new Result("gemm", 2, 1e9, 1e6, 150)), List.of(ONE, TWO));
        assertTrue(!ok.markdown().contains("above the measured FMA peak"));
    }
}
