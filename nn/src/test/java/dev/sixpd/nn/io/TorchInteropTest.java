package dev.sixpd.nn.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.TorchReferenceTest;
import dev.sixpd.tensor.Rng;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Interop with PyTorch both ways ({@code bench/peers/torch_interop.py}, Debian's python3-torch; skipped with a
 * message when torch is absent):
 * <ul>
 *   <li>a sixpd checkpoint loads into plain torch modules with {@code load_state_dict(strict=True)} (every key
 *       present, none extra, shapes equal), and torch's FP32 loss on a batch equals sixpd's within FP32 noise
 *       (relative 1e-5; measured below 1e-6);</li>
 *   <li>a GPT-2-layout Hugging Face directory written by torch (Conv1D weights [in, out], BF16, the causal-mask
 *       buffers, a byte-level vocab.json from GPT-2's own bytes_to_unicode) loads into sixpd, whose FP32 loss
 *       equals torch's float64 loss within FP32 noise, and whose tokenizer gives the ids Python gives.</li>
 * </ul>
 */
class TorchInteropTest {
    private static final Path PYTHON = Path.of(System.getProperty("sixpd.python", "/usr/bin/python3"));
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double TOL = 1e-5;
    private static String skip;

    @TempDir
    Path dir;

    @BeforeAll
    static void torch() {
        skip = TorchReferenceTest.torchMissing("TorchInteropTest");
    }

    private static JsonNode python(String... args) throws Exception {
        Path script = Path.of("").toAbsolutePath().getParent().resolve("bench/peers/torch_interop.py");
        assertTrue(Files.exists(script), script + " is missing from the checkout");
        List<String> cmd = new ArrayList<>(List.of(PYTHON.toString(), script.toString()));
        cmd.addAll(List.of(args));
        String out = TorchReferenceTest.runPython(cmd, "torch_interop.py");
        return JSON.readTree(out.substring(out.lastIndexOf('\n', out.length() - 2) + 1));
    }

    private static int[] random(int n, int V, long seed) {
        Rng r = new Rng(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(V);
        }
        return t;
    }

    @Test
    void sixpdCheckpointsLoadStrictlyIntoTorch() throws Exception {
        Assumptions.assumeTrue(skip == null, skip);
        List<GptConfig> configs = List.of(GptConfig.gpt2(40, 9, 2, 16, 4), GptConfig.gpt2(40, 9, 2, 16, 4)
                .withTieHead(false), GptConfig.llama(40, 9, 2, 16, 4, 2));
        int i = 0;
        for (GptConfig cfg : configs) {
            Gpt m = HfFixture.randomModel(cfg, 50 + i, "F32");
            Path ck = dir.resolve("ck" + i);
            Checkpoint.save(ck, 7, m, dev.sixpd.nn.data.Tokenizer.train("char", "abcdefghijklmnopqrstuvwxyz0123456789"
                    + ".,;:", 0), null, null, null);
            Checkpoint.release(ck);
            int[] tokens = random(9, 40, 60 + i);
            int[] targets = random(9, 40, 70 + i);
            double loss = m.forward(tokens, targets, 1, 9);
            JsonNode r = python("--sixpd", Checkpoint.latestDir(ck).toString(), "--tokens",
                    JSON.writeValueAsString(tokens), "--targets", JSON.writeValueAsString(targets));
            assertEquals(m.params().size(), r.get("keys").asInt(), cfg + ": " + r);
            double rel = Math.abs(loss - r.get("loss").asDouble()) / loss;
            System.out.printf("TorchInteropTest: sixpd %s -> torch strict: loss %.7f vs %.7f (rel %.1e)%n", cfg,
                    loss, r.get("loss").asDouble(), rel);
            assertTrue(rel <= TOL, cfg + ": sixpd loss " + loss + ", torch " + r);
            i++;
        }
    }

    @Test
    void aGpt2DirectoryWrittenByTorchLoadsIntoSixpd() throws Exception {
        Assumptions.assumeTrue(skip == null, skip);
        int[] tokens = random(9, 256, 81);
        int[] targets = random(9, 256, 82);
        Path hf = dir.resolve("torch-gpt2");
        String text = "héllo wörld, 世界 😀\n";
        JsonNode r = python("--write-hf", hf.toString(), "--shape", "260,9,2,16,4", "--tokens",
                JSON.writeValueAsString(tokens), "--targets", JSON.writeValueAsString(targets), "--text", text);
        ModelDir md = ModelDir.open(hf);
        assertEquals(GptConfig.gpt2(260, 9, 2, 16, 4), md.config());
        Gpt m = new Gpt(md.config(), 1);
        md.load(m);
        double loss = m.forward(tokens, targets, 1, 9);
        double rel = Math.abs(loss - r.get("loss").asDouble()) / loss;
        System.out.printf("TorchInteropTest: torch GPT-2 layout (BF16) -> sixpd: loss %.7f vs torch float64 %.7f"
                + " (rel %.1e)%n", loss, r.get("loss").asDouble(), rel);
        assertTrue(rel <= TOL, "sixpd loss " + loss + ", torch " + r);
        int[] want = JSON.treeToValue(r.get("text_ids"), int[].class);
        assertArrayEquals(want, md.tokenizer().encode(text));
        assertEquals(text, md.tokenizer().decode(want));
    }
}
