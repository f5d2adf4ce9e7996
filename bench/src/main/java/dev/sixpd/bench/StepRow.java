package dev.sixpd.bench;

/**
 * One row of {@code ./sixpd bench step}: a preset at a thread count, sixpd's step beside PyTorch's.
 *
 * <p>MFU (model FLOPs utilisation) = model FLOPs per step ÷ step time ÷ peak. Model FLOPs are what the ledger
 * recorded in the forward and backward phases of the timed steps, divided by the steps (the optimizer's FLOPs, a
 * thousandth of them, are kept apart, as MFU conventionally leaves them out). The same FLOPs are used for
 * PyTorch's MFU: both sides do the same mathematics on the same shapes. Immutable.
 *
 * @param stepMs sixpd's median step time over the timed steps, ms ({@code stepMsMin}, {@code stepMsMax}: range)
 * @param modelFlops forward + backward FLOPs per step from the ledger
 * @param optimizerFlops AdamW FLOPs per step from the ledger
 * @param peakGflops the measured FP32 FMA peak at {@code threads} threads
 * @param nominalGflops the nominal peak at {@code threads} threads (NaN if unknown)
 * @param torch the PyTorch peer's result, or null
 * @param torchNote why there is no PyTorch result (null if there is one)
 * @param torchBf16 the PyTorch peer with bf16 autocast ({@code --torch-bf16}), or null: a separate row, not
 *        FP32-with-FP32
 */
record StepRow(String preset, int threads, int batch, int context, long params, int steps, double stepMs,
        double stepMsMin, double stepMsMax, long modelFlops, long optimizerFlops, double peakGflops,
        double nominalGflops, TorchPeer.Result torch, String torchNote, TorchPeer.Result torchBf16) {

    /** Tokens per step, {@code batch · context}. */
    long tokens() {
        return (long) batch * context;
    }

    /** sixpd's tokens/s from the median step. */
    double tokensPerS() {
        return tokens() / (stepMs / 1e3);
    }

    /** sixpd tokens/s ÷ PyTorch tokens/s (NaN without the peer). */
    double ratio() {
        return torch == null ? Double.NaN : tokensPerS() / torch.tokensPerS();
    }

    /** sixpd's MFU against the measured peak, a fraction. */
    double mfu() {
        return mfu(modelFlops, stepMs, peakGflops);
    }

    /** sixpd's MFU against the nominal peak, a fraction. */
    double mfuNominal() {
        return mfu(modelFlops, stepMs, nominalGflops);
    }

    /** PyTorch's MFU against the measured peak with the same model FLOPs (NaN without the peer). */
    double torchMfu() {
        return torch == null ? Double.NaN : mfu(modelFlops, torch.stepMs(), peakGflops);
    }

    /** Achieved model GFLOP/s. */
    double gflops() {
        return modelFlops / (stepMs / 1e3) * 1e-9;
    }

    /** {@code flops} per step done in {@code stepMs} ms, as a fraction of {@code peakGflops} (NaN if unknown). */
    static double mfu(double flops, double stepMs, double peakGflops) {
        if (!(peakGflops > 0) || !(stepMs > 0)) {
            return Double.NaN;
        }
        return flops / (stepMs * 1e-3) / (peakGflops * 1e9);
    }

    /** {@code 6·P·D}: the usual estimate of a step's model FLOPs (P parameters, D tokens), attention left out. */
    long sixPD() {
        return 6 * params * tokens();
    }
}
