package dev.sixpd.nn.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Mutates a valid checkpoint a few thousand times (bit flips, truncation, appended and overwritten bytes, header
 * edits the format forbids, deleted files) and loads each through the real loader ({@code readState},
 * {@code loadModel}, {@code loadOptimizer}): every load must either be refused with a {@link CheckpointException}
 * or give exactly the original parameters, optimizer state and {@code state.json}. Seeded; stops after 3,000
 * mutations or 20 s, whichever comes first.
 */
class CheckpointFuzzTest {
    private static final int MUTATIONS = 3000;
    private static final long BUDGET_NS = 20_000_000_000L;

    @TempDir
    Path dir;

    @Test
    void everyMutatedCheckpointIsRefusedOrIdentical() throws Exception {
        Path base = dir.resolve("base");
        Checkpoint.prepare(base, 2);
        new Fixture(1).save(base, 1); // an older complete checkpoint a damaged LATEST could point at
        Fixture orig = new Fixture(2);
        orig.save(base, 2);
        Path step = Checkpoint.readState(base).files();
        String origState = Checkpoint.readState(base).json().toString();
        List<String> files = List.of(Checkpoint.LATEST, rel(base, step.resolve(Checkpoint.MODEL)),
                rel(base, step.resolve(Checkpoint.OPTIMIZER)), rel(base, step.resolve(Checkpoint.STATE)),
                rel(base, step.resolve(Checkpoint.STATE_CRC)));
        double[] weight = {0.15, 0.35, 0.3, 0.15, 0.05};

        Fixture sink = new Fixture(999); // loaded into again and again: a successful load overwrites every value
        Random r = new Random(15);
        Path work = dir.resolve("work");
        int refused = 0;
        int identical = 0;
        int n = 0;
        long t0 = System.nanoTime();
        PrintStream err = System.err;
        System.setErr(new PrintStream(OutputStream.nullOutputStream())); // the "no checksum" notes
        try {
            for (; n < MUTATIONS && System.nanoTime() - t0 < BUDGET_NS; n++) {
                AtomicFiles.deleteRecursively(work);
                copy(base, work);
                String f = files.get(pick(r, weight));
                String what = mutate(work.resolve(f), r) + " of " + f;
                try {
                    Fixture got = sink.loadFrom(work);
                    assertEquals(origState, Checkpoint.readState(work).json().toString(), what);
                    orig.assertSameAs(got);
                    identical++;
                } catch (CheckpointException e) {
                    refused++;
                } catch (Throwable t) {
                    System.setErr(err);
                    fail("mutation #" + n + " (" + what + ") was neither refused with a CheckpointException nor"
                            + " identical: " + t, t);
                }
            }
        } finally {
            System.setErr(err);
        }
        assertTrue(n >= 300, "only " + n + " mutations in the time budget");
        assertTrue(refused > n / 2 && identical > 0, refused + " refused, " + identical + " identical of " + n);
        System.out.printf("checkpoint fuzz: %d mutations, %d refused, %d loaded identical%n", n, refused, identical);
    }

    private static String rel(Path base, Path p) {
        return base.relativize(p).toString();
    }

    private static void copy(Path from, Path to) throws Exception {
        try (var s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path q = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(q);
                } else if (!p.getFileName().toString().equals(Checkpoint.LOCK)) {
                    Files.copy(p, q);
                }
            }
        }
    }

    private static int pick(Random r, double[] w) {
        double u = r.nextDouble();
        for (int i = 0; i < w.length; i++) {
            u -= w[i];
            if (u < 0) {
                return i;
            }
        }
        return w.length - 1;
    }

    /** Applies one random mutation to {@code f} and says which. */
    private static String mutate(Path f, Random r) throws Exception {
        byte[] b = Files.readAllBytes(f);
        boolean st = f.getFileName().toString().endsWith(".safetensors");
        int kind = r.nextInt(st ? 9 : 7);
        switch (kind) {
            case 0, 1 -> {
                int i = r.nextInt(b.length);
                int bit = r.nextInt(8);
                b[i] ^= (byte) (1 << bit);
                Files.write(f, b);
                return "bit " + bit + " of byte " + i + " flipped";
            }
            case 2 -> {
                int k = 2 + r.nextInt(7);
                for (int j = 0; j < k; j++) {
                    b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                }
                Files.write(f, b);
                return k + " bits flipped";
            }
            case 3 -> {
                int len = r.nextInt(b.length);
                Files.write(f, Arrays.copyOf(b, len));
                return "truncated to " + len;
            }
            case 4 -> {
                byte[] extra = new byte[1 + r.nextInt(16)];
                r.nextBytes(extra);
                byte[] c = Arrays.copyOf(b, b.length + extra.length);
                System.arraycopy(extra, 0, c, b.length, extra.length);
                Files.write(f, c);
                return extra.length + " bytes appended";
            }
            case 5 -> {
                int i = r.nextInt(b.length);
                int len = Math.min(b.length - i, 1 + r.nextInt(32));
                byte[] junk = new byte[len];
                r.nextBytes(junk);
                System.arraycopy(junk, 0, b, i, len);
                Files.write(f, b);
                return len + " bytes overwritten at " + i;
            }
            case 6 -> {
                if (r.nextBoolean()) {
                    Files.delete(f);
                    return "deleted";
                }
                // a digit of the text changed (for safetensors: a digit of the header)
                int n = st ? 8 + (int) ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0) : b.length;
                List<Integer> digits = new ArrayList<>();
                for (int i = st ? 8 : 0; i < n; i++) {
                    if (b[i] >= '0' && b[i] <= '9') {
                        digits.add(i);
                    }
                }
                if (digits.isEmpty()) {
                    return "nothing (no digit)";
                }
                int i = digits.get(r.nextInt(digits.size()));
                b[i] = (byte) ('0' + (b[i] - '0' + 1 + r.nextInt(9)) % 10);
                Files.write(f, b);
                return "digit at " + i + " changed";
            }
            default -> {
                return headerEdit(f, b, r);
            }
        }
    }

    private static final Pattern OFFSETS = Pattern.compile("\"data_offsets\":\\[(\\d+),(\\d+)]");
    private static final Pattern SHAPE = Pattern.compile("\"shape\":\\[(\\d+)");

    /** An edit of the safetensors header the format forbids or that moves data between tensors. */
    private static String headerEdit(Path f, byte[] b, Random r) throws Exception {
        int n = (int) ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        String h = new String(b, 8, n, StandardCharsets.UTF_8).stripTrailing();
        String what;
        switch (r.nextInt(7)) {
            case 0 -> { // two tensors' data_offsets swapped
                List<String[]> all = new ArrayList<>();
                Matcher m = OFFSETS.matcher(h);
                while (m.find()) {
                    all.add(new String[]{m.group()});
                }
                String a = all.get(r.nextInt(all.size()))[0];
                String c = all.get(r.nextInt(all.size()))[0];
                h = h.replace(a, "@A@").replace(c, a).replace("@A@", c);
                what = "offsets " + a + " and " + c + " swapped";
            }
            case 1 -> {
                h = h.replaceFirst("\"F32\"", "\"f32\"");
                what = "dtype f32";
            }
            case 2 -> {
                h = SHAPE.matcher(h).replaceFirst("\"shape\":[$1.0");
                what = "shape as a float";
            }
            case 3 -> {
                h = OFFSETS.matcher(h).replaceFirst("\"data_offsets\":[\"$1\",\"$2\"]");
                what = "offsets as strings";
            }
            case 4 -> {
                h = h + "x";
                what = "text after the JSON";
            }
            case 5 -> {
                h = SHAPE.matcher(h).replaceFirst("\"shape\":[4294967" + "296");
                what = "shape beyond int";
            }
            default -> {
                h = h.replaceFirst("\"sixpd.step\":\"(\\d+)\"", "\"sixpd.step\":\"1\"");
                what = "metadata step rewritten";
            }
        }
        byte[] nh = h.getBytes(StandardCharsets.UTF_8);
        int padded = (nh.length + 7) & ~7;
        ByteBuffer out = ByteBuffer.allocate(8 + padded + b.length - 8 - n).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(nh);
        for (int i = nh.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        out.put(b, 8 + n, b.length - 8 - n);
        Files.write(f, out.array());
        return what;
    }
}
