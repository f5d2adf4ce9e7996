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
        assertTrue(header.startsWith("{\"__metadata__\":{\"format\":\"pt\",\"sixpd.checksum\":\"crc32c\","
                + "\"sixpd.metadata_crc32c\":\""), header);
        assertTrue(header.contains("},\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"), header);
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

    /** Replaces {@code from} by {@code to} in the header of {@code f} (re-padded, length rewritten); data unchanged. */
    static void editHeader(Path f, String from, String to) throws Exception {
        byte[] all = Files.readAllBytes(f);
        int n = (int) ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        String h = new String(all, 8, n, StandardCharsets.UTF_8).stripTrailing();
        assertTrue(h.contains(from), h);
        byte[] nh = h.replace(from, to).getBytes(StandardCharsets.UTF_8);
        int padded = (nh.length + 7) & ~7;
        ByteBuffer out = ByteBuffer.allocate(8 + padded + all.length - 8 - n).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(nh);
        for (int i = nh.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        out.put(all, 8 + n, all.length - 8 - n);
        Files.write(f, out.array());
    }

    private void refused(String from, String to, String... words) throws Exception {
        Path f = sample();
        editHeader(f, from, to);
        var e = assertThrows(CheckpointException.class, () -> SafeTensors.read(f));
        for (String w : words) {
            assertTrue(e.getMessage().contains(w), e.getMessage());
        }
    }

    @Test
    void theFormatIsFollowedStrictly() throws Exception {
        // dtype spellings other than F32, BF16, F16
        refused("\"dtype\":\"F32\",\"shape\":[2,3]", "\"dtype\":\"f32\",\"shape\":[2,3]", "'a'", "f32");
        // a shape or offset that is not a JSON integer
        refused("\"shape\":[2,3]", "\"shape\":[2.0,3]", "'a'", "shape");
        refused("\"shape\":[2,3]", "\"shape\":[\"2\",3]", "'a'", "shape");
        refused("\"data_offsets\":[0,24]", "\"data_offsets\":[\"0\",\"24\"]", "'a'", "JSON integers");
        refused("\"data_offsets\":[0,24]", "\"data_offsets\":[0.0,24]", "'a'", "JSON integers");
        // a dimension beyond int, or a product beyond 2^31 values
        refused("\"shape\":[2,3]", "\"shape\":[4294967298,3]", "'a'", "shape");
        refused("\"shape\":[1],", "\"shape\":[65536,65536],", "'b'", "2^31");
        // extra keys, text after the JSON object, a repeated key
        refused("\"shape\":[2,3],", "\"shape\":[2,3],\"extra\":1,", "'a'", "exactly");
    }

    @Test
    void swappedOffsetsAreCaughtByTheChecksums() throws Exception {
        Path f = dir.resolve("two.safetensors");
        SafeTensors.write(f, List.of(SafeTensors.Entry.fp32("x", new float[]{1, 2}, 2),
                SafeTensors.Entry.fp32("y", new float[]{3, 4}, 2)), Map.of());
        editHeader(f, "\"data_offsets\":[0,8]", "\"data_offsets\":[X]");
        editHeader(f, "\"data_offsets\":[8,16]", "\"data_offsets\":[0,8]");
        editHeader(f, "\"data_offsets\":[X]", "\"data_offsets\":[8,16]");
        var e = assertThrows(CheckpointException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("CRC32C") && e.getMessage().contains("tensor 'x'"), e.getMessage());
    }

    @Test
    void gapsOverlapsAndTextAfterTheHeaderAreRefused() throws Exception {
        Path f = dir.resolve("two.safetensors");
        SafeTensors.write(f, List.of(SafeTensors.Entry.fp32("x", new float[]{1, 2}, 2),
                SafeTensors.Entry.fp32("y", new float[]{3, 4}, 2)), Map.of());
        byte[] good = Files.readAllBytes(f);
        editHeader(f, "\"data_offsets\":[0,8]", "\"data_offsets\":[8,16]");
        var e = assertThrows(CheckpointException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("overlaps") || e.getMessage().contains("belong to no tensor"),
                e.getMessage());
        Files.write(f, good);
        editHeader(f, "}}", "}} x");
        e = assertThrows(CheckpointException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("does not parse"), e.getMessage());
        Files.write(f, good);
        editHeader(f, "\"y\":{", "\"x\":{");
        e = assertThrows(CheckpointException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("does not parse") && e.getMessage().contains("x"), e.getMessage());
    }

    @Test
    void filesWithoutChecksumsLoadWithANote() throws Exception {
        Path f = dir.resolve("plain.safetensors");
        // the layout of a file from another tool: no __metadata__ at all
        byte[] head = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"
                .getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + head.length + 8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(head.length).put(head).putFloat(1.5f).putFloat(-2f);
        Files.write(f, b.array());
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.err;
        System.setErr(new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
        SafeTensors.Contents c;
        try {
            c = SafeTensors.read(f);
        } finally {
            System.setErr(old);
        }
        assertArrayEquals(new float[]{1.5f, -2f}, c.tensors().get("w").data());
        String note = err.toString(StandardCharsets.UTF_8);
        assertTrue(note.contains("no checksums") && note.contains("plain.safetensors"), note);
        assertEquals(1, note.lines().count(), note);
    }

    @Test
    void anEditedMetadataValueIsRefused() throws Exception {
        Path f = sample();
        editHeader(f, "\"format\":\"pt\"", "\"format\":\"tf\"");
        var e = assertThrows(CheckpointException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("metadata") && e.getMessage().contains("CRC32C"), e.getMessage());
    }

    @Test
    void aRemovedChecksumIsRefused() throws Exception {
        Path f = sample();
        byte[] all = Files.readAllBytes(f);
        String h = new String(all, 8, (int) ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0),
                StandardCharsets.UTF_8);
        int i = h.indexOf("\"sixpd.crc32c.b\":\"");
        String entry = h.substring(i, h.indexOf(',', i) + 1);
        editHeader(f, entry, "");
        var e = assertThrows(CheckpointException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("'b' has no checksum"), e.getMessage());
    }
}
