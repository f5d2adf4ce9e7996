package dev.sixpd.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sixpd.bench.KernelSuite.Family;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.VerboseMode;

/** KernelSuite's bookkeeping (no benchmark is run here: no timed tests). */
class KernelSuiteTest {
    @Test
    void gemmCostFromTheShapeParameter() {
        // 2·M·N·K FLOPs; 4·(MK + KN + MN) bytes
        assertArrayEquals(new double[] {2.0 * 2048 * 1536 * 384, 4.0 * (2048 * 384 + 384 * 1536 + 2048 * 1536)},
                KernelSuite.cost("GemmBenchmark", "sixpd", "fc.fwd:2048:1536:384:N:T"), 0);
        assertArrayEquals(new double[] {2e9 * 1.073741824, 12.0 * 1024 * 1024},
                KernelSuite.cost("GemmBenchmark", "openblas", "square1024:1024:1024:1024:N:N"), 1);
        assertThrows(IllegalArgumentException.class, () -> KernelSuite.gemmCost("bad"));
    }

    @Test
    void kernelCostsAreTheLedgerFormulasAtTheMediumShapes() {
        // hand-computed from the kernels' formulas at B=8, T=256, C=384, NH=6, V=65
        assertArrayEquals(new double[] {413_712_384, 25_165_824}, KernelSuite.cost("AttentionBenchmark", "forward",
                null));
        assertArrayEquals(new double[] {816_347_136, 69_206_016}, KernelSuite.cost("AttentionBenchmark", "backward",
                null));
        // flash at the same shapes (bench/NOTES.md, "Flash attention": the floor table)
        assertArrayEquals(new double[] {417_030_144, 12_632_064},
                KernelSuite.cost("FlashAttentionBenchmark", "flashForward", null));
        assertArrayEquals(new double[] {1_021_612_032, 34_652_160},
                KernelSuite.cost("FlashAttentionBenchmark", "flashBackward", null));
        assertArrayEquals(new double[] {7_907_328, 25_165_824}, KernelSuite.cost("SoftmaxBenchmark", "forward", null));
        assertArrayEquals(new double[] {6_301_696, 6_310_912}, KernelSuite.cost("LayerNormBenchmark", "forward",
                null));
        assertArrayEquals(new double[] {13_373_440, 9_459_712}, KernelSuite.cost("LayerNormBenchmark", "backward",
                null));
        assertArrayEquals(new double[] {25_165_824, 25_165_824}, KernelSuite.cost("GeluBenchmark", "forward", null));
        assertArrayEquals(new double[] {53_477_376, 50_331_648}, KernelSuite.cost("GeluBenchmark", "backward", null));
        assertArrayEquals(new double[] {944_129, 2_686_976}, KernelSuite.cost("CrossEntropyBenchmark",
                "forwardBackward", null));
        assertEquals(10_770_816, Medium.parameterCount());
        assertEquals(10_616_832, Medium.decayedParameterCount());
        assertArrayEquals(new double[] {14.0 * 10_770_816 + 2.0 * 10_616_832, 28.0 * 10_770_816},
                KernelSuite.cost("AdamWBenchmark", "step", null));
        assertArrayEquals(new double[] {0, 6.0 * 10_770_816}, KernelSuite.cost("HalfConversionBenchmark", "toFp16",
                null));
        assertArrayEquals(new double[] {0, 8.0 * 10_770_816}, KernelSuite.cost("HalfConversionBenchmark",
                "roundToBf16", null));
        // fused kernels (bench/NOTES.md, "Fused memory-bound kernels"): N 2048, C 384, H 1536
        assertArrayEquals(new double[] {9.0 * 2048 * 1536, 4.0 * (3 * 2048 * 1536 + 1536)},
                KernelSuite.cost("FusedBenchmark", "biasGelu", null));
        assertArrayEquals(new double[] {9.0 * 2048 * 1536, 4.0 * (4 * 2048 * 1536 + 1536)},
                KernelSuite.cost("FusedBenchmark", "biasGeluUnfused", null));
        assertArrayEquals(new double[] {18.0 * 2048 * 1536, 4.0 * (3 * 2048 * 1536 + 2 * 1536)},
                KernelSuite.cost("FusedBenchmark", "biasGeluBackward", null));
        assertArrayEquals(new double[] {7_088_128, 12_602_368}, KernelSuite.cost("FusedBenchmark",
                "residualLayerNorm", null));
        assertArrayEquals(new double[] {7_088_128, 15_748_096}, KernelSuite.cost("FusedBenchmark",
                "residualLayerNormUnfused", null));
        assertEquals(Family.FUSED, Family.parse("fused"));
        assertNull(KernelSuite.cost("NoSuchBenchmark", "run", null));
    }

    @Test
    void familiesAndThreads() {
        assertEquals(Family.LAYERNORM, Family.parse(" LayerNorm "));
        assertThrows(IllegalArgumentException.class, () -> Family.parse("convolution"));
        assertArrayEquals(new int[] {1, 2}, KernelSuite.threadCounts(new int[] {1, 2}));
        assertTrue(KernelSuite.threadCounts(null)[0] == 1);
        assertThrows(IllegalArgumentException.class, () -> KernelSuite.threadCounts(new int[] {0}));
    }

    @Test
    void quickOptions() {
        Options o = KernelSuite.options(false, EnumSet.of(Family.ATTENTION, Family.GELU), VerboseMode.SILENT,
                new int[] {1, 2});
        assertEquals(List.of(Family.ATTENTION.includeRegex(), "dev\\.sixpd\\.bench\\.GeluBenchmark\\."),
                o.getIncludes());
        // attention: the naive kernel's class and flash attention's two methods beside it, not its naive copies
        java.util.regex.Pattern att = java.util.regex.Pattern.compile(Family.ATTENTION.includeRegex());
        assertTrue(att.matcher("dev.sixpd.bench.AttentionBenchmark.forward").find());
        assertTrue(att.matcher("dev.sixpd.bench.FlashAttentionBenchmark.flashBackward").find());
        assertTrue(!att.matcher("dev.sixpd.bench.FlashAttentionBenchmark.naiveForward").find());
        assertEquals(List.of("1", "2"), List.copyOf(o.getParameter("threads").get()));
        assertEquals(1, o.getForkCount().get());
        assertEquals(3, o.getMeasurementIterations().get());
        assertTrue(o.getJvmArgsAppend().get().contains("jdk.incubator.vector"));
        assertThrows(IllegalArgumentException.class,
                () -> KernelSuite.options(true, EnumSet.noneOf(Family.class), VerboseMode.SILENT, new int[] {1}));
    }

    @Test
    void stepRunsOnItsOwnTimes() {
        Options quick = KernelSuite.stepOptions(false, VerboseMode.SILENT, new int[] {1, 2});
        assertEquals(List.of("dev\\.sixpd\\.bench\\.TrainingStepBenchmark\\."), quick.getIncludes());
        assertEquals(List.of("tiny"), List.copyOf(quick.getParameter("preset").get()));
        assertEquals(List.of("1", "2"), List.copyOf(quick.getParameter("threads").get()));
        Options full = KernelSuite.stepOptions(true, VerboseMode.SILENT, new int[] {1});
        assertTrue(full.getParameter("preset").hasValue() == false); // the benchmark's own: tiny and medium
        assertTrue(full.getMeasurementTime().hasValue() == false); // the benchmark's own 4 s iterations
        assertEquals(Family.STEP, Family.parse("step"));
    }

    @Test
    void baselinesRunSingleThreadedOnShapesTheyFinish() {
        List<Options> quick = KernelSuite.baselineOptionsList(false, VerboseMode.SILENT);
        assertEquals(2, quick.size());
        assertEquals(List.of("dev\\.sixpd\\.bench\\.GemmBenchmark\\.blocked$"), quick.get(0).getIncludes());
        assertEquals(List.of(KernelSuite.QUICK_GEMM_SQUARE), List.copyOf(quick.get(0).getParameter("shape").get()));
        assertEquals(List.of("square512:512:512:512:N:N"), List.copyOf(quick.get(1).getParameter("shape").get()));
        assertEquals(List.of("1"), List.copyOf(quick.get(1).getParameter("threads").get()));
        List<Options> full = KernelSuite.baselineOptionsList(true, VerboseMode.SILENT);
        assertEquals(1, full.size());
        assertEquals(4 + 5, full.get(0).getParameter("shape").get().size()); // squares 128-1024, 5 forward shapes
        // the main GEMM run leaves them out
        Options main = KernelSuite.options(false, EnumSet.of(Family.GEMM), VerboseMode.SILENT, new int[] {1});
        assertTrue(main.getExcludes().contains(KernelSuite.BASELINES));
        assertArrayEquals(KernelSuite.gemmCost("x:2:3:4:N:N"), KernelSuite.cost("GemmBenchmark", "naive",
                "x:2:3:4:N:N"));
    }
}
