package dev.sixpd.nn.io;

import dev.sixpd.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsTest {
    @TempDir
    Path dir;

    private Path sample() throws Exception {
        Path f = dir.resolve("t.safetensors");
        SafeTensors.write(f, List.of(
                SafeTensors.Entry.fp32("a", new float[]{1, -2.5f, 3, Float.MIN_VALUE, -0f, 7}, 2, 3),
                SafeTensors.Entry.fp32("b", new float[]{42}, 1),
                new SafeTensors.Entry("c", DType.BF16, new int[]{2}, new float[]{1.5f, -3f}),
                SafeTensors.Entry.fp32("empty", new float[0], 0, 4)), Map.of("format", "pt"));
        return f;
    }

    @Test
    void roundTripKeepsNamesShapesValuesAndMetadata() throws Exception {
        Path f = sample();
        assertFalse(Files.exists(AtomicFiles.tempFor(f)), "temp file renamed away");
        SafeTensors.Contents c = SafeTensors.read(f);
        assertEquals(List.of("a", "b", "c", "empty"), List.copyOf(c.tensors().keySet()));
        assertArrayEquals(new int[]{2, 3}, c.tensors().get("a").shape());
        assertArrayEquals(new float[]{1, -2.5f, 3, Float.MIN_VALUE, -0f, 7}, c.tensors().get("a").data());
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(c.tensors().get("a").data()[4]));
        assertEquals(DType.BF16, c.tensors().get("c").dtype());
        assertArrayEquals(new float[]{1.5f, -3f}, c.tensors().get("c").data());
        assertEquals("pt", c.metadata().get("format"));
    }

    @Test
    void layoutIsTheSafetensorsFormat() throws Exception {
        byte[] all = Files.readAllBytes(sample());
        ByteBuffer bb = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        long n = bb.getLong(0);
        assertEquals(0, n % 8, "header padded to 8 bytes");
        String header = new String(all, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                + "\"data_offsets\":[0,24]}"), header);
        assertEquals(-2.5f, bb.getFloat(8 + (int) n + 4));
        assertEquals(8 + n + 24 + 4 + 4, all.length);
    }

    @Test
    void truncatedFileIsRefused() throws Exception {
        Path f = sample();
        byte[] all = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(all, all.length - 3));
        var e = assertThrows(CheckpointException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        Files.write(f, Arrays.copyOf(all, 5));
        e = assertThrows(CheckpointException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void trailingBytesAreRefused() throws Exception {
        Path f = sample();
        byte[] all = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(all, all.length + 4));
        var e = assertThrows(CheckpointException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("extra bytes"), e.getMessage());
    }

    @Test
    void garbageHeaderIsRefused() throws Exception {
        Path f = sample();
        byte[] all = Files.readAllBytes(f);
        all[8] = 'X';
        Files.write(f, all);
        var e = assertThrows(CheckpointException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("does not parse"), e.getMessage());
        ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40);
        Files.write(f, all);
        e = assertThrows(CheckpointException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("header length"), e.getMessage());
    }

    @Test
    void shapeThatDisagreesWithOffsetsIsRefused() throws Exception {
        Path f = sample();
        String s = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1).replace("\"shape\":[2,3]", "\"shape\":[3,3]");
        Files.write(f, s.getBytes(StandardCharsets.ISO_8859_1));
        var e = assertThrows(CheckpointException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("'a'") && e.getMessage().contains("needs 36"), e.getMessage());
    }

    @Test
    void unknownDtypeIsRefused() throws Exception {
        Path f = sample();
        String s = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1).replace("\"F32\"", "\"I32\"");
        Files.write(f, s.getBytes(StandardCharsets.ISO_8859_1));
        var e = assertThrows(CheckpointException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("I32"), e.getMessage());
    }

    @Test
    void missingFileIsRefused() {
        var e = assertThrows(CheckpointException.class, () -> SafeTensors.read(dir.resolve("nope")));
        assertTrue(e.getMessage().contains("cannot read"), e.getMessage());
    }
}
