package dev.sixpd.bench;

import dev.sixpd.tensor.Rng;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What it measures: one bulk conversion call of {@code dev.sixpd.tensor.Half} over as many values as the
 * {@code medium} model has parameters, n = 10,770,816 (what converting the master weights to 16-bit working copies
 * once per step costs): {@code toBf16} and {@code toFp16} (FP32 → 16-bit, round to nearest even), {@code fromBf16}
 * and {@code fromFp16} (16-bit → FP32), and {@code roundToBf16} (FP32 rounded to BF16 and back, in place). The
 * kernels are single-threaded, so there is no {@code threads} parameter.
 *
 * <p>Per call: 0 FLOPs (integer bit manipulation; the ledger does not count conversions); bytes, each operand once:
 * {@code toBf16}/{@code toFp16}/{@code fromBf16}/{@code fromFp16} {@code 4n + 2n = 6n} = 64,624,896,
 * {@code roundToBf16} {@code 8n} (read and write FP32) = 86,166,528. Intensity 0: memory-bound by definition; the
 * report shows GB/s against the streaming bandwidth (FP16 encoding, with its exponent rebias and subnormal
 * handling, is the most likely to fall short of it on one core).
 *
 * <p>Dead-code elimination: results go to arrays held by this {@link State} (escaping heap memory) and an element
 * of each is handed to a {@link Blackhole}; inputs are seeded Gaussians (and their 16-bit patterns) from
 * {@code @Setup}. {@code roundToBf16} works in place: after its first call the values are BF16-exact, which does not
 * change the branch-free vector work.
 *
 * <p>The conversions are called through {@code static final} {@link MethodHandle}s (which the JIT inlines like
 * direct calls) so this class compiles before the bulk API of branch {@code precision} is merged; until then
 * {@link #available()} is false, {@link KernelSuite} skips the family with a message and a direct JMH run fails
 * in setup saying why. Once merged, direct calls can replace the handles.
 *
 * <p>Plain JMH: see {@link KernelSuite}; e.g. {@code ./sixpd bench jmh HalfConversionBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC",
        "-XX:ObjectAlignmentInBytes=64", "-Xmx4g"})
public class HalfConversionBenchmark {
    /** Values converted per call: the medium model's parameter count. */
    public static final int SIZE = (int) Medium.parameterCount();
    /** Bytes of one FP32 ↔ 16-bit conversion call. */
    public static final long CONVERT_BYTES = 6L * SIZE;
    /** Bytes of one in-place rounding call. */
    public static final long ROUND_BYTES = 8L * SIZE;

    private static final MethodType TO = MethodType.methodType(void.class, short[].class, int.class, float[].class,
            int.class, int.class);
    private static final MethodType FROM = MethodType.methodType(void.class, float[].class, int.class, short[].class,
            int.class, int.class);
    private static final MethodType ROUND = MethodType.methodType(void.class, float[].class, int.class, int.class);
    private static final MethodHandle TO_BF16 = find("toBf16", TO);
    private static final MethodHandle FROM_BF16 = find("fromBf16", FROM);
    private static final MethodHandle TO_FP16 = find("toFp16", TO);
    private static final MethodHandle FROM_FP16 = find("fromFp16", FROM);
    private static final MethodHandle ROUND_BF16 = find("roundToBf16", ROUND);

    private float[] src;
    private float[] dstF;
    private float[] work;
    private short[] dstS;
    private short[] bf16;
    private short[] fp16;

    private static MethodHandle find(String name, MethodType type) {
        try {
            Class<?> half = Class.forName("dev.sixpd.tensor.Half");
            return MethodHandles.publicLookup().findStatic(half, name, type);
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }

    /** Whether {@code Half}'s bulk conversions exist in this build. */
    public static boolean available() {
        return TO_BF16 != null && FROM_BF16 != null && TO_FP16 != null && FROM_FP16 != null && ROUND_BF16 != null;
    }

    @Setup(Level.Trial)
    public void setUp() {
        if (!available()) {
            throw new IllegalStateException("dev.sixpd.tensor.Half has no bulk conversions (toBf16(short[], int,"
                    + " float[], int, int), ...) in this build: merge branch 'precision' first");
        }
        Rng rng = new Rng(42);
        src = new float[SIZE];
        rng.fillNormal(src, 0, 0.02);
        work = src.clone();
        dstF = new float[SIZE];
        dstS = new short[SIZE];
        bf16 = new short[SIZE];
        fp16 = new short[SIZE];
        for (int i = 0; i < SIZE; i++) {
            bf16[i] = (short) (Float.floatToRawIntBits(src[i]) >>> 16);
            fp16[i] = Float.floatToFloat16(src[i]);
        }
    }

    @Benchmark
    public void toBf16(Blackhole bh) throws Throwable {
        TO_BF16.invokeExact(dstS, 0, src, 0, SIZE);
        bh.consume(dstS[SIZE - 1]);
    }

    @Benchmark
    public void fromBf16(Blackhole bh) throws Throwable {
        FROM_BF16.invokeExact(dstF, 0, bf16, 0, SIZE);
        bh.consume(dstF[SIZE - 1]);
    }

    @Benchmark
    public void toFp16(Blackhole bh) throws Throwable {
        TO_FP16.invokeExact(dstS, 0, src, 0, SIZE);
        bh.consume(dstS[SIZE - 1]);
    }

    @Benchmark
    public void fromFp16(Blackhole bh) throws Throwable {
        FROM_FP16.invokeExact(dstF, 0, fp16, 0, SIZE);
        bh.consume(dstF[SIZE - 1]);
    }

    @Benchmark
    public void roundToBf16(Blackhole bh) throws Throwable {
        ROUND_BF16.invokeExact(work, 0, SIZE);
        bh.consume(work[SIZE - 1]);
    }
}
