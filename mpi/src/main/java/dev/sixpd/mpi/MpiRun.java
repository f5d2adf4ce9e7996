package dev.sixpd.mpi;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Starts N ranks of a Java main class on this machine with Open MPI's {@code mpirun}: the command line and the
 * environment that work in a container (as root, without ssh, with ptrace restricted), and a runner with a timeout
 * for tests and for commands that launch their own ranks.
 *
 * <p>The command is {@code mpirun --oversubscribe --allow-run-as-root --bind-to none -np N java FLAGS -cp CP MAIN
 * ARGS}, with this environment (each line is what it avoids):
 * <ul>
 *   <li>{@code OMPI_MCA_plm=isolated}: start the ranks locally without ssh/rsh (a container often has neither, and
 *       mpirun then refuses to start even local ranks: "plm_rsh_agent ... could not be found");
 *   <li>{@code OMPI_MCA_btl=self,vader}: shared memory only, no probing of network devices;
 *   <li>{@code OMPI_MCA_btl_vader_single_copy_mechanism=none}: the default single copy reads the peer's memory
 *       with {@code process_vm_readv} (CMA), which containers that restrict ptrace refuse;
 *   <li>{@code --bind-to none}: Open MPI binds each rank to one core by default when N ≤ 2, which would make the
 *       JVM see one processor;
 *   <li>{@code --oversubscribe}: more ranks than cores are allowed (a 2-core machine runs 4 ranks for tests).
 * </ul>
 * Across machines use {@code mpirun --hostfile FILE ...} directly (ssh between the hosts), not this class.
 *
 * <p>Thread-safety: stateless; {@link #run} blocks the calling thread.
 */
public final class MpiRun {
    /** The JVM flags every rank gets: the Vector API module and native access for libmpi. */
    public static final List<String> JVM_FLAGS = List.of("--add-modules", "jdk.incubator.vector",
            "--enable-native-access=ALL-UNNAMED");

    /** The output and exit code of one {@code mpirun}, or {@code timedOut} when it was killed. */
    public record Result(int exitCode, String output, boolean timedOut) {
    }

    private MpiRun() {
    }

    /** Open MPI's {@code mpirun} on the PATH (or in /usr/bin), or empty when Open MPI is not installed. */
    public static Optional<Path> mpirun() {
        String path = System.getenv("PATH");
        List<String> dirs = new ArrayList<>();
        if (path != null) {
            dirs.addAll(List.of(path.split(File.pathSeparator)));
        }
        dirs.add("/usr/bin");
        for (String d : dirs) {
            if (d.isEmpty()) {
                continue;
            }
            Path p = Path.of(d, "mpirun");
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** The environment variables {@link #command} needs (see the class comment). */
    public static Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("OMPI_MCA_plm", "isolated");
        env.put("OMPI_MCA_btl", "self,vader");
        env.put("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
        return env;
    }

    /** {@code mpirun ... -np ranks} followed by {@code program} (the rank's command line). */
    public static List<String> command(Path mpirun, int ranks, List<String> program) {
        if (ranks < 1) {
            throw new IllegalArgumentException("the number of ranks must be >= 1, got " + ranks);
        }
        List<String> cmd = new ArrayList<>(List.of(mpirun.toString(), "--oversubscribe", "--allow-run-as-root",
                "--bind-to", "none", "-np", Integer.toString(ranks)));
        cmd.addAll(program);
        return cmd;
    }

    /**
     * {@code java JVM_FLAGS extraFlags -cp CLASSPATH mainClass args}: this JVM's java and class path, so a rank
     * runs the same code as the caller.
     */
    public static List<String> javaCommand(List<String> extraFlags, String mainClass, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(JVM_FLAGS);
        cmd.addAll(extraFlags);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(args);
        return cmd;
    }

    /**
     * Runs {@code mainClass} on {@code ranks} ranks (each a JVM with {@link #JVM_FLAGS} and {@code jvmFlags}) and
     * waits at most {@code timeout}; output is stdout and stderr of all ranks interleaved. On timeout the whole
     * process tree is killed.
     *
     * @throws IllegalStateException when mpirun is not installed (the message names the packages)
     */
    public static Result run(int ranks, List<String> jvmFlags, String mainClass, List<String> args, Duration timeout)
            throws IOException, InterruptedException {
        Path mpirun = mpirun().orElseThrow(() -> new IllegalStateException(
                "mpirun not found: install Open MPI (Debian/Ubuntu: apt-get install " + Mpi.PACKAGES + ")"));
        ProcessBuilder pb = new ProcessBuilder(command(mpirun, ranks, javaCommand(jvmFlags, mainClass, args)))
                .redirectErrorStream(true);
        pb.environment().putAll(environment());
        Path log = Files.createTempFile("sixpd-mpirun-", ".log");
        try {
            pb.redirectOutput(log.toFile());
            Process p = pb.start();
            boolean done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!done) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            String out = Files.readString(log, StandardCharsets.UTF_8);
            return new Result(done ? p.exitValue() : -1, out, !done);
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
