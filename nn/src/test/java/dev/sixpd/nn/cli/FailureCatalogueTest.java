package dev.sixpd.nn.cli;

import dev.sixpd.nn.io.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 15's catalogue through {@link Main}: every case ends with exit code 2 and one line naming the problem and
 * what to change (no stack trace), before any large allocation; a bug ends with exit code 1, one line and the stack
 * trace in a file.
 */
class FailureCatalogueTest {
    @TempDir
    Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    /** Exit code 2, the last stderr line starts "sixpd: " and holds every fragment; no stack trace anywhere. */
    private static void userError(CliRun r, String... fragments) {
        assertEquals(2, r.code(), r.err());
        String e = r.err().strip();
        assertFalse(e.contains("Exception") || e.contains("\tat "), "no stack trace: " + e);
        String last = e.lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.startsWith("sixpd: "), e);
        for (String f : fragments) {
            assertTrue(last.contains(f), "'" + f + "' missing from: " + last);
        }
    }

    /** A small train command line; {@code more} adds options or replaces the defaults'. */
    private String[] tiny(String... more) {
        java.util.Map<String, String> o = new java.util.LinkedHashMap<>();
        String[] base = {"--preset", "tiny", "--synthetic", "20000", "--steps", "3", "--batch", "2", "--threads", "1",
                "--sample-tokens", "0", "--out", dir.resolve("o").toString()};
        for (int i = 0; i < base.length; i += 2) {
            o.put(base[i], base[i + 1]);
        }
        for (int i = 0; i < more.length; i += 2) {
            o.put(more[i], more[i + 1]);
        }
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("train"));
        o.forEach((k, v) -> {
            args.add(k);
            args.add(v);
        });
        return args.toArray(String[]::new);
    }

    @Test
    void sizesThatDoNotFitAreRefusedBeforeAllocation() {
        userError(run(tiny("--batch", "1000000")), "batches of 1000000", "Java array", "--batch");
        userError(run(tiny("--batch", "100000")), "--batch", "SIXPD_JAVA_OPTS=-Xmx");
        userError(run(tiny("--d-model", "20000", "--heads", "4")), "C=20000", "SIXPD_JAVA_OPTS=-Xmx");
        userError(run(tiny("--layers", "100000")), "SIXPD_JAVA_OPTS=-Xmx", "smaller model");
        userError(run("train", "--preset", "tiny", "--synthetic", "2000000000", "--steps", "3", "--out",
                dir.resolve("s").toString()), "--synthetic 2000000000", "SIXPD_JAVA_OPTS=-Xmx");
        userError(run(tiny("--eval-windows", "2147483647")), "--eval-windows 2147483647", "fewer --eval-windows");
        userError(run(tiny("--sample-tokens", "2147483647")), "--sample-tokens 2147483647", "at most");
    }

    @Test
    void badValuesAreRefusedBeforeTraining() throws Exception {
        userError(run("train", "--preset", "tiny", "--data", "/dev/zero", "--steps", "3", "--out",
                dir.resolve("z").toString()), "/dev/zero", "not a regular file");
        userError(run(tiny("--clip", "NaN")), "--clip", "NaN");
        userError(run(tiny("--lr", "1e300")), "--lr", "float");
        Path file = dir.resolve("plain-file");
        Files.writeString(file, "x");
        userError(run(tiny("--ledger-json", file.resolve("r.json").toString())), "--ledger-json", "cannot be written");
        userError(run(tiny("--ledger-json", dir.toString())), "--ledger-json", "directory");
        userError(run("train", "--preset", "tiny", "--synthetic", "20000", "--steps", "3", "--out",
                file.resolve("sub").toString()), "checkpoint directory", "--out");
    }

    @Test
    void threadsAboveTheCoresAreCappedWithAReason() {
        java.io.ByteArrayOutputStream notes = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.err;
        System.setErr(new java.io.PrintStream(notes, true, java.nio.charset.StandardCharsets.UTF_8));
        CliRun r;
        try {
            r = run(tiny("--threads", "1000", "--steps", "1"));
        } finally {
            System.setErr(old);
        }
        assertEquals(0, r.code(), r.err());
        String n = notes.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(n.contains("--threads 1000 capped to " + Runtime.getRuntime().availableProcessors()), n);
    }

    @Test
    void checkpointAndSamplingCases() throws Exception {
        Path out = dir.resolve("o");
        CliRun t = run(tiny());
        assertEquals(0, t.code(), t.err());
        // resuming with --steps below the checkpoint's step
        userError(run("train", "--resume", out.toString(), "--steps", "2"), "already at step 3", "--steps above 3");
        userError(run("sample", "--checkpoint", out.toString(), "--tokens", "2147483647", "--prompt", "ab"),
                "--tokens 2147483647",
                "at most");
        // a temperature so small that logits / temperature overflow: greedy-like, not token -1
        CliRun s = run("sample", "--checkpoint", out.toString(), "--tokens", "5", "--temperature", "1e-310",
                "--prompt", "ab");
        assertEquals(0, s.code(), s.err());
        // a checkpoint claiming 100,000 layers
        Path st = Checkpoint.latestDir(out).resolve(Checkpoint.STATE);
        Files.writeString(st, Files.readString(st).replace("\"layers\" : 2", "\"layers\" : 100000"));
        Files.delete(st.resolveSibling(Checkpoint.STATE_CRC));
        Files.delete(out.resolve(Checkpoint.LATEST)); // the pointer's checksum would refuse the edit first
        userError(run("sample", "--checkpoint", st.getParent().toString()), "SIXPD_JAVA_OPTS=-Xmx");
        // d_model written as 2^32 + 64 is not read as 64
        Files.writeString(st, Files.readString(st).replace("\"layers\" : 100000", "\"layers\" : 2")
                .replace("\"d_model\" : 64", "\"d_model\" : 4294967360"));
        userError(run("sample", "--checkpoint", st.getParent().toString()), "d_model", "not an integer");
    }

    @Test
    void aNanWeightIsNamedWhenSampling() throws Exception {
        Path out = dir.resolve("o");
        assertEquals(0, run(tiny()).code());
        Path m = Checkpoint.latestDir(out).resolve(Checkpoint.MODEL);
        // make ln_f.bias NaN, and drop the checksums so the file loads (as a file from elsewhere would)
        var c = dev.sixpd.nn.io.SafeTensors.read(m);
        java.util.List<dev.sixpd.nn.io.SafeTensors.Entry> es = new java.util.ArrayList<>(c.tensors().values());
        java.util.Arrays.fill(c.tensors().get("ln_f.bias").data(), Float.NaN);
        Files.delete(m);
        dev.sixpd.nn.io.SafeTensors.write(m, es, java.util.Map.of("sixpd.step", "3"));
        userError(run("sample", "--checkpoint", out.toString(), "--tokens", "3", "--prompt", "ab"), "NaN",
                "diverged");
        userError(run("sample", "--checkpoint", out.toString(), "--tokens", "3", "--temperature", "0",
                "--prompt", "ab"), "NaN");
    }

    @Test
    void divergenceByAnExplodingLossKeepsOnlyGoodCheckpoints() throws Exception {
        Path out = dir.resolve("o");
        CliRun r = run(tiny("--lr", "1e6", "--warmup", "0", "--checkpoint-every", "1", "--steps", "10"));
        userError(r, "diverged at step", "--lr");
        Matcher m = Pattern.compile("diverged at step (\\d+): (.*?)\\. Stopped").matcher(r.err());
        assertTrue(m.find(), r.err());
        long step = Long.parseLong(m.group(1));
        if (Files.exists(out.resolve(Checkpoint.LATEST))) {
            // what is left is a checkpoint before the one whose weights gave the bad loss, and it samples
            assertTrue(Checkpoint.readState(out).step() <= step - 2, r.err());
            assertEquals(0, run("sample", "--checkpoint", out.toString(), "--tokens", "5", "--prompt", "ab")
                    .code());
        } else {
            assertTrue(r.err().contains("no good checkpoint is left"), r.err());
        }
    }
}
