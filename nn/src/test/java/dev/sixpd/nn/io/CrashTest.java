package dev.sixpd.nn.io;

import dev.sixpd.nn.Gpt;
import dev.sixpd.nn.train.Trainer;
import dev.sixpd.optim.AdamW;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * kill -9 during training: real {@code sixpd train --checkpoint-every 1} processes (this build's classpath, main
 * class {@code dev.sixpd.nn.cli.Main}) are killed with SIGKILL ({@link Process#destroyForcibly}), or every third
 * with SIGTERM ({@link Process#destroy}, after which no temporary file may remain), at random moments, each
 * resuming the last; after every kill the directory must load completely (state, weights,
 * optimizer, resumable settings) at a step no earlier than before, and at the end a resumed run must finish.
 * At least 20 kills: 22 or as many as fit in 60 s, 20 at least (a busy machine may take longer, up to 4 minutes).
 */
class CrashTest {
    private static final int KILLS = 22;
    private static final long BUDGET_NS = 60_000_000_000L;
    private static final long HARD_LIMIT_NS = 240_000_000_000L;

    @TempDir
    Path dir;

    private Process start(Path out, List<String> args, int i) throws Exception {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector", "-Xmx512m",
                "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                "dev.sixpd.nn.cli.Main"));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectOutput(dir.resolve("out" + i + ".txt").toFile());
        pb.redirectError(dir.resolve("err" + i + ".txt").toFile());
        return pb.start();
    }

    private static List<String> temporaries(Path out) throws Exception {
        if (!Files.isDirectory(out)) {
            return List.of();
        }
        try (var s = Files.list(out)) {
            return s.map(x -> x.getFileName().toString()).filter(n -> n.startsWith(".tmp") || n.endsWith(".tmp"))
                    .toList();
        }
    }

    private static String latest(Path out) throws Exception {
        try {
            return Files.readString(out.resolve(Checkpoint.LATEST));
        } catch (java.nio.file.NoSuchFileException e) {
            return "";
        }
    }

    /** Loads everything a resume loads; returns the step. */
    private static long loadsCompletely(Path out) {
        Checkpoint.State st = Checkpoint.readState(out);
        Gpt model = new Gpt(st.config(), 1);
        Checkpoint.loadModel(st, model);
        AdamW opt = new AdamW(0.9f, 0.95f, 1e-8f, 0.1f);
        Checkpoint.loadOptimizer(st, model, opt);
        Trainer.settingsFromCheckpoint(st);
        return st.step();
    }

    @Test
    void killNineAtRandomMomentsNeverLosesTheLastCheckpoint() throws Exception {
        Path out = dir.resolve("run");
        String o = out.toString();
        Random r = new Random(40);
        long t0 = System.nanoTime();
        long step = 0;
        int kills = 0;
        int advanced = 0;
        int terms = 0;
        // 22 kills or the time budget, but at least 20 however busy the machine (up to the hard limit)
        for (int i = 0; kills < KILLS && (System.nanoTime() - t0 < BUDGET_NS || kills < 20)
                && System.nanoTime() - t0 < HARD_LIMIT_NS; i++) {
            boolean resume = Files.exists(out.resolve(Checkpoint.LATEST));
            List<String> args = resume ? List.of("train", "--resume", o, "--sample-tokens", "0")
                    : List.of("train", "--preset", "tiny", "--synthetic", "20000", "--steps", "100000", "--warmup",
                    "0", "--batch", "2", "--threads", "1", "--checkpoint-every", "1", "--eval-every", "100000",
                    "--eval-windows", "2", "--sample-tokens", "0", "--out", o);
            String latestBefore = latest(out);
            List<String> before = temporaries(out);
            Process p = start(out, args, i);
            // most kills once this run commits (mid-step or mid-save), some during start-up
            long waitMs = r.nextInt(4) == 0 ? r.nextInt(1500) : r.nextInt(400);
            if (r.nextInt(4) != 0) {
                long until = System.nanoTime() + 8_000_000_000L;
                while (latestBefore.equals(latest(out)) && p.isAlive() && System.nanoTime() < until) {
                    Thread.sleep(10);
                }
            }
            if (p.waitFor(waitMs, TimeUnit.MILLISECONDS)) {
                fail("the training process ended by itself (exit " + p.exitValue() + "): "
                        + Files.readString(dir.resolve("err" + i + ".txt")));
            }
            // every third a SIGTERM (as Ctrl-C or `kill`): the shutdown hook lets a save in progress commit, so
            // nothing temporary is left; the others SIGKILL, which may leave temporaries the next run removes
            boolean term = i % 3 == 2;
            if (term) {
                p.destroy();
            } else {
                p.destroyForcibly();
            }
            assertTrue(p.waitFor(40, TimeUnit.SECONDS), "killed process did not end");
            kills++;
            if (term) {
                terms++;
                List<String> left = new ArrayList<>(temporaries(out));
                left.removeAll(before); // an earlier SIGKILL's, if this run was stopped before it cleaned up
                assertEquals(List.of(), left, "left by a SIGTERM");
            }
            if (Files.exists(out.resolve(Checkpoint.LATEST))) {
                long now;
                try {
                    now = loadsCompletely(out);
                } catch (RuntimeException e) {
                    throw new AssertionError("after kill " + kills + " (" + waitMs + " ms) the checkpoint does not"
                            + " load: " + e.getMessage(), e);
                }
                assertTrue(now >= step, "went back from step " + step + " to " + now);
                advanced += now > step ? 1 : 0;
                step = now;
            }
        }
        assertTrue(kills >= 20, "only " + kills + " kills in the time budget");
        assertTrue(advanced >= kills / 4, "only " + advanced + " of " + kills + " runs got to commit a checkpoint");
        // a last resume finishes normally, continuing from the last commit; no temporary files are left
        Process p = start(out, List.of("train", "--resume", o, "--stop-after", Long.toString(step + 2),
                "--sample-tokens", "0"), 999);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "final resume did not finish");
        assertEquals(0, p.exitValue(), Files.readString(dir.resolve("err999.txt")));
        assertEquals(step + 2, loadsCompletely(out));
        assertEquals(List.of(), temporaries(out));
        System.out.printf("crash test: %d kills (%d SIGTERM) in %.1f s, %d advanced the checkpoint, last step %d%n",
                kills, terms, (System.nanoTime() - t0) / 1e9, advanced, step + 2);
        assertTrue(new File(out.toFile(), Checkpoint.LOCK).exists());
    }
}
