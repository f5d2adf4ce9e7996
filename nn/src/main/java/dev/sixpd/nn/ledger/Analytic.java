package dev.sixpd.nn.ledger;

import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.ModelSpec;
import dev.sixpd.optim.AdamW;
import dev.sixpd.tensor.Attention;

/**
 * The textbook cost formulas for one GPT-2 shape, computed exactly (in {@code long}) the way sixpd's kernels
 * execute them, so that the ledger's measured matmul FLOPs can be compared for equality.
 *
 * <p>Notation: V vocabulary, T sequence length of the run (≤ the context), L layers, C channels, NH (a) heads,
 * B sequences per forward pass, D tokens processed. FLOPs follow the ledger's convention: a multiply-add is
 * 2 FLOPs.
 *
 * <ul>
 * <li>P, all parameters: {@code V·C + Tctx·C + L·(12C² + 13C) + 2C} (the tied LM head is wte, counted once).</li>
 * <li>N, parameters that take part in matmuls: {@code L·12C² + V·C} — the four linear weights of each block
 *     (3C² + C² + 4C² + 4C²) and the LM head, which is wte used once per token as a matmul. Biases, LayerNorm
 *     gains and the position embedding are not multiplied; the token embedding's lookup is not a matmul.</li>
 * <li>Forward matmul FLOPs per token: {@code 2·N} (each linear layer {@code 2·in·out}, the LM head
 *     {@code 2·V·C}); backward {@code 4·N} (dX and dW, each as large as the forward product).</li>
 * <li>Attention QKᵀ and A·V: sixpd's {@link Attention} computes only the unmasked (causal) pairs
 *     {@code t2 ≤ t}, {@code T(T+1)/2} per (b, head), and records exactly that: {@code 2·B·C·T·(T+1)} per layer
 *     per forward ({@link Attention#matmulFlopsForward}), i.e. {@code 2·L·C·(T+1)} per token. The textbook's
 *     full-context count is {@code 4·L·T·C} per token (Kaplan et al. 2020), about twice as much for large T.
 *     Backward: twice the forward.</li>
 * <li>Optimizer (AdamW, per step): {@value AdamW#FLOPS_PER_ELEMENT}·P + {@value AdamW#DECAY_FLOPS_PER_ELEMENT}
 *     per decayed element; sixpd decays the linear weights only, {@code L·12C²} elements
 *     ({@code Param.defaultDecay}).</li>
 * </ul>
 *
 * <p>Immutable and thread-safe.
 */
public final class Analytic {
    public final GptConfig config;
    /** Sequences per forward pass. */
    public final int batch;
    /** Tokens per sequence in the run (≤ {@code config.context()}). */
    public final int seqLen;

    /** The tensors of the model: the source of P, N and the decayed elements. */
    public final ModelSpec spec;

    private final long L;
    private final long C;

    /** The formulas for {@code config} run on batches of {@code batch} sequences of {@code seqLen} tokens. */
    public Analytic(GptConfig config, int batch, int seqLen) {
        this(ModelSpec.of(config), batch, seqLen);
    }

    /**
     * The formulas for the tensors of {@code spec} (frozen tensors skip their dW, LoRA adapters add their
     * {@code 2·Na} forward and {@code 4·Na} backward per token).
     */
    public Analytic(ModelSpec spec, int batch, int seqLen) {
        GptConfig config = spec.config;
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        }
        if (seqLen < 1 || seqLen > config.context()) {
            throw new IllegalArgumentException("sequence length " + seqLen + " outside [1, " + config.context()
                    + "] (the model's context)");
        }
        this.config = config;
        this.batch = batch;
        this.seqLen = seqLen;
        this.spec = spec;
        L = config.layers();
        C = config.dModel();
    }

    // ---------------------------------------------------------------------------------------------------- counts

    /** P: every parameter once (a tied head is the token embedding); GPT-2: V·C + T·C + L·(12C² + 13C) + 2C. */
    public long parameters() {
        return spec.parameters();
    }

    /** N: parameters multiplied in matmuls, the LM head counted for its use as head; GPT-2: L·12C² + V·C. */
    public long matmulParameters() {
        return spec.matmulParameters();
    }

    /** Nb: the linear weights of one block (GPT-2: 12C²; SwiGLU, GQA change it, see {@link ModelSpec}). */
    public long blockMatmulParameters() {
        return spec.blockMatmulParameters();
    }

    /** The elements AdamW decays (the linear weights and an untied head; not biases, gains, or embeddings). */
    public long decayedParameters() {
        return spec.decayedParameters();
    }

    /** Tokens in one forward pass: B·T. */
    public long tokensPerPass() {
        return (long) batch * seqLen;
    }

    // ---------------------------------------------------------------------------------------------------- FLOPs

    /** Na: the LoRA adapters' elements (0 without), each multiplied once per token forward. */
    public long adapterParameters() {
        return spec.adapterParameters();
    }

    /** Nt: the part of N that trains (N unless tensors are frozen): backward computes dW for these only. */
    public long trainableMatmulParameters() {
        return spec.trainableMatmulParameters();
    }

    /** 2·(N + Na): forward matmul FLOPs (kind MATMUL) per token. */
    public long forwardMatmulFlopsPerToken() {
        return 2 * (matmulParameters() + adapterParameters());
    }

    /**
     * {@code 2·N + 2·Nt + 4·Na}: backward matmul FLOPs per token — dX of every matmul (2·N), dW of the trainable
     * ones (2·Nt), and the adapters' dA, dB, du and dX (4·Na). Plain training: 4·N; LoRA: 2·N + 4·Na.
     */
    public long backwardMatmulFlopsPerToken() {
        return 2 * matmulParameters() + 2 * trainableMatmulParameters() + 4 * adapterParameters();
    }

    /** 2·N·B·T: forward matmul FLOPs (kind MATMUL) of one forward pass. */
    public long forwardMatmulFlopsPerPass() {
        return Math.multiplyExact(forwardMatmulFlopsPerToken(), tokensPerPass());
    }

    /** 2·L·C·(T+1): attention QKᵀ and A·V FLOPs per token as executed (causal pairs only). */
    public long forwardAttentionFlopsPerToken() {
        return 2 * L * C * (seqLen + 1L);
    }

    /**
     * L·2·B·C·T·(T+1): attention matmul FLOPs (kind ATTENTION_MATMUL) of one forward pass, as executed and recorded
     * by {@link Attention#matmulFlopsForward} (causal pairs only).
     */
    public long forwardAttentionFlopsPerPass() {
        return Math.multiplyExact(L, Attention.matmulFlopsForward(batch, seqLen, (int) C, config.heads()));
    }

    /** 4·L·T·C: the textbook's full-context attention FLOPs per token (QKᵀ and A·V over all T×T pairs). */
    public long forwardAttentionFlopsPerTokenFullContext() {
        return 4 * L * seqLen * C;
    }

    /** {@code (2·N + 2·Nt + 4·Na)·B·T}: backward matmul FLOPs of one pass; 4·N·B·T with nothing frozen. */
    public long backwardMatmulFlopsPerPass() {
        return Math.multiplyExact(backwardMatmulFlopsPerToken(), tokensPerPass());
    }

    /** 2 × forward: backward attention matmul FLOPs of one pass (dA, dV, dQ, dK over the causal pairs). */
    public long backwardAttentionFlopsPerPass() {
        return Math.multiplyExact(L, Attention.matmulFlopsBackward(batch, seqLen, (int) C, config.heads()));
    }

    /**
     * Matmul FLOPs of re-running {@code blocks} blocks' forward once (activation recomputation): the blocks'
     * linear layers {@code 2·Nb·B·T} each; no LM head.
     */
    public long recomputeMatmulFlopsPerPass(int blocks) {
        return Math.multiplyExact(2L * blocks * (blockMatmulParameters() + spec.blockAdapterParameters()),
                tokensPerPass());
    }

    /** Attention matmul FLOPs of re-running {@code blocks} blocks' forward once: {@code blocks·2·B·C·T·(T+1)}. */
    public long recomputeAttentionFlopsPerPass(int blocks) {
        return Math.multiplyExact((long) blocks, Attention.matmulFlopsForward(batch, seqLen, (int) C, config.heads()));
    }

    /**
     * AdamW FLOPs of one optimizer step: {@code 14·P + 2·L·12C²} with weight decay, {@code 14·P} without (P and
     * the decayed elements counting trainable tensors only)
     * ({@link AdamW#FLOPS_PER_ELEMENT}, {@link AdamW#DECAY_FLOPS_PER_ELEMENT}).
     */
    public long adamwFlopsPerStep(boolean weightDecay) {
        return AdamW.FLOPS_PER_ELEMENT * spec.trainableParameters()
                + (weightDecay ? AdamW.DECAY_FLOPS_PER_ELEMENT * spec.trainableDecayedParameters() : 0);
    }

    /** 6·P·D: the textbook training cost (2 forward + 4 backward FLOPs per parameter per token). */
    public static long sixPD(long p, long d) {
        return Math.multiplyExact(6 * p, d);
    }

    /** 8·P·D: the textbook cost with full activation recomputation (the forward runs twice). */
    public static long eightPD(long p, long d) {
        return Math.multiplyExact(8 * p, d);
    }

    // ---------------------------------------------------------------------------------------------------- memory

    /**
     * Bytes of keys and values a generator caches per position, FP32: {@code 2·L·KVH·HS·4} (K and V of every
     * layer's K/V heads; grouped-query attention shrinks it by NH/KVH).
     */
    public long kvCacheBytesPerToken() {
        return 2L * L * config.kvHeads() * config.headSize() * 4;
    }

    /** 16·P bytes: FP32 training with Adam — 4 master/weights + 4 gradients + 8 for m and v. */
    public static long modelStateBytesFp32Adam(long p) {
        return 16 * p;
    }

    /** (2 + 2 + 12)·P = 16·P bytes: mixed precision — 16-bit weights and gradients, FP32 master, m and v. */
    public static long modelStateBytesMixedAdam(long p) {
        return (2 + 2 + 12) * p;
    }

    /** 20·P bytes: mixed precision with an FP32 copy of the gradients as well: (2 + 2 + 4 + 12)·P. */
    public static long modelStateBytesMixedAdamFp32Grads(long p) {
        return (2 + 2 + 4 + 12) * p;
    }

    /**
     * Korthikanti et al. 2022 (eq. 1), activations of one transformer layer with 16-bit activations, no tensor
     * parallelism, no recomputation: {@code s·b·h·(34 + 5·a·s/h) = 34·s·b·h + 5·a·s²·b} bytes. Of these:
     * attention {@code 11·s·b·h + 5·a·s²·b} (QKV input 2, Q and K 4, V 2, projection input 2, dropout mask 1;
     * softmax output 2, its dropout mask 1, dropout output 2 — per a·s²·b), MLP {@code 19·s·b·h} (input 2, GELU
     * input 8, GELU output 8, dropout mask 1), the two LayerNorm inputs {@code 4·s·b·h}.
     */
    public static long korthikantiLayerBytes16(long s, long b, long h, long a) {
        return 34 * s * b * h + 5 * a * s * s * b;
    }

    /** The same for FP32 activations: twice the 16-bit figure (masks included, as the textbook scales it). */
    public static long korthikantiLayerBytes32(long s, long b, long h, long a) {
        return 2 * korthikantiLayerBytes16(s, b, h, a);
    }

    /**
     * Per layer with full recomputation: only the block input is kept, {@code 2·s·b·h} bytes at 16 bits (one layer's
     * full activations are live again while it is recomputed; count that once on top).
     */
    public static long korthikantiLayerBytesRecompute16(long s, long b, long h) {
        return 2 * s * b * h;
    }

    /** Dropout terms of {@link #korthikantiLayerBytes16} sixpd does not have: {@code 2·s·b·h + 3·a·s²·b}. */
    public static long korthikantiDropoutBytes16(long s, long b, long h, long a) {
        return 2 * s * b * h + 3 * a * s * s * b;
    }
}
