package dev.sixpd.tensor;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API body behind {@link Gemm}, after the GotoBLAS/BLIS design. Shapes are validated by {@link Gemm}.
 *
 * <pre>
 * for jc in N step NC                      B block  [KC, NC] packed once, reused by every ic      (L3)
 *   for pc in K step KC
 *     pack op(B)[pc:pc+KC, jc:jc+NC] into NR-column panels, k-major
 *     for ic in M step MC                  A block  [MC, KC] packed into MR-row panels, k-major   (L2)
 *       pack op(A)[ic:ic+MC, pc:pc+KC]
 *       for jr in NC step NR               B micro-panel [KC, NR] stays in L1 while ir runs
 *         for ir in MC step MR
 *           micro-kernel: C[MR, NR] tile (+)= A panel · B panel, MR·NR/L accumulators in registers
 * </pre>
 *
 * <p>Tiny products (at most {@link #SMALL_MACS} multiply-adds, e.g. one row or one column) skip packing and tiles:
 * {@link #small} computes them with plain vector loops, since a 4×16 tile over a 1-row matrix wastes 3/4 of its
 * FMAs and packing would cost more than the product.
 *
 * <p>Threads: the output is cut into contiguous ranges of MR-row panels (or NR-column panels when C has more column
 * panels than row panels) and each thread runs the loops above on its own part with its own packing buffers, so one
 * fork/join per call and no barrier. Every C element is reduced over K in the same order (KC blocks in sequence, k in
 * sequence inside a block) whatever the split, so results are identical for any thread count.
 */
final class GemmKernel {
    private static final VectorSpecies<Float> S = Vectors.SPECIES;
    private static final int L = Vectors.LANES;
    /**
     * Rows of the micro-tile, from the vector width: 16 lanes (AVX-512: 32 vector registers) 8 rows × 2 vectors =
     * 16 accumulators ({@link #micro8}); 8 lanes (AVX2: 16 registers) 4 × 2 = 8 ({@link #micro}; see there for why
     * not 6). On an Intel Sapphire Rapids core (two 512-bit FMA ports) 8 rows with KC 256 took n = 1024 from 131 to
     * 159–166 GFLOP/s and the {@code medium} step from 1,238 to 1,476 tokens/s; either change alone gained nothing
     * (bench/NOTES.md, "Host note"). The property {@code sixpd.gemm.mr} (4 or 8) overrides it for tuning runs.
     */
    static final int MR = block("sixpd.gemm.mr", L >= 16 ? 8 : 4, 4);
    /** Columns of the micro-tile: two vectors. */
    static final int NR = 2 * L;
    /** Column edges this narrow or narrower run through {@link #microCols}: one group of 4 columns costs about a
     * third of a full tile's k step at 8 lanes, and two groups about 60 % at 16 (loads: 1 + 4 per group against
     * 2 + MR; FMAs: 4 per group against MR·NR/L). */
    static final int NARROW_N = NR / 4;
    /** K block. At 8 lanes 1024, so every K of the default model is one block and each C tile is loaded and stored
     * once; the KC×NR B micro-panel (64 KiB) then streams from L2 rather than sitting in L1, which costs less than
     * the C traffic and call overhead of more blocks: KC 256 measured 72–78 GFLOP/s at n=1024 on one Zen 3 core, KC
     * 1024 91 (bench/NOTES.md, step 13). At 16 lanes 256: the B micro-panel (32 KiB) stays in L1 while the 8-row
     * tiles stream past it, which the 16-accumulator kernel needs (KC 512 with 8 rows: no gain). A product with
     * K > KC sums its K blocks into C one after another, so the blocking is part of the result's rounding (the same
     * for any thread count). */
    static final int KC = block("sixpd.gemm.kc", L >= 16 ? 256 : Math.max(64, 16384 / NR), 1);
    /** M block: rows of A packed at a time (MC×KC floats, 576 KiB at KC 1024). Multiple of MR. */
    static final int MC = block("sixpd.gemm.mc", 144, MR);
    /** N block: the packed KC×NC B block (12 MiB at NC = 3072) lives in L3; 3072 covers every N of the default
     * model, so A is packed once per K block. Multiple of NR. */
    static final int NC = block("sixpd.gemm.nc", 3072, NR);
    /** Below this many multiply-adds a GEMM runs on the calling thread: a fork/join costs ~10–50 µs. */
    private static final long PARALLEL_MIN_MACS = 1L << 20;
    /** At most this many multiply-adds: {@link #small}, no packing. Chosen from the shape only (determinism). */
    static final long SMALL_MACS = 1L << 14;

    /**
     * Where the packed panels start in their buffers, in floats: the offset that puts them on a 64-byte cache line
     * when every object is (the launcher runs the JVM with {@code -XX:ObjectAlignmentInBytes=64}), else 0. A
     * float[]'s data begins {@code ARRAY_FLOAT_BASE_OFFSET} bytes (16) after its object, and the JVM's default
     * 8-byte object alignment puts that anywhere in a cache line, so most 16-float loads of a panel would span two
     * lines; aligned panels measured +10 % at n = 1024 and +5 % on the {@code medium} step on an AVX-512 host
     * (bench/NOTES.md, step 20). Off-heap 64-byte-aligned segments do this without a JVM flag, but their loads
     * measured 95 GFLOP/s against 150 in the micro-kernel. The offset moves no result: panels hold the same values.
     */
    static final int PANEL_OFFSET = panelOffset();
    /** Per-thread packing buffers, allocated once per thread and reused (no allocation in the hot path). */
    private static final class Buffers {
        /** L floats of slack: {@link #microCols} loads L floats from an MR-float step of the last panel. */
        final float[] a = new float[PANEL_OFFSET + MC * KC + L];
        final float[] b = new float[PANEL_OFFSET + KC * ((NC + NR - 1) / NR) * NR];
        final float[] tile = new float[MR * NR];
        final float[] lanes = new float[4 * L];
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    private GemmKernel() {
    }

    @SuppressWarnings("removal")
    private static int panelOffset() {
        try {
            var vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            int objectAlignment = Integer.parseInt(vm.getVMOption("ObjectAlignmentInBytes").getValue());
            int base = sun.misc.Unsafe.ARRAY_FLOAT_BASE_OFFSET;
            return objectAlignment % 64 == 0 && base % 4 == 0 ? (64 - base % 64) % 64 / 4 : 0;
        } catch (RuntimeException | LinkageError e) {
            return 0; // not HotSpot: unaligned panels, the same results
        }
    }

    /** A blocking size: {@code def}, or the system property {@code name} (for tuning runs), a multiple of
     * {@code multiple}. */
    private static int block(String name, int def, int multiple) {
        int v = Integer.getInteger(name, def);
        if (v < multiple || v % multiple != 0) {
            throw new IllegalArgumentException(name + " must be a positive multiple of " + multiple + ", got " + v);
        }
        return v;
    }

    static void run(boolean transA, boolean transB, int M, int N, int K, float alpha,
            float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        if (K == 0 || alpha == 0f) {
            scaleC(M, N, beta, c, cOff, ldc);
            return;
        }
        long macs = (long) M * N * K;
        if (macs <= SMALL_MACS) {
            small(transA, transB, M, N, K, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            return;
        }
        int mPanels = (M + MR - 1) / MR;
        int nPanels = (N + NR - 1) / NR;
        if (Parallel.threads() == 1 || macs < PARALLEL_MIN_MACS) {
            sequential(transA, transB, M, N, K, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        } else if (mPanels >= nPanels) {
            // split rows of C: thread t owns rows [from·MR, to·MR)
            Parallel.forRange(mPanels, 1, (from, to) -> {
                int i0 = from * MR, i1 = Math.min(M, to * MR);
                int aSub = transA ? aOff + i0 : aOff + i0 * lda;
                sequential(transA, transB, i1 - i0, N, K, alpha, a, aSub, lda, b, bOff, ldb, beta, c,
                        cOff + i0 * ldc, ldc);
            });
        } else {
            // split columns of C: thread t owns columns [from·NR, to·NR)
            Parallel.forRange(nPanels, 1, (from, to) -> {
                int j0 = from * NR, j1 = Math.min(N, to * NR);
                int bSub = transB ? bOff + j0 * ldb : bOff + j0;
                sequential(transA, transB, M, j1 - j0, K, alpha, a, aOff, lda, b, bSub, ldb, beta, c, cOff + j0,
                        ldc);
            });
        }
    }

    static void runBatched(int batch, boolean transA, boolean transB, int M, int N, int K, float alpha,
            float[] a, int aOff, int lda, int strideA, float[] b, int bOff, int ldb, int strideB,
            float beta, float[] c, int cOff, int ldc, int strideC) {
        if (batch >= Parallel.threads()) {
            // one thread per group of whole matrices; each matrix is computed exactly as by a sequential call
            Parallel.forRange(batch, 1, (from, to) -> {
                for (int p = from; p < to; p++) {
                    if (K == 0 || alpha == 0f) {
                        scaleC(M, N, beta, c, cOff + p * strideC, ldc);
                    } else if ((long) M * N * K <= SMALL_MACS) {
                        small(transA, transB, M, N, K, alpha, a, aOff + p * strideA, lda, b, bOff + p * strideB, ldb,
                                beta, c, cOff + p * strideC, ldc);
                    } else {
                        sequential(transA, transB, M, N, K, alpha, a, aOff + p * strideA, lda, b, bOff + p * strideB,
                                ldb, beta, c, cOff + p * strideC, ldc);
                    }
                }
            });
        } else {
            for (int p = 0; p < batch; p++) {
                run(transA, transB, M, N, K, alpha, a, aOff + p * strideA, lda, b, bOff + p * strideB, ldb, beta, c,
                        cOff + p * strideC, ldc);
            }
        }
    }

    /** C = beta·C (beta 0 writes zeros without reading C): the whole product when K = 0 or alpha = 0. */
    private static void scaleC(int M, int N, float beta, float[] c, int cOff, int ldc) {
        for (int i = 0; i < M; i++) {
            int ci = cOff + i * ldc;
            for (int j = 0; j < N; j++) {
                c[ci + j] = beta == 0f ? 0f : beta * c[ci + j];
            }
        }
    }

    /**
     * A tiny product without packing, on the calling thread. op(B) not transposed: each row of C is built as
     * {@code C[i,:] = beta·C[i,:] + Σ_k (alpha·op(A)[i,k])·B[k,:]}, vector FMAs along the row. B transposed: each element
     * is a dot product {@code alpha·Σ_k op(A)[i,k]·B[j,k] + beta·C[i,j]}, vector along k when A's rows are contiguous.
     */
    static void small(boolean transA, boolean transB, int M, int N, int K, float alpha, float[] a, int aOff, int lda,
            float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        int nv = N - N % L;
        int kv = K - K % L;
        for (int i = 0; i < M; i++) {
            int ci = cOff + i * ldc;
            if (!transB) {
                // C[i,:] = beta·C[i,:] (0 when beta is 0, whatever C held)
                for (int j = 0; j < N; j++) {
                    c[ci + j] = beta == 0f ? 0f : beta * c[ci + j];
                }
                // C[i,:] += (alpha·a_ik)·B[k,:]
                for (int k = 0; k < K; k++) {
                    float aik = alpha * (transA ? a[aOff + k * lda + i] : a[aOff + i * lda + k]);
                    FloatVector va = FloatVector.broadcast(S, aik);
                    int bk = bOff + k * ldb;
                    int j = 0;
                    for (; j < nv; j += L) {
                        va.fma(FloatVector.fromArray(S, b, bk + j), FloatVector.fromArray(S, c, ci + j))
                                .intoArray(c, ci + j);
                    }
                    for (; j < N; j++) {
                        c[ci + j] = Math.fma(aik, b[bk + j], c[ci + j]);
                    }
                }
            } else {
                for (int j = 0; j < N; j++) {
                    int bj = bOff + j * ldb;
                    float dot;
                    if (!transA) {
                        // dot(A[i,:], B[j,:]), both contiguous in k
                        int ai = aOff + i * lda;
                        FloatVector acc = FloatVector.zero(S);
                        int k = 0;
                        for (; k < kv; k += L) {
                            acc = FloatVector.fromArray(S, a, ai + k).fma(FloatVector.fromArray(S, b, bj + k), acc);
                        }
                        dot = Vectors.sum(acc);
                        for (; k < K; k++) {
                            dot = Math.fma(a[ai + k], b[bj + k], dot);
                        }
                    } else {
                        dot = 0f;
                        for (int k = 0; k < K; k++) {
                            dot = Math.fma(a[aOff + k * lda + i], b[bj + k], dot);
                        }
                    }
                    c[ci + j] = beta == 0f ? alpha * dot : Math.fma(alpha, dot, beta * c[ci + j]);
                }
            }
        }
    }

    /** The blocked loops on the calling thread. K > 0. */
    static void sequential(boolean transA, boolean transB, int M, int N, int K, float alpha,
            float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        Buffers buf = BUFFERS.get();
        float[] ap = buf.a, bp = buf.b;
        for (int jc = 0; jc < N; jc += NC) {
            int nc = Math.min(NC, N - jc);
            for (int pc = 0; pc < K; pc += KC) {
                int kc = Math.min(KC, K - pc);
                // the first K block applies beta to C; later blocks add to it
                float betaBlock = pc == 0 ? beta : 1f;
                GemmPack.packB(transB, kc, nc, b, transB ? bOff + jc * ldb + pc : bOff + pc * ldb + jc, ldb, bp);
                for (int ic = 0; ic < M; ic += MC) {
                    int mc = Math.min(MC, M - ic);
                    GemmPack.packA(transA, mc, kc, a, transA ? aOff + pc * lda + ic : aOff + ic * lda + pc, lda, ap);
                    touchC(c, cOff + ic * ldc + jc, mc, nc, ldc, buf.lanes);
                    macro(mc, nc, kc, alpha, ap, bp, betaBlock, c, cOff + ic * ldc + jc, ldc, buf.tile, buf.lanes);
                }
            }
        }
    }

    /**
     * Reads one float per cache line of the C block, row by row, before {@link #macro} writes it tile by tile, so
     * the tiles find C in cache. The tiles walk C down 32-column strips, ldc floats (6 KiB for N = 1536) from row to
     * row, which no hardware prefetcher follows: when C is not cached (a training step's outputs and gradients,
     * unlike the benchmark's loop over the same arrays) every tile stalls on 16 lines from memory. A sequential
     * read streams them at full bandwidth instead: in a medium training step the products with a 2048 × 1152 or
     * 1536 C went from 120–125 to 138–144 GFLOP/s (bench/NOTES.md, step 21). Reads only: no result changes (NaNs
     * in C under beta 0 are summed into the sink and dropped).
     */
    static void touchC(float[] c, int cOff, int mc, int nc, int ldc, float[] sink) {
        float s = 0f;
        for (int i = 0; i < mc; i++) {
            int ci = cOff + i * ldc;
            for (int j = 0; j < nc; j += 16) { // 16 floats: one 64-byte line
                s += c[ci + j];
            }
        }
        sink[0] = s; // a store the JIT cannot drop, so the loads stay
    }

    /**
     * C[mc, nc] block: every MR×NR tile through the micro-kernel. Full tiles with alpha = 1 and beta ∈ {0, 1} (the
     * Linear layers' cases) are written straight to C; ragged edge tiles and other alpha/beta go through the scratch
     * tile and {@link #merge}. Both give C = acc + C (beta 1) or C = acc (beta 0) with the same rounding.
     */
    static void macro(int mc, int nc, int kc, float alpha, float[] ap, float[] bp, float beta, float[] c,
            int cOff, int ldc, float[] tile, float[] lanes) {
        boolean direct = alpha == 1f && (beta == 0f || beta == 1f);
        boolean add = beta != 0f;
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            int bIdx = PANEL_OFFSET + jr * kc;
            for (int ir = 0; ir < mc; ir += MR) {
                int mr = Math.min(MR, mc - ir);
                int ci = cOff + ir * ldc + jr;
                int aIdx = PANEL_OFFSET + ir * kc;
                if (nr <= NARROW_N) {
                    // a few columns left (the LM head's N = 65 = 2·32 + 1): no full-width tile of zeros
                    microCols(kc, ap, aIdx, bp, bIdx, nr, tile, lanes);
                    merge(tile, mr, nr, alpha, beta, c, ci, ldc);
                } else if (mr <= MR / 2 && MR == 8) {
                    // a few rows left on an 8-row host: the 4-row kernel on the panel's first rows
                    micro(kc, ap, aIdx, MR, bp, bIdx, tile, 0, NR, false);
                    merge(tile, mr, nr, alpha, beta, c, ci, ldc);
                } else if (direct && mr == MR && nr == NR) {
                    microTile(kc, ap, aIdx, bp, bIdx, c, ci, ldc, add);
                } else {
                    microTile(kc, ap, aIdx, bp, bIdx, tile, 0, NR, false);
                    merge(tile, mr, nr, alpha, beta, c, ci, ldc);
                }
            }
        }
    }

    /** One MR×NR tile through the micro-kernel of this MR ({@link #micro} or {@link #micro8}). */
    private static void microTile(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] out, int o, int ld,
                             boolean add) {
        if (MR == 8) {
            micro8(kc, ap, aIdx, bp, bIdx, out, o, ld, add);
        } else {
            micro(kc, ap, aIdx, 4, bp, bIdx, out, o, ld, add);
        }
    }

    /**
     * As {@link #micro} for 8 rows: 16 accumulators (AVX-512 has 32 vector registers, AVX2 16: there 8 rows would
     * spill). Per k: 2 loads of B, 8 broadcasts of A, 16 independent FMAs, twice the FMAs per B load of
     * {@link #micro} and 16 chains for the 2 × 4 = 8 an FMA pipe pair needs in flight.
     */
    static void micro8(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] out, int o, int ld, boolean add) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        for (int k = 0; k < kc; k++) {
            int ak = aIdx + k * 8;
            int bk = bIdx + k * NR;
            // c[r][0:NR] += a[r][k] · b[k][0:NR]
            FloatVector b0 = FloatVector.fromArray(S, bp, bk);
            FloatVector b1 = FloatVector.fromArray(S, bp, bk + L);
            FloatVector a0 = FloatVector.broadcast(S, ap[ak]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, ap[ak + 1]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(S, ap[ak + 2]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(S, ap[ak + 3]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(S, ap[ak + 4]);
            c40 = a4.fma(b0, c40);
            c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(S, ap[ak + 5]);
            c50 = a5.fma(b0, c50);
            c51 = a5.fma(b1, c51);
            FloatVector a6 = FloatVector.broadcast(S, ap[ak + 6]);
            c60 = a6.fma(b0, c60);
            c61 = a6.fma(b1, c61);
            FloatVector a7 = FloatVector.broadcast(S, ap[ak + 7]);
            c70 = a7.fma(b0, c70);
            c71 = a7.fma(b1, c71);
        }
        if (add) {
            // C += sums (the same rounding as merge's fma(sum, 1, 1·C))
            c00 = c00.add(FloatVector.fromArray(S, out, o));
            c01 = c01.add(FloatVector.fromArray(S, out, o + L));
            c10 = c10.add(FloatVector.fromArray(S, out, o + ld));
            c11 = c11.add(FloatVector.fromArray(S, out, o + ld + L));
            c20 = c20.add(FloatVector.fromArray(S, out, o + 2 * ld));
            c21 = c21.add(FloatVector.fromArray(S, out, o + 2 * ld + L));
            c30 = c30.add(FloatVector.fromArray(S, out, o + 3 * ld));
            c31 = c31.add(FloatVector.fromArray(S, out, o + 3 * ld + L));
            c40 = c40.add(FloatVector.fromArray(S, out, o + 4 * ld));
            c41 = c41.add(FloatVector.fromArray(S, out, o + 4 * ld + L));
            c50 = c50.add(FloatVector.fromArray(S, out, o + 5 * ld));
            c51 = c51.add(FloatVector.fromArray(S, out, o + 5 * ld + L));
            c60 = c60.add(FloatVector.fromArray(S, out, o + 6 * ld));
            c61 = c61.add(FloatVector.fromArray(S, out, o + 6 * ld + L));
            c70 = c70.add(FloatVector.fromArray(S, out, o + 7 * ld));
            c71 = c71.add(FloatVector.fromArray(S, out, o + 7 * ld + L));
        }
        c00.intoArray(out, o);
        c01.intoArray(out, o + L);
        c10.intoArray(out, o + ld);
        c11.intoArray(out, o + ld + L);
        c20.intoArray(out, o + 2 * ld);
        c21.intoArray(out, o + 2 * ld + L);
        c30.intoArray(out, o + 3 * ld);
        c31.intoArray(out, o + 3 * ld + L);
        c40.intoArray(out, o + 4 * ld);
        c41.intoArray(out, o + 4 * ld + L);
        c50.intoArray(out, o + 5 * ld);
        c51.intoArray(out, o + 5 * ld + L);
        c60.intoArray(out, o + 6 * ld);
        c61.intoArray(out, o + 6 * ld + L);
        c70.intoArray(out, o + 7 * ld);
        c71.intoArray(out, o + 7 * ld + L);
    }

    /**
     * The micro-kernel: tile[4, NR] = Σ_k Ap[:,k]·Bp[k,:], the 4×NR sums held in 8 vector accumulators. Ap holds
     * the panel k-major ({@code ms} floats per k: 4 for a 4-row panel, 8 for the first 4 rows of an 8-row one), Bp
     * likewise (NR floats per k). Per k: 2 vector loads of B, 4 broadcasts
     * of A, 8 independent FMAs (8 chains cover the 4-cycle FMA latency on 2 FMA pipes).
     *
     * <p>Why 4×2 and not the classic 6×2 (12 accumulators): C2 hoists the broadcasts of one k step together, so 12
     * accumulators + 2 B vectors + 2–3 broadcasts exceed AVX2's 16 registers and one accumulator lives on the stack;
     * its load-FMA-store chain then bounds the loop (measured 44 GFLOP/s for 6×2, 98 for 4×2, 86 for 3×3).
     *
     * <p>Output: {@code out[r·ld + j] = sums (+ out[r·ld + j] when add)}. General alpha and beta are applied by
     * {@link #merge} from a scratch tile instead: doing it here makes this method too big for C2's inlining budget
     * (NodeCountInliningCutoff), and a vector passed to a call that is not inlined is boxed, which cost 10× here.
     */
    static void micro(int kc, float[] ap, int aIdx, int ms, float[] bp, int bIdx, float[] out, int o, int ld,
            boolean add) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        for (int k = 0; k < kc; k++) {
            int ak = aIdx + k * ms;
            int bk = bIdx + k * NR;
            // c[r][0:NR] += a[r][k] · b[k][0:NR]
            FloatVector b0 = FloatVector.fromArray(S, bp, bk);
            FloatVector b1 = FloatVector.fromArray(S, bp, bk + L);
            FloatVector a0 = FloatVector.broadcast(S, ap[ak]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, ap[ak + 1]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(S, ap[ak + 2]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(S, ap[ak + 3]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
        }
        if (add) {
            // C += sums (the same rounding as merge's fma(sum, 1, 1·C))
            c00 = c00.add(FloatVector.fromArray(S, out, o));
            c01 = c01.add(FloatVector.fromArray(S, out, o + L));
            c10 = c10.add(FloatVector.fromArray(S, out, o + ld));
            c11 = c11.add(FloatVector.fromArray(S, out, o + ld + L));
            c20 = c20.add(FloatVector.fromArray(S, out, o + 2 * ld));
            c21 = c21.add(FloatVector.fromArray(S, out, o + 2 * ld + L));
            c30 = c30.add(FloatVector.fromArray(S, out, o + 3 * ld));
            c31 = c31.add(FloatVector.fromArray(S, out, o + 3 * ld + L));
        }
        c00.intoArray(out, o);
        c01.intoArray(out, o + L);
        c10.intoArray(out, o + ld);
        c11.intoArray(out, o + ld + L);
        c20.intoArray(out, o + 2 * ld);
        c21.intoArray(out, o + 2 * ld + L);
        c30.intoArray(out, o + 3 * ld);
        c31.intoArray(out, o + 3 * ld + L);
    }

    /**
     * The narrow edge: tile[MR, nr] for nr ≤ {@link #NARROW_N} columns, vectors along the panel's rows instead of
     * its columns. Per group of 4 columns and per k: one load of L floats at the panel's k (lanes 0..MR-1 are rows
     * 0..MR-1; lanes MR..L-1 hold the next k's rows, multiplied and never stored), 4 broadcasts of B, 4 independent
     * FMAs. Each element is the same chain {@code c = fma(a_rk, b_kj, c)} over k from 0 as in {@link #micro8} and
     * {@link #micro}, so the bits equal a full tile's; the full tile would spend NR/L vector FMAs per row per k on
     * columns that are mostly the panel's zero padding (N = 65: a third of the LM head's work). Columns past nr
     * read the zero-padded panel and are not stored. Reads up to L − MR floats past the last panel (Buffers.a has
     * that slack).
     */
    static void microCols(int kc, float[] ap, int aIdx, float[] bp, int bIdx, int nr, float[] tile, float[] lanes) {
        for (int j = 0; j < nr; j += 4) {
            FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S);
            FloatVector c2 = FloatVector.zero(S), c3 = FloatVector.zero(S);
            for (int k = 0; k < kc; k++) {
                int bk = bIdx + k * NR + j;
                // c[0:MR][j+q] += a[0:MR][k] · b[k][j+q]
                FloatVector a = FloatVector.fromArray(S, ap, aIdx + k * MR);
                c0 = a.fma(FloatVector.broadcast(S, bp[bk]), c0);
                c1 = a.fma(FloatVector.broadcast(S, bp[bk + 1]), c1);
                c2 = a.fma(FloatVector.broadcast(S, bp[bk + 2]), c2);
                c3 = a.fma(FloatVector.broadcast(S, bp[bk + 3]), c3);
            }
            // lanes[q·L + r] = row r of column j + q; copy the columns that exist
            c0.intoArray(lanes, 0);
            c1.intoArray(lanes, L);
            c2.intoArray(lanes, 2 * L);
            c3.intoArray(lanes, 3 * L);
            for (int q = 0; q < 4 && j + q < nr; q++) {
                for (int r = 0; r < MR; r++) {
                    tile[r * NR + j + q] = lanes[q * L + r];
                }
            }
        }
    }

    /** C[mr, nr] = alpha·tile + beta·C (C not read when beta is 0); vector rows for a full tile, scalar at edges. */
    private static void merge(float[] tile, int mr, int nr, float alpha, float beta, float[] c, int ci, int ldc) {
        if (nr == NR) {
            FloatVector va = FloatVector.broadcast(S, alpha);
            FloatVector vb = FloatVector.broadcast(S, beta);
            for (int r = 0; r < mr; r++) {
                int x = ci + r * ldc;
                for (int j = 0; j < NR; j += L) {
                    FloatVector t = FloatVector.fromArray(S, tile, r * NR + j);
                    // C = alpha·t + beta·C, one rounding for the multiply-add
                    FloatVector out = beta == 0f ? t.mul(va) : t.fma(va, FloatVector.fromArray(S, c, x + j).mul(vb));
                    out.intoArray(c, x + j);
                }
            }
        } else {
            for (int r = 0; r < mr; r++) {
                for (int j = 0; j < nr; j++) {
                    int x = ci + r * ldc + j;
                    float t = tile[r * NR + j];
                    c[x] = beta == 0f ? alpha * t : Math.fma(t, alpha, beta * c[x]);
                }
            }
        }
    }
}
