package dev.sixpd.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * OpenBLAS's {@code cblas_sgemm} called through the JDK's foreign-function API, the baseline the GEMM benchmarks
 * compare against in the same run.
 *
 * <p>Looks for Debian's {@code libopenblas0-pthread} ({@code /usr/lib/x86_64-linux-gnu/libopenblas.so.0} or its
 * {@code openblas-pthread/} folder), or the path in the system property {@code sixpd.openblas}. {@link #load()} is
 * empty when none is found; {@link #MISSING} says what to install. Matrices are passed as native segments (copy the
 * Java arrays in once, outside the timed region). Thread-safety: OpenBLAS's own; set its thread count with
 * {@link #setThreads} before timing.
 */
public final class OpenBlas {
    /** The message to print when OpenBLAS is absent. */
    public static final String MISSING = "OpenBLAS not found (looked for libopenblas.so.0 in /usr/lib/x86_64-linux-gnu"
            + " and its openblas-pthread/ folder, or -Dsixpd.openblas=PATH): skipping the OpenBLAS baseline."
            + " Install it with: apt-get install libopenblas0-pthread";

    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final int TRANS = 112;

    private final Path path;
    private final MethodHandle sgemm;
    private final MethodHandle setThreads;
    private final MethodHandle config;

    private OpenBlas(Path path, SymbolLookup lib) {
        Linker linker = Linker.nativeLinker();
        this.path = path;
        ValueLayout i = ValueLayout.JAVA_INT;
        ValueLayout f = ValueLayout.JAVA_FLOAT;
        ValueLayout p = ValueLayout.ADDRESS;
        // void cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
        this.sgemm = linker.downcallHandle(lib.findOrThrow("cblas_sgemm"),
                FunctionDescriptor.ofVoid(i, i, i, i, i, i, f, p, i, p, i, f, p, i));
        this.setThreads = linker.downcallHandle(lib.findOrThrow("openblas_set_num_threads"),
                FunctionDescriptor.ofVoid(i));
        this.config = lib.find("openblas_get_config")
                .map(s -> linker.downcallHandle(s, FunctionDescriptor.of(p)))
                .orElse(null);
    }

    /** Loads OpenBLAS, or returns empty when it is not installed. */
    public static Optional<OpenBlas> load() {
        String forced = System.getProperty("sixpd.openblas");
        List<Path> candidates = forced != null ? List.of(Path.of(forced)) : List.of(
                Path.of("/usr/lib/x86_64-linux-gnu/libopenblas.so.0"),
                Path.of("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"),
                Path.of("/usr/lib/aarch64-linux-gnu/libopenblas.so.0"),
                Path.of("/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0"));
        for (Path c : candidates) {
            if (Files.exists(c)) {
                try {
                    return Optional.of(new OpenBlas(c, SymbolLookup.libraryLookup(c, Arena.global())));
                } catch (RuntimeException e) {
                    System.err.println("sixpd bench: could not load " + c + ": " + e.getMessage());
                }
            }
        }
        return Optional.empty();
    }

    /** Where the library was loaded from. */
    public Path path() {
        return path;
    }

    /** OpenBLAS's build description (version, target core, thread model), or "?" when unavailable. */
    public String config() {
        if (config == null) {
            return "?";
        }
        try {
            MemorySegment s = (MemorySegment) config.invokeExact();
            return s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            return "?";
        }
    }

    /** Sets the number of threads OpenBLAS uses for the following calls. */
    public void setThreads(int n) {
        try {
            setThreads.invokeExact(n);
        } catch (Throwable t) {
            throw new IllegalStateException("openblas_set_num_threads failed", t);
        }
    }

    /**
     * {@code C = alpha·op(A)·op(B) + beta·C}, row-major, same meaning of the arguments as
     * {@link dev.sixpd.tensor.Gemm#gemm}; a, b, c are native segments holding the matrices.
     */
    public void sgemm(boolean transA, boolean transB, int M, int N, int K, float alpha, MemorySegment a, int lda,
            MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        try {
            sgemm.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, M, N, K, alpha, a, lda,
                    b, ldb, beta, c, ldc);
        } catch (Throwable t) {
            throw new IllegalStateException("cblas_sgemm failed", t);
        }
    }

    /** A native copy of {@code x} in {@code arena}, 64-byte aligned. */
    public static MemorySegment copyOf(Arena arena, float[] x) {
        MemorySegment s = arena.allocate((long) x.length * Float.BYTES, 64);
        MemorySegment.copy(x, 0, s, ValueLayout.JAVA_FLOAT, 0, x.length);
        return s;
    }
}
