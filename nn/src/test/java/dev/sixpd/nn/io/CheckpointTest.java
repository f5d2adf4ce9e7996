package dev.sixpd.nn.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.GptConfig;
import dev.sixpd.nn.UserException;
import dev.sixpd.optim.Param;
import dev.sixpd.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointTest {
    @TempDir
    Path dir;

    private List<String> entries(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void savesCommitThroughLatestAndKeepTheLastK() throws Exception {
        Path out = dir.resolve("run");
        Checkpoint.prepare(out, 2);
        Fixture f = new Fixture(1);
        f.save(out, 1);
        f.save(out, 2);
        Fixture last = new Fixture(3);
        last.save(out, 3);
        assertEquals(List.of(".lock", "LATEST", "step-00000002", "step-00000003"), entries(out));
        assertEquals(List.of("model.safetensors", "optimizer.safetensors", "state.json", "state.json.crc32c"),
                entries(out.resolve("step-00000003")));
        Checkpoint.State st = Checkpoint.readState(out);
        assertEquals(3, st.step());
        assertEquals(out.resolve("step-00000003"), st.files());
        last.assertSameAs(Fixture.load(out));
        // the previous one is complete too, and loads when named directly
        assertEquals(2, Checkpoint.readState(out.resolve("step-00000002")).step());
        f.assertSameAs(Fixture.load(out.resolve("step-00000002")));
        // saving the same step again (a second run into the same --out) makes a new directory, never rewrites one
        last.save(out, 3);
        assertEquals(out.resolve("step-00000003-2"), Checkpoint.readState(out).files());
        assertTrue(Files.isDirectory(out.resolve("step-00000003")));
    }

    @Test
    void aLlamaCheckpointCarriesHuggingFacesConfig() throws Exception {
        GptConfig cfg = GptConfig.preset("llama-tiny", Fixture.TOK.vocabSize());
        Gpt model = new Gpt(cfg, 1, 7);
        Path out = dir.resolve("llama");
        Checkpoint.save(out, 5, model, Fixture.TOK, null, null, Checkpoint.newObject());
        Path step = Checkpoint.readState(out).files();
        assertEquals(List.of("config.json", "model.safetensors", "state.json", "state.json.crc32c"), entries(step));
        JsonNode hf = new ObjectMapper().readTree(step.resolve("config.json").toFile());
        assertEquals("LlamaForCausalLM", hf.get("architectures").get(0).asText());
        assertEquals(cfg.dModel(), hf.get("hidden_size").asInt());
        assertEquals(cfg.mlpHidden(), hf.get("intermediate_size").asInt());
        assertEquals(cfg.heads(), hf.get("num_attention_heads").asInt());
        assertEquals(cfg.kvHeads(), hf.get("num_key_value_heads").asInt());
        assertEquals(cfg.layers(), hf.get("num_hidden_layers").asInt());
        assertEquals(cfg.vocab(), hf.get("vocab_size").asInt());
        assertEquals(cfg.context(), hf.get("max_position_embeddings").asInt());
        assertEquals(1e-5, hf.get("rms_norm_eps").asDouble(), 1e-12);
        assertEquals(10000.0, hf.get("rope_theta").asDouble());
        assertFalse(hf.get("tie_word_embeddings").asBoolean());
        // every tensor under the name LlamaForCausalLM gives it
        Map<String, SafeTensors.Entry> ts = SafeTensors.read(step.resolve(Checkpoint.MODEL)).tensors();
        assertTrue(ts.containsKey("model.layers.0.self_attn.q_proj.weight"), ts.keySet().toString());
        assertTrue(ts.containsKey("lm_head.weight"), ts.keySet().toString());
        // a GPT-2 checkpoint has no config.json (its names are not Hugging Face's GPT2LMHeadModel's)
        Path gpt2 = dir.resolve("gpt2");
        new Fixture(1).save(gpt2, 1);
        assertFalse(Files.exists(Checkpoint.readState(gpt2).files().resolve("config.json")));
    }

    @Test
    void keepIsValidated() {
        var e = assertThrows(UserException.class, () -> Checkpoint.prepare(dir.resolve("k"), 0));
        assertTrue(e.getMessage().contains("--keep"), e.getMessage());
    }

    @Test
    void aFailedSaveLeavesThePreviousCheckpointAndNoLeftovers() throws Exception {
        Path out = dir.resolve("fail");
        Fixture f = new Fixture(5);
        f.save(out, 1);
        // the next save's temporary directory name is taken by a file: the save fails part-way
        Files.writeString(out.resolve(".tmp-step-00000002"), "in the way");
        var e = assertThrows(java.io.IOException.class, () -> new Fixture(6).save(out, 2));
        assertTrue(e.getMessage().contains("step 2") && e.getMessage().contains("step-00000001")
                && e.getMessage().contains("still the latest"), e.getMessage());
        assertEquals(1, Checkpoint.readState(out).step());
        f.assertSameAs(Fixture.load(out));
    }

    @Test
    void leftoversOfAnInterruptedRunAreRemovedAtStart() throws Exception {
        Path out = dir.resolve("left");
        Fixture f = new Fixture(7);
        f.save(out, 4);
        Path other = dir.resolve("left2");
        Files.createDirectories(other);
        // copy the committed checkpoint as another run's directory, then add what a crash leaves behind
        Files.copy(out.resolve("LATEST"), other.resolve("LATEST"));
        Files.createDirectories(other.resolve("step-00000004"));
        for (String n : entries(out.resolve("step-00000004"))) {
            Files.copy(out.resolve("step-00000004").resolve(n), other.resolve("step-00000004").resolve(n));
        }
        Files.createDirectories(other.resolve(".tmp-step-00000005"));
        Files.writeString(other.resolve(".tmp-step-00000005").resolve("model.safetensors"), "partial");
        Files.createDirectories(other.resolve("step-00000005")); // renamed, never committed
        Files.writeString(other.resolve("LATEST.tmp"), "{");
        Files.writeString(other.resolve("state.json.tmp"), "{");
        Checkpoint.prepare(other, 2);
        assertEquals(List.of(".lock", "LATEST", "step-00000004"), entries(other));
        f.assertSameAs(Fixture.load(other));
    }

    @Test
    void aSecondWriterIsRefusedWithAClearMessage() throws Exception {
        Path out = dir.resolve("locked");
        Files.createDirectories(out);
        try (FileChannel ch = FileChannel.open(out.resolve(".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock held = ch.lock()) {
            assertNotNull(held);
            var e = assertThrows(UserException.class, () -> Checkpoint.prepare(out, 2));
            assertTrue(e.getMessage().contains("another sixpd run") && e.getMessage().contains("--out"),
                    e.getMessage());
        }
    }

    @Test
    void anUnwritableOutIsFoundBeforeTraining() throws Exception {
        Path file = dir.resolve("a-file");
        Files.writeString(file, "x");
        var e = assertThrows(UserException.class, () -> Checkpoint.prepare(file.resolve("sub"), 2));
        assertTrue(e.getMessage().contains("cannot create the checkpoint directory"), e.getMessage());
    }

    @Test
    void olderFlatLayoutStillLoads() throws Exception {
        Path out = dir.resolve("new");
        Fixture f = new Fixture(9);
        f.save(out, 6);
        Path flat = dir.resolve("flat");
        Files.createDirectories(flat);
        Path step = Checkpoint.readState(out).files();
        for (String n : List.of(Checkpoint.MODEL, Checkpoint.OPTIMIZER, Checkpoint.STATE)) {
            Files.copy(step.resolve(n), flat.resolve(n));
        }
        Checkpoint.State st = Checkpoint.readState(flat);
        assertEquals(6, st.step());
        assertEquals(flat, st.files());
        f.assertSameAs(Fixture.load(flat));
        // training on into it: the new layout takes over and the flat files go
        new Fixture(10).save(flat, 7);
        assertEquals(7, Checkpoint.readState(flat).step());
        assertFalse(Files.exists(flat.resolve(Checkpoint.STATE)));
    }

    /** Files written with the embeddings' other spelling (wte vs wte.weight, and their Adam slots) load. */
    @Test
    void legacyParameterNamesLoad() throws Exception {
        Fixture f = new Fixture(11);
        Path out = dir.resolve("names");
        f.save(out, 3);
        Path files = Checkpoint.readState(out).files();
        int renamed = 0;
        List<SafeTensors.Entry> ps = new ArrayList<>();
        for (Param p : f.params()) {
            String a = Checkpoint.alias(p.name);
            renamed += a != null ? 1 : 0;
            ps.add(new SafeTensors.Entry(a != null ? a : p.name, DType.FP32, p.shape(), p.data));
        }
        assertEquals(2, renamed, "wte and wpe have another spelling");
        List<SafeTensors.Entry> os = new ArrayList<>();
        for (Map.Entry<String, float[]> e : f.opt.state().entrySet()) {
            String k = e.getKey();
            int dot = k.lastIndexOf('.');
            String a = Checkpoint.alias(k.substring(0, dot));
            os.add(SafeTensors.Entry.fp32(a != null ? a + k.substring(dot) : k, e.getValue(), e.getValue().length));
        }
        assertTrue(os.stream().anyMatch(e -> e.name().equals(Checkpoint.alias(f.params().get(0).name) + ".m")));
        Files.delete(files.resolve(Checkpoint.MODEL));
        Files.delete(files.resolve(Checkpoint.OPTIMIZER));
        SafeTensors.write(files.resolve(Checkpoint.MODEL), ps, Map.of("sixpd.step", "3"));
        SafeTensors.write(files.resolve(Checkpoint.OPTIMIZER), os, Map.of("sixpd.step", "3",
                "sixpd.optimizer_step", "0"));
        f.assertSameAs(Fixture.load(out));
    }

    @Test
    void anEditedStateOrTensorIsNamed() throws Exception {
        Path out = dir.resolve("crc");
        new Fixture(12).save(out, 2);
        Path files = Checkpoint.readState(out).files();
        Path m = files.resolve(Checkpoint.MODEL);
        byte[] b = Files.readAllBytes(m);
        b[b.length - 1] ^= 1; // the last value of the last tensor
        Files.write(m, b);
        Checkpoint.State st = Checkpoint.readState(out);
        var e = assertThrows(CheckpointException.class, () -> Checkpoint.loadModel(st, new Fixture(1).model));
        assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains("CRC32C")
                && e.getMessage().contains("tensor '"), e.getMessage());
        Path s = files.resolve(Checkpoint.STATE);
        Files.writeString(s, Files.readString(s).replace("\"step\" : 2", "\"step\" : 20"));
        e = assertThrows(CheckpointException.class, () -> Checkpoint.readState(out));
        assertTrue(e.getMessage().contains("state.json is corrupt"), e.getMessage());
    }
}
