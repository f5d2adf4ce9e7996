package dev.sixpd.nn.layers;

import dev.sixpd.nn.GptConfig;
import dev.sixpd.tensor.Attention;
import dev.sixpd.tensor.DecodeAttention;
import dev.sixpd.tensor.FlashAttention;
import dev.sixpd.tensor.Rope;

import java.util.Arrays;

/**
 * Causal self-attention: q, k, v projections into one fused row per token ({@code [N, W]}, W = (NH + 2·KVH)·HS:
 * q heads, then K heads, then V heads), RoPE on q and k if the model uses it, softmax(q·kᵀ/√HS)·v per head (query
 * head h reads K/V head h / (NH/KVH): grouped-query attention), and the output projection.
 * <pre>
 *   qkv  = [x·Wqᵀ | x·Wkᵀ | x·Wvᵀ] (+ b)      one fused c_attn for GPT-2, three matrices for LLaMA
 *   q, k = rope(q), rope(k)                 with RoPE
 *   y    = attention(qkv)                    [N, C]; naive: the probabilities att [B, NH, T, T] are kept;
 *                                            flash: one log-sum-exp per row, scores recomputed in backward
 *   out  = y·Woᵀ (+ b)
 * </pre>
 * Saved for backward: qkv (after RoPE), att (naive) or lse (flash), y. Not thread-safe.
 */
public final class SelfAttention {
    private final Linear[] qkvProj;  // one fused, or q, k, v
    private final int[] qkvCol;      // each projection's first column in the qkv row
    private final Linear proj;
    private final float[] ropeCos;   // [T, HS/2], null without RoPE
    private final float[] ropeSin;
    private final int C, NH, KVH, HS, W;

    private final boolean flash;
    private final float[] qkv;       // [N, W]         saved
    private final float[] att;       // [B, NH, T, T]  saved: the softmax probabilities (naive)
    private final float[] lse;       // [B, NH, T]     saved: each score row's log-sum-exp (flash)
    private final float[] y;         // [N, C]         saved: the heads' outputs before the projection
    private final float[] dqkv;      // [N, W]         scratch
    private final float[] datt;      // [B, NH, T, T]  scratch
    private final float[] dy;        // [N, C]         scratch
    private float[] row;             // [W]            batched decode: one row of qkv (allocated on first use)
    private float[] yRow;            // [C]            batched decode: one row of y

    /**
     * @param rope {cos, sin} tables {@code [T, HS/2]} (see {@link Rope#table}), or null for no RoPE
     */
    public SelfAttention(GptConfig c, Linear[] qkvProj, Linear proj, float[][] rope, Activations a, int layer, int B, int T) {
        this.qkvProj = qkvProj;
        this.proj = proj;
        C = c.dModel();
        NH = c.heads();
        KVH = c.kvHeads();
        HS = c.headSize();
        W = c.qkvWidth();
        qkvCol = new int[qkvProj.length];
        for (int i = 1; i < qkvProj.length; i++) {
            qkvCol[i] = qkvCol[i - 1] + qkvProj[i - 1].out;
        }
        ropeCos = rope == null ? null : rope[0];
        ropeSin = rope == null ? null : rope[1];
        long N = (long) B * T;
        long attSize = (long) B * NH * T * T;
        flash = c.attention() == GptConfig.Attn.FLASH;
        qkv = a.saved(layer, "qkv", N * W);
        // naive attention keeps the probabilities and differentiates through them; flash keeps a log-sum-exp per
        // row and recomputes each score tile in backward: no T² buffer at all
        att = flash ? null : a.saved(layer, "att (probabilities)", attSize);
        lse = flash ? a.saved(layer, "att log-sum-exp", (long) B * NH * T) : null;
        y = a.saved(layer, "att_y", N * C);
        dqkv = a.scratch("dqkv", N * W);
        datt = flash ? null : a.scratch("datt", attSize);
        dy = a.scratch("datt_y", N * C);
    }

    /** {@code out [N, C] = attention(x [N, C])} over B sequences of T tokens; overwrites out. */
    public void forward(StepContext ctx, float[] out, float[] x, int B, int T) {
        int N = B * T;
        for (int i = 0; i < qkvProj.length; i++) {
            qkvProj[i].forward(ctx, qkv, qkvCol[i], W, x, N);
        }
        if (ropeCos != null) {
            // rotate q (NH heads from column 0) and k (KVH heads from column NH·HS), positions 0..T-1
            Rope.forward(qkv, B, T, W, 0, NH, HS, 0, ropeCos, ropeSin);
            Rope.forward(qkv, B, T, W, NH * HS, KVH, HS, 0, ropeCos, ropeSin);
        }
        ctx.act(qkv, N * W);
        if (flash) {
            FlashAttention.forward(y, lse, qkv, B, T, NH, KVH, HS);
        } else if (KVH == NH) {
            Attention.forward(y, att, qkv, B, T, C, NH);
        } else {
            Attention.forward(y, att, qkv, B, T, NH, KVH, HS);
        }
        ctx.act(y, N * C);
        if (!flash) {
            ctx.act(att, B * NH * T * T);
        }
        proj.forward(ctx, out, 0, C, y, N);
    }

    /** ACCUMULATES {@code dx [N, C]} and the parameter gradients from {@code dout [N, C]}. */
    public void backward(StepContext ctx, float[] dx, float[] dout, float[] x, int B, int T) {
        int N = B * T;
        Arrays.fill(dy, 0, N * C, 0f);
        proj.backward(ctx, dy, dout, 0, C, y, N);
        ctx.act(dy, N * C);
        Arrays.fill(dqkv, 0, N * W, 0f);
        if (flash) {
            FlashAttention.backward(dqkv, dy, y, lse, qkv, B, T, NH, KVH, HS);
        } else if (KVH == NH) {
            Arrays.fill(datt, 0, B * NH * T * T, 0f);
            Attention.backward(dqkv, datt, dy, qkv, att, B, T, C, NH);
        } else {
            Arrays.fill(datt, 0, B * NH * T * T, 0f);
            Attention.backward(dqkv, datt, dy, qkv, att, B, T, NH, KVH, HS);
        }
        if (ropeCos != null) {
            // the rotation is orthogonal: the gradient of the unrotated q, k is the gradient rotated back
            Rope.backward(dqkv, B, T, W, 0, NH, HS, 0, ropeCos, ropeSin);
            Rope.backward(dqkv, B, T, W, NH * HS, KVH, HS, 0, ropeCos, ropeSin);
        }
        ctx.act(dqkv, N * W);
        for (int i = 0; i < qkvProj.length; i++) {
            qkvProj[i].backward(ctx, dx, dqkv, qkvCol[i], W, x, N);
        }
    }

    /**
     * One new token at position {@code pos} against a KV cache, for generation: {@code out [C] = attention(x [C])}
     * over positions 0..pos. Writes the token's k and v rows (after RoPE) into the cache at {@code pos}, then
     * attends over the cached rows with {@link DecodeAttention}. Uses row 0 of the layer's qkv and y buffers;
     * overwrites out[0..C).
     * <pre>
     *   qkv      = [x·Wqᵀ | x·Wkᵀ | x·Wvᵀ] (+ b)        one row [W]
     *   q, k     = rope(q, pos), rope(k, pos)
     *   K[pos], V[pos] = k, v                         cache [pos, KVH, HS]
     *   y        = softmax(q·Kᵀ/√HS)·V over 0..pos     [NH·HS]
     *   out      = y·Woᵀ (+ b)
     * </pre>
     *
     * @param k, v       this layer's cache: contiguous {@code [maxT, KVH, HS]} when {@code blockTable} is null,
     *                   else a pool of pages {@code [pages, pageSize, KVH, HS]}
     * @param blockTable page of positions {@code [i·pageSize, (i+1)·pageSize)} at entry i, or null (contiguous)
     */
    public void decode(StepContext ctx, float[] out, float[] x, int pos, float[] k, float[] v, int[] blockTable,
                       int pageSize) {
        for (int i = 0; i < qkvProj.length; i++) {
            qkvProj[i].decode(ctx, qkv, qkvCol[i], x);
        }
        if (ropeCos != null) {
            // rotate q and k of the one row by the angles of position pos
            Rope.forward(qkv, 1, 1, W, 0, NH, HS, pos, ropeCos, ropeSin);
            Rope.forward(qkv, 1, 1, W, NH * HS, KVH, HS, pos, ropeCos, ropeSin);
        }
        ctx.act(qkv, W);
        // K[pos, :, :] = k, V[pos, :, :] = v (through the block table when paged)
        int slot = blockTable == null ? pos : blockTable[pos / pageSize] * pageSize + pos % pageSize;
        System.arraycopy(qkv, NH * HS, k, slot * KVH * HS, KVH * HS);
        System.arraycopy(qkv, (NH + KVH) * HS, v, slot * KVH * HS, KVH * HS);
        // y = attention of q (columns 0..NH·HS of the row) over positions 0..pos
        if (blockTable == null) {
            DecodeAttention.forward(y, qkv, k, v, pos + 1, NH, KVH, HS);
        } else {
            DecodeAttention.forwardPaged(y, qkv, k, v, blockTable, pageSize, pos + 1, NH, KVH, HS);
        }
        ctx.act(y, C);
        proj.decode(ctx, out, 0, y);
    }

    /**
     * R tokens of R different sequences at once, for batched generation through a paged cache: row r of
     * {@code x [R, C]} is sequence r's new token at position {@code pos[r]}, its pages in {@code tables[r]}. The
     * projections run as one GEMM over the R rows (each weight read once for all of them); RoPE, the cache write
     * and {@link DecodeAttention#forwardPaged} run row by row, as in {@link #decode}. Overwrites {@code out [R, C]}.
     */
    public void decodeBatch(StepContext ctx, float[] out, float[] x, int R, int[] pos, float[] k, float[] v,
                            int[][] tables, int pageSize) {
        for (int i = 0; i < qkvProj.length; i++) {
            qkvProj[i].forward(ctx, qkv, qkvCol[i], W, x, R);
        }
        if (row == null) {
            row = new float[W];
            yRow = new float[C];
        }
        for (int r = 0; r < R; r++) {
            // one row: rope(q, k) at pos[r], K/V into sequence r's pages, attention over its 0..pos[r]
            System.arraycopy(qkv, r * W, row, 0, W);
            if (ropeCos != null) {
                Rope.forward(row, 1, 1, W, 0, NH, HS, pos[r], ropeCos, ropeSin);
                Rope.forward(row, 1, 1, W, NH * HS, KVH, HS, pos[r], ropeCos, ropeSin);
            }
            ctx.act(row, W);
            int slot = tables[r][pos[r] / pageSize] * pageSize + pos[r] % pageSize;
            System.arraycopy(row, NH * HS, k, slot * KVH * HS, KVH * HS);
            System.arraycopy(row, (NH + KVH) * HS, v, slot * KVH * HS, KVH * HS);
            DecodeAttention.forwardPaged(yRow, row, k, v, tables[r], pageSize, pos[r] + 1, NH, KVH, HS);
            System.arraycopy(yRow, 0, y, r * C, C);
        }
        ctx.act(y, R * C);
        proj.forward(ctx, out, 0, C, y, R);
    }
}
