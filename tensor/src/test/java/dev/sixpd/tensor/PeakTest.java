package dev.sixpd.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        // with m1 = m2 = 1: x_n = x_0 + n·(c1 + c2), exact in float for these small integers and quarters
        float[] start = Peak.distinctStarts();
        float[] out = new float[start.length];
        long pairs = 1001;
        Peak.fmaChains(start, 1f, 1f, 1f, 2f, pairs, out);
        for (int i = 0; i < start.length; i++) {
            assertEquals(start[i] + 3.0 * pairs, out[i], 0.0, "lane " + i);
        }
        // with m1 = m2 = 2, c1 = c2 = 1 over 3 pairs: six steps of x -> 2x + 1 give 64·x0 + 63 (exact)
        Peak.fmaChains(start, 2f, 1f, 2f, 1f, 3, out);
        for (int i = 0; i < start.length; i++) {
            assertEquals(64.0 * start[i] + 63.0, out[i], 0.0, "lane " + i);
        }
    }

    @Test
    void benchmarkConstantsAreAnExactInversePair() {
        // the benchmark's x -> 2x+1 -> (2x+1)/2 - 1/2 returns every start value exactly, so values stay bounded
        float[] start = Peak.distinctStarts();
        float[] out = new float[start.length];
        Peak.fmaChains(start, 2f, 1f, 0.5f, -0.5f, 10_000, out);
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

    @Test
    void nominalFromCpuinfoText() {
        String cpuinfo = """
                processor\t: 0
                vendor_id\t: AuthenticAMD
                cpu family\t: 25
                cpu MHz\t\t: 2400.000
                physical id\t: 0
                core id\t\t: 0
                flags\t\t: fpu sse sse2 avx fma avx2
                processor\t: 1
                vendor_id\t: AuthenticAMD
                cpu family\t: 25
                cpu MHz\t\t: 2600.000
                physical id\t: 0
                core id\t\t: 1
                flags\t\t: fpu sse sse2 avx fma avx2
                processor\t: 2
                cpu MHz\t\t: 2500.000
                physical id\t: 0
                core id\t\t: 1
                flags\t\t: fpu sse sse2 avx fma avx2
                """;
        Peak.Nominal n = Peak.nominal(cpuinfo, 64);
        // 2 distinct cores (processor 2 is an SMT sibling of core 1), mean clock 2.5 GHz, avx2+fma
        assertEquals(2, n.cores());
        assertEquals(2.5, n.ghz(), 1e-12);
        assertEquals(32, n.flopsPerCycle());
        assertEquals(2 * 2.5 * 32, n.gflops(), 1e-9);
        assertTrue(n.formula().contains("= 160.0 GFLOP/s"), n.formula());
        // capped by the processors the JVM may use
        assertEquals(1, Peak.nominal(cpuinfo, 1).cores());
        assertEquals(4 * 3.6 * 32, n.withCores(4).withGhz(3.6).gflops(), 1e-9);
    }

    @Test
    void measurementsRejectBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> Peak.measureGflops(0, 1));
        assertThrows(IllegalArgumentException.class, () -> Peak.measureGflops(1, -1));
        assertThrows(IllegalArgumentException.class, () -> Peak.measureBandwidth(4, 1, 2));
    }

    @Test
    void shortMeasurementsReturnPositiveFiniteRates() {
        // not a timing assertion: only that the plumbing produces numbers (tiny budget, small triad arrays)
        Peak.Measurement m = Peak.measureFma(1, 0.05);
        assertTrue(m.best() > 0 && Double.isFinite(m.best()), m.toString());
        assertTrue(m.best() >= m.median());
        Peak.Measurement b = Peak.measureBandwidth(2, 0.05, 1 << 16);
        assertTrue(b.best() > 0 && Double.isFinite(b.best()), b.toString());
    }
}
