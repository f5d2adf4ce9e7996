package dev.sixpd.nn;

/**
 * What runs around each layer of {@link Gpt#forward} and {@link Gpt#backward}: nothing in one process; under
 * ZeRO-2 and ZeRO-3 ({@code train/DataParallel}) the gradient of a layer is held only while its backward runs and
 * then reduce-scattered, and under ZeRO-3 its weights are all-gathered before its forward and again before its
 * backward and released after each.
 *
 * <p>The layers are {@link Gpt#paramGroups()}: group 0 holds the parameters outside the blocks (embeddings, final
 * norm, LM head), group {@code l + 1} block l's. Group 0 brackets the whole pass (its tensors are used at both ends:
 * the embedding first and the head last in forward, the head first and the embedding last in backward), the blocks
 * nest inside it one at a time:
 * <pre>
 *   forward:   before(0)  [before(1) block 0 after(1)] ... [before(L) block L-1 after(L)]  after(0)
 *   backward:  before(0)  [before(L) block L-1 after(L)] ... [before(1) block 0 after(1)]  after(0)
 * </pre>
 * Recomputation re-runs block l's forward inside its backward bracket. Decoding ({@link Gpt#decode}) calls no hook:
 * it needs the weights whole. Called on the training thread.
 */
public interface LayerHook {
    /** No hook: every tensor is whole all the time. */
    LayerHook NONE = new LayerHook() { };

    /** Before group {@code g}'s forward. */
    default void beforeForward(int g) {
    }

    /** After group {@code g}'s forward. */
    default void afterForward(int g) {
    }

    /** Before group {@code g}'s backward. */
    default void beforeBackward(int g) {
    }

    /** After group {@code g}'s backward: its parameters' gradients of this backward are complete. */
    default void afterBackward(int g) {
    }
}
