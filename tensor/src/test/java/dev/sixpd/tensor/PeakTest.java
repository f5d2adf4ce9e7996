package dev.sixpd.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Correctness of the peak kernels and the nominal-peak arithmetic; no timing assertions. */
class PeakTest {
    @Test
    void startValuesAreDistinctPerChainAndLane() {
        float[] s = Peak.distinctStarts();
        assertEquals(Peak.CHAINS * Vectors.LANES, s.length);
        Set<Float> seen = new HashSet<>();
        for (float v : s) {
            assertTrue(seen.add(v), "duplicate start value " + v);
        }
    }

    @Test
    void fmaChainsMatchClosedFormSoTheKernelIsNoNoOp() {
        // x ← m1·c1 + x; x ← m2·c2 + x: with m1·c1 = 1 and m2·c2 = 2, x_n = x_0 + 3n (exact for these quarters)
        float[] start = Peak.distinctStarts();
        float[] out = new float[start.length];
        long pairs = 1001;
        Peak.fmaChains(start, 1f, 1f, 1f, 2f, pairs, out);
        for (int i = 0; i < start.length; i++) {
            assertEquals(start[i] + 3.0 * pairs, out[i], 0.0, "lane " + i);
        }
        // with 0.5·6 and 4·0.25 over 7 pairs: x_0 + 7·(3 + 1)
        Peak.fmaChains(start, 0.5f, 6f, 4f, 0.25f, 7, out);
        for (int i = 0; i < start.length; i++) {
            assertEquals(start[i] + 28.0, out[i], 0.0, "lane " + i);
        }
    }

    @Test
    void fmaChainsFuseTheMultiplyAndAdd() {
        // (1 + 2^-12)² = 1 + 2^-11 + 2^-24: a float multiply rounds the 2^-24 away (a tie to even), one fused
        // multiply-add keeps it, so x = -(1 + 2^-11) ends at 2^-24 only if the kernel really fuses
        float m = 1f + 0x1p-12f;
        float[] start = new float[Peak.fmaStateLength()];
        Arrays.fill(start, -(1f + 0x1p-11f));
        float[] out = new float[start.length];
        Peak.fmaChains(start, m, m, 0f, 0f, 1, out);
        assertEquals(0f, m * m + start[0], "the unfused sum, for contrast");
        for (int i = 0; i < start.length; i++) {
            assertEquals(0x1p-24f, out[i], 0f, "lane " + i);
        }
    }

    @Test
    void benchmarkConstantsAreAnExactInversePair() {
        // the benchmark's x -> x + 2·0.5 -> x + (-0.5)·2 returns every start value exactly, so values stay bounded
        float[] start = Peak.distinctStarts();
        float[] out = new float[start.length];
        Peak.fmaChains(start, 2f, 0.5f, -0.5f, 2f, 10_000, out);
        for (int i = 0; i < start.length; i++) {
            assertEquals(start[i], out[i], 0.0);
        }
        assertEquals(10_000L * Peak.CHAINS * 2 * Vectors.LANES * 2, Peak.fmaFlops(10_000));
    }

    @Test
    void fmaChainsRejectsShortArrays() {
        assertThrows(IllegalArgumentException.class, () -> Peak.fmaChains(new float[3], 1, 1, 1, 1, 1, new float[3]));
    }

    @Test
    void triadVectorAndScalarMatchDoubleReference() {
        Rng rng = new Rng(7);
        for (int n : new int[] {0, 1, 7, 31, 1000, 1003}) {
            float[] b = new float[n];
            float[] c = new float[n];
            for (int i = 0; i < n; i++) {
                b[i] = (float) rng.nextGaussian();
                c[i] = (float) rng.nextGaussian();
            }
            float s = 0.37f;
            float[] a1 = new float[n];
            float[] a2 = new float[n];
            // a sub-range too, to check offsets: [1, n-1)
            Peak.triad(a1, b, c, s, 0, n);
            Peak.triadScalar(a2, b, c, s, 0, n);
            for (int i = 0; i < n; i++) {
                double ref = b[i] + (double) s * c[i];
                // one rounding of the fused result: within half an ulp
                assertEquals(ref, a1[i], Math.ulp((float) ref), "vector n=" + n + " i=" + i);
                assertEquals(ref, a2[i], Math.ulp((float) ref), "scalar n=" + n + " i=" + i);
            }
            if (n > 2) {
                float[] a3 = new float[n];
                Peak.triad(a3, b, c, s, 1, n - 1);
                assertEquals(0f, a3[0]);
                assertEquals(0f, a3[n - 1]);
                assertEquals(a1[n / 2], a3[n / 2]);
            }
        }
    }

    @Test
    void flopsPerCycleTable() {
        String zen3 = "fpu sse sse2 avx fma avx2 bmi2";
        assertEquals(32, Peak.flopsPerCycle(zen3, "AuthenticAMD", 25));
        String zen4 = zen3 + " avx512f avx512bw avx512_bf16";
        assertEquals(32, Peak.flopsPerCycle(zen4, "AuthenticAMD", 25));
        assertEquals(64, Peak.flopsPerCycle(zen4, "AuthenticAMD", 26));
        assertEquals(64, Peak.flopsPerCycle(zen4, "GenuineIntel", 6));
        assertEquals(16, Peak.flopsPerCycle("fpu sse sse2 avx", "GenuineIntel", 6));
        assertEquals(8, Peak.flopsPerCycle("fpu sse sse2", "GenuineIntel", 6));
        assertEquals(16, Peak.flopsPerCycle("fp asimd evtstrm aes", "", -1));
        assertEquals(2, Peak.flopsPerCycle("fpu", "", -1));
    }

    private static final String CPUINFO = """
            processor\t: 0
            vendor_id\t: AuthenticAMD
            cpu family\t: 25
            model name\t: AMD EPYC 9R14
            cpu MHz\t\t: 2400.000
            physical id\t: 0
            core id\t\t: 0
            flags\t\t: fpu sse sse2 avx fma avx2 avx512f
            processor\t: 1
            vendor_id\t: AuthenticAMD
            cpu family\t: 25
            model name\t: AMD EPYC 9R14
            cpu MHz\t\t: 2600.000
            physical id\t: 0
            core id\t\t: 1
            flags\t\t: fpu sse sse2 avx fma avx2 avx512f
            processor\t: 2
            cpu MHz\t\t: 2500.000
            physical id\t: 0
            core id\t\t: 1
            flags\t\t: fpu sse sse2 avx fma avx2 avx512f
            """;

    @Test
    void nominalFromCpuinfoText() {
        Peak.Nominal n = Peak.nominal(CPUINFO, 64);
        // 2 distinct cores (processor 2 is an SMT sibling of core 1), the highest clock 2.6 GHz, Zen 4's AVX-512:
        // 2 pipes × 8 lanes × 2 = 32 FLOP/cycle
        assertEquals("AMD EPYC 9R14", n.model());
        assertEquals(2, n.cores());
        assertEquals(2.6, n.ghz(), 1e-12);
        assertEquals(2, n.pipes());
        assertEquals(8, n.lanes());
        assertEquals(32, n.flopsPerCycle());
        assertEquals(2 * 2.6 * 32, n.gflops(), 1e-9);
        assertEquals(2.6 * 32, n.gflopsPerCore(), 1e-9);
        assertTrue(n.formula().contains("2 cores × 2.600 GHz × 32 FLOP/cycle")
                && n.formula().contains("2 pipes × 8 lanes × 2") && n.formula().endsWith("= 166.4 GFLOP/s"),
                n.formula());
        // capped by the processors the JVM may use
        assertEquals(1, Peak.nominal(CPUINFO, 1).cores());
        // Intel's AVX-512 has full 512-bit pipes
        Peak.Nominal intel = Peak.nominal(CPUINFO.replace("AuthenticAMD", "GenuineIntel"), 64);
        assertEquals(16, intel.lanes());
        assertEquals(64, intel.flopsPerCycle());
    }

    @Test
    void nominalPerThreadCountsAtMostThePhysicalCores() {
        Peak.Nominal n = Peak.nominal(CPUINFO, 64);
        assertEquals(1 * 2.6 * 32, n.gflops(1), 1e-9);
        assertEquals(2 * 2.6 * 32, n.gflops(2), 1e-9);
        assertEquals(2 * 2.6 * 32, n.gflops(3), 1e-9); // the third thread is an SMT sibling: no FMA units of its own
    }

    @Test
    void overridesReplaceEachInput() {
        Peak.Nominal n = Peak.nominal(CPUINFO, 64);
        assertEquals(4 * 3.6 * 32, n.withCores(4).withGhz(3.6).gflops(), 1e-9);
        Peak.Nominal o = n.withOverrides(3.5, 16, null);
        assertEquals(3.5, o.ghz(), 0.0);
        assertEquals(16, o.flopsPerCycle());
        assertEquals(2, o.cores());
        assertEquals(2 * 3.5 * 16, o.gflops(), 1e-9);
        assertTrue(o.basis().contains("GHz overridden") && o.basis().contains("FLOP/cycle overridden"), o.basis());
        assertTrue(o.formula().contains("16 FLOP/cycle (avx512f, AMD Zen 4 (512-bit FMA as two 256-bit halves), overridden)")
                && !o.formula().contains("pipes"), o.formula());
        assertEquals(n, n.withOverrides(null, null, null));
        // a clock for a machine without cpu MHz
        Peak.Nominal none = Peak.nominal("processor\t: 0\nflags\t: fpu sse avx fma avx2\n", 8);
        assertTrue(Double.isNaN(none.gflops()) && none.basis().contains("sixpd.peak.ghz"), none.basis());
        assertEquals(1 * 3.0 * 32, none.withGhz(3.0).gflops(), 1e-9);
        assertThrows(IllegalArgumentException.class, () -> n.withGhz(0));
        assertThrows(IllegalArgumentException.class, () -> n.withGhz(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> n.withFlopsPerCycle(0));
        assertThrows(IllegalArgumentException.class, () -> n.withCores(0));
    }

    @Test
    void measurementsRejectBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> Peak.measureGflops(0, 1));
        assertThrows(IllegalArgumentException.class, () -> Peak.measureGflops(1, -1));
        assertThrows(IllegalArgumentException.class, () -> Peak.measureBandwidth(4, 1, 2));
        assertThrows(IllegalArgumentException.class, () -> Peak.measureFma(1, 0, 0.1));
    }

    @Test
    void shortMeasurementsReturnPositiveFiniteRates() {
        // not a timing assertion: only that the plumbing produces numbers (tiny budget, small triad arrays)
        Peak.Measurement m = Peak.measureFma(1, 0.05);
        assertTrue(m.best() > 0 && Double.isFinite(m.best()), m.toString());
        assertTrue(m.best() >= m.median() && m.median() >= m.worst() && m.worst() > 0, m.toString());
        Peak.Measurement r = Peak.measureFma(1, 3, 0.01);
        assertEquals(3, r.runs().length);
        assertTrue(r.worst() > 0 && Double.isFinite(r.best()), r.toString());
        Peak.Measurement b = Peak.measureBandwidth(2, 0.05, 1 << 16);
        assertTrue(b.best() > 0 && Double.isFinite(b.best()), b.toString());
    }
}
