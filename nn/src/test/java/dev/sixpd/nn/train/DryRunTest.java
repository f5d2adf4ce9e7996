package dev.sixpd.nn.train;

import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.ModelChoice;
import dev.sixpd.nn.ledger.ActivationLayout;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code train --dry-run}: the memory of shapes too large to allocate, from the layers' own buffer requests. */
class DryRunTest {
    private static String dry(GptConfig.Attn attention, int context) {
        TrainSettings s = TrainSettings.builder().model(new ModelChoice("tiny", context, 0, 0, 0, 0, 0, null, null,
                null, null, null, null, attention)).data(TrainSettings.DataSpec.markov(20_000, 3)).batch(8).build();
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        Trainer.dryRun(s, new PrintStream(b, true, StandardCharsets.UTF_8));
        return b.toString(StandardCharsets.UTF_8);
    }

    private static long total(String out) {
        Matcher m = Pattern.compile("a step needs ([0-9,]+) bytes").matcher(out);
        assertTrue(m.find(), out);
        return Long.parseLong(m.group(1).replace(",", ""));
    }

    @Test
    void naiveAttentionsT2TermsAreReportedWithoutAllocatingThem() {
        // tiny at context 16,384, batch 8: the naive probabilities alone are 2 layers × 8 × 4 heads × T² × 4 bytes
        // = 68.7 GB, far beyond the test heap; the dry run allocates nothing
        String naive = dry(GptConfig.Attn.NAIVE, 16_384);
        String flash = dry(GptConfig.Attn.FLASH, 16_384);
        assertTrue(naive.contains("nothing allocated"), naive);
        long t2 = 2L * 8 * 4 * 16_384L * 16_384 * 4;
        // saved probabilities and their gradient scratch go, one log-sum-exp per row comes
        assertEquals(total(naive) - t2 - 4L * 8 * 4 * 16_384 * 16_384 + 2L * 4 * 8 * 4 * 16_384, total(flash),
                naive + "\n" + flash);
        assertTrue(flash.contains("flash attention: no [B, NH, T, T] probabilities"), flash);
    }

    @Test
    void theDryLayoutIsTheAllocatedOne() {
        GptConfig c = GptConfig.preset("llama-tiny", 50).withAttention(GptConfig.Attn.FLASH);
        ActivationLayout dry = Gpt.layout(c, 3, true);
        assertEquals(new Gpt(c, 3, true).layout(), dry);
    }
}
