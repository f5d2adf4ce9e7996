package dev.sixpd.nn;

import java.util.Arrays;

/**
 * One parameter tensor of the model, as {@link ModelSpec} lists it: its checkpoint name, shape, initialisation,
 * weight decay, and what it is for.
 *
 * @param name      the checkpoint name ({@code h.0.attn.c_attn.weight}, {@code model.layers.0.mlp.up_proj.weight})
 * @param shape     row-major; linear weights are {@code [out, in]}
 * @param size      the element count as a formula of the size symbols ({@code 3C²}, {@code C·H}, ...)
 * @param init      how {@link Gpt#init} fills it
 * @param decay     whether AdamW decays it (the matrices of linear layers, the untied head; not embeddings,
 *                  biases or norm gains)
 * @param trainable whether the optimizer updates it (every tensor, until adapters freeze the base model)
 * @param role      what the tensor is for: which of P's and N's terms it is
 * @param layer     its block, or {@code -1} outside the blocks
 */
public record ParamSpec(String name, int[] shape, Poly size, Init init, boolean decay, boolean trainable, Role role,
                        int layer) {

    /** How a tensor is initialised (GPT-2's scheme; LLaMA's tensors follow the same one, see {@link Gpt#init}). */
    public enum Init {
        /** 1: norm gains. */
        ONES,
        /** 0: biases. */
        ZEROS,
        /** normal(0, 0.02): weights and embeddings. */
        NORMAL,
        /** normal(0, 0.02/√(2L)): the projections that write into the residual stream. */
        NORMAL_RESIDUAL,
        /**
         * uniform(−1/√in, 1/√in): LoRA's A {@code [r, in]}, as PEFT draws it ({@code kaiming_uniform_(a=√5)}: gain
         * √(2/(1+5)), bound gain·√(3/in) = 1/√in).
         */
        KAIMING_UNIFORM
    }

    /** What the tensor is, for the counts: {@link #WEIGHT} and {@link #HEAD} are the matmul parameters N. */
    public enum Role {
        /** the token embedding (also the LM head when tied) */
        EMBEDDING,
        /** the learned position table */
        POSITION,
        /** a linear layer's weight matrix: multiplied once per token forward */
        WEIGHT,
        /** a linear layer's bias */
        BIAS,
        /** a norm's gain or bias */
        NORM,
        /** the untied LM head */
        HEAD,
        /** a LoRA adapter's A or B: multiplied once per token forward, beside the base weight it adapts */
        ADAPTER
    }

    public ParamSpec {
        shape = shape.clone();
    }

    /** This tensor, trainable or frozen. */
    public ParamSpec withTrainable(boolean t) {
        return new ParamSpec(name, shape, size, init, decay, t, role, layer);
    }

    /** Elements. */
    public long elements() {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ParamSpec p && p.name.equals(name) && Arrays.equals(p.shape, shape);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }
}
