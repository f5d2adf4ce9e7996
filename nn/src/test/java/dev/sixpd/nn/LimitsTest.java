package dev.sixpd.nn;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The memory check before a model is built sizes it from the spec and the layers' own buffer requests. */
class LimitsTest {
    private static final long GIB = 1L << 30;

    @Test
    void flashAttentionIsCheckedWithoutTheTSquaredBuffers() {
        // small at T = 2048, batch 16: naive attention needs about 7 GB (train --dry-run), flash 1.4 GB
        GptConfig naive = GptConfig.preset("small", 96).withSizes(2048, 0, 0, 0);
        GptConfig flash = naive.withAttention(GptConfig.Attn.FLASH);
        Assumptions.assumeTrue(Runtime.getRuntime().maxMemory() > 2 * GIB
                        && Runtime.getRuntime().maxMemory() < 6 * GIB,
                "needs a heap between 2 and 6 GiB (the build's tests run with -Xmx4g) to tell the two apart, this JVM has "
                        + Runtime.getRuntime().maxMemory() / GIB + " GiB");
        UserException e = assertThrows(UserException.class, () -> Limits.checkTraining(naive, 16, false, 1));
        assertTrue(e.getMessage().contains("GiB") && e.getMessage().contains("--attention flash"), e.getMessage());
        assertDoesNotThrow(() -> Limits.checkTraining(flash, 16, false, 1));
    }

    @Test
    void loraIsCheckedWithItsFrozenBaseHoldingValuesAlone() {
        // ~201M parameters, tiny activations: full training holds 5 floats a parameter (values, gradient, m, v and a
        // transient copy: ~4 GB), LoRA 2 for the frozen base (~1.6 GB) and 5 for its adapters
        GptConfig big = GptConfig.gpt2(96, 8, 16, 1024, 16);
        Assumptions.assumeTrue(Runtime.getRuntime().maxMemory() > 2.5 * GIB
                        && Runtime.getRuntime().maxMemory() < 4 * GIB + GIB / 2,
                "needs a heap between 2.5 and 4.5 GiB (the build's tests run with -Xmx4g), this JVM has "
                        + Runtime.getRuntime().maxMemory() / GIB + " GiB");
        UserException e = assertThrows(UserException.class, () -> Limits.checkTraining(big, 1, false, 1));
        assertTrue(e.getMessage().contains("GiB"), e.getMessage());
        Lora lora = Lora.of(big, 8, null, null, 0.0);
        assertDoesNotThrow(() -> Limits.checkTraining(big, lora, 1, false, 1));
    }

    @Test
    void aHugeLayerCountIsRefusedWithoutBuildingItsLayers() {
        // a million layers of small: the check sizes one and two layers and multiplies; it must not build 10^6
        GptConfig c = GptConfig.preset("small", 96).withSizes(0, 1_000_000, 0, 0);
        UserException e = assertThrows(UserException.class, () -> Limits.checkTraining(c, 16, false, 1));
        assertTrue(e.getMessage().contains("smaller model"), e.getMessage());
    }

    @Test
    void theNaiveAttentionBufferMustFitInAnArray() {
        GptConfig c = GptConfig.preset("small", 96).withSizes(16384, 0, 0, 0); // 16·4·16384² > 2^31
        UserException e = assertThrows(UserException.class, () -> Limits.checkTraining(c, 16, false, 1));
        assertTrue(e.getMessage().contains("[B, NH, T, T]") && e.getMessage().contains("--attention flash"),
                e.getMessage());
    }
}
